"""Schema rules (AG0xx): reading, layering and the shape of a blueprint.

AG001-AG013, AG019 and AG020 are raised by the loader and the models (they stop
validation of that file); AG014-AG016 are checks over a well-formed blueprint; AG021 is a
warning the loader collects while it merges (aigrid.load.conflicts).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import TypeVar

from aigrid.diagnostics import Severity
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, Rule, register, rule

E = Severity.ERROR
T = TypeVar("T", bound=Hashable)

for _rule in (
    Rule(
        Code.YAML_SYNTAX,
        "The file is not valid YAML",
        "sites:\n  - name: a\n   tier: edge",
        "sites:\n  - name: a\n    tier: edge",
        explanation="The loader could not parse the file as YAML; the position is where the parser gave "
        "up, which is often just after the real mistake (a wrong indent, an unclosed quote or"
        " bracket). Look at that line and the one before it: align the key with its siblings, "
        "close the quote or bracket, and indent with spaces (YAML does not allow tabs).",
    ),
    Rule(
        Code.DUPLICATE_KEY,
        "A mapping sets the same key twice",
        "driver:\n  version: 580.126.20\n  version: 580.95.05",
        "driver:\n  version: 580.126.20",
        explanation="YAML parsers differ on which of two equal keys wins, and most keep the last "
        "silently; a blueprint that sets a key twice means two things at once, so it is "
        "refused. Keep the value you mean and delete the other line; to change a value that a "
        "base file sets, set it in the overlay that `extends` the base.",
    ),
    Rule(
        Code.ALIAS_EXPANSION,
        "YAML aliases expand beyond the limit (alias bomb)",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n...",
        "# write values out, or share them through `extends`",
        explanation="Aliases that refer to aliases grow exponentially (the 'billion laughs' attack); "
        "expansion stops at 100,000 nodes so a hostile file cannot exhaust memory. Write the "
        "values out, or share common settings through a base file named in `extends`.",
    ),
    Rule(
        Code.UNREADABLE_FILE,
        "The file cannot be read as UTF-8 YAML text under the size limit",
        "(a binary file, a file over 64 MiB, a FIFO, /dev/zero)",
        "apiVersion: aigrid.dev/v1alpha1",
        explanation="Only regular UTF-8 text files up to 64 MiB are read: directories, FIFOs, devices "
        "and sockets are refused without being opened (so a FIFO cannot block and /dev/zero cannot"
        " exhaust memory), the read stops at the limit even if the file grows, and binary data, "
        "other encodings and files that cannot be opened are refused before parsing. Name the "
        "blueprint file itself, saved as UTF-8 text (`iconv -f LATIN1 -t UTF-8` converts an "
        "older file), and check that the user running aigrid may read it.",
    ),
    Rule(
        Code.UNSUPPORTED_YAML,
        "YAML features blueprints do not use: tags, merge keys, several documents, deep nesting",
        "stack: !!python/object {}\n---\nkind: Blueprint",
        "stack:\n  os: ubuntu-24.04",
        explanation="Blueprints are plain data: explicit tags (which could construct objects), merge keys"
        " (`<<`), several documents in one file and nesting deeper than 64 levels are "
        "refused. Write the values out instead of a tag or merge key, share settings through "
        "`extends`, and keep one blueprint per file.",
    ),
    Rule(
        Code.EXTENDS_MISSING,
        "A file named in `extends` does not exist",
        "extends: [../base/stak.yaml]",
        "extends: [../base/stack.yaml]",
        explanation="`extends` paths are relative to the file that names them; the file must exist "
        "(a symbolic link that loops or dangles does not). Correct the path, counting from the "
        "folder of the file that names it (not from the working directory), or restore the file.",
    ),
    Rule(
        Code.EXTENDS_CYCLE,
        "`extends` files form a cycle or too deep a chain",
        "# a.yaml\nextends: [b.yaml]\n# b.yaml\nextends: [a.yaml]",
        "# b.yaml\nextends: [base.yaml]",
        explanation="Layering must end at a base: a file that extends itself, directly or through others,"
        " has no resolved value. A chain of more than 32 files (base, carrier, region, site need "
        "four) is refused too, so a generated or hostile chain cannot exhaust the loader. Remove"
        " the `extends` entry that leads back to a file already in the chain, so every chain ends"
        " at the base.",
    ),
    Rule(
        Code.LOCKED_FIELD,
        "A layer changes a field that a base layer locked",
        "# base locks stack.driver.version\nstack:\n  driver:\n    version: 590.44.01",
        "# change it in the base that locks it, or leave it out",
        explanation="A base blueprint may lock fields (`locks:`) that carriers must not change, such as "
        "the driver branch of the standard stack; an overlay that sets a locked field to "
        "another value is refused, naming the lock. Leave the field out of the overlay so it "
        "keeps the base's value; if the grid needs another value, change it in the base that "
        "locks it, for every carrier at once.",
    ),
    Rule(
        Code.MERGE_DIRECTIVE,
        "A `$patch` directive or lock path is invalid",
        "slices:\n  - name: embb\n    $patch: remove",
        "slices:\n  - name: embb\n    $patch: delete",
        explanation="Overlays merge by name; `$patch: delete` removes a named item and `$patch: replace` "
        "replaces a mapping or list whole. Any other directive is an error, and so is a lock path "
        "that does not parse or names nothing: a field the schema does not have (stack.drivr.version) "
        "or an item the resolved blueprint does not have, since such a lock would protect nothing. "
        "Spell the directive `delete` or `replace`, and lock only paths that exist after "
        "layering.",
    ),
    Rule(
        Code.NOT_A_BLUEPRINT,
        "The file is empty or its top level is not a mapping",
        "- just\n- a list",
        "apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint",
        explanation="A blueprint file is a YAML mapping with `apiVersion: aigrid.dev/v1alpha1` and `kind:"
        " Blueprint` (a layer file may omit them when it is only extended). A file named in "
        "`extends` must be such a layer: a mapping with at least one blueprint key, and aigrid's "
        "apiVersion and kind if it sets them. Anything else (a credential, a Kubernetes manifest)"
        " is refused at the `extends` entry, and nothing of it is merged or quoted. Give a "
        "blueprint those two header lines, and remove from `extends` any file that is not a "
        "blueprint layer.",
    ),
    Rule(
        Code.INVALID_VALUE,
        "A value has the wrong type, format or unit",
        "rtt: 4",
        "rtt: 4ms",
        explanation="A value has the wrong type or does not parse. Every value ends up in a config file or "
        "a command on the nodes, so each passes a strict grammar: units are explicit (`10ms`, `50Mbps`, "
        "at most 10s and 10Tbps), versions are dotted numbers (no `latest`), names are DNS labels, "
        "host names RFC 1123, URLs have an allowed scheme, a host and no credentials, labels, image "
        "references and environment variable names follow Kubernetes and OCI, and no text carries "
        "control characters. The message and hint name the form expected: write the value that "
        "way, with its unit.",
    ),
    Rule(
        Code.UNKNOWN_FIELD,
        "A key is not part of the blueprint schema",
        "driver:\n  kernelModule: open",
        "driver:\n  kernelModules: open",
        explanation="Models forbid unknown keys, so a typo is an error instead of a setting silently "
        "ignored; the hint names the closest known key. Rename the key to that one, or remove it;"
        " docs/blueprint.md lists every field a blueprint may set.",
    ),
    Rule(
        Code.MISSING_FIELD,
        "A required field is missing",
        "cuda: {}",
        "cuda:\n  version: 13.0.2",
        explanation="A required field is missing after layering: set it in this file or in a base it "
        "extends. The message names the field; docs/blueprint.md gives its type.",
    ),
    Rule(
        Code.EXTENDS_OUTSIDE_ROOT,
        "`extends` reaches outside the blueprint root",
        "extends: [../../../etc/passwd]",
        "extends: [../base/stack.yaml]",
        explanation="`extends` may only name files inside the root: the repository that holds the "
        "blueprint (the nearest folder above it with a `.git`), else the blueprint's own folder, "
        "or the folder given with `--root`. The path is checked as written and again with "
        "symbolic links resolved, before the file is opened, so a blueprint cannot make aigrid "
        "read, or quote in a report, a file such as a credential elsewhere on the machine. "
        "Absolute paths inside the root are fine.",
    ),
    Rule(
        Code.AMBIGUOUS_SCALAR,
        "An unquoted value reads differently in YAML 1.1 and YAML 1.2",
        "vlan: 0220        # octal 144 to YAML 1.1, 220 to YAML 1.2\nsst: yes\nwindow: 1:30",
        "vlan: 220\nsst: 1\nwindow: '1:30'",
        explanation="YAML 1.1 (PyYAML, Ansible) and YAML 1.2 read some plain values differently: a "
        "leading zero is octal to one and decimal to the other, `yes`/`no`/`on`/`off`/`y`/`n` are "
        "booleans to one and text to the other, `1:30` is the base-60 number 90, `1_000` and "
        "`1e9` are numbers to one and text to the other. Such values, and `0x`/`0o`/`0b` numbers,"
        " `.inf` and `.nan`, are refused: write the plain decimal number, `true` or `false`, "
        "or quote the value if it is text.",
    ),
    Rule(
        Code.INVALID_SUPPRESSION,
        "A suppression comment names no warning, or gives no reason",
        "vlan: 210  # aigrid: ignore[AG402]",
        "apt: http://mirror.lab  # aigrid: ignore[AG402] mirror only reachable on the lab VLAN",
        explanation="`# aigrid: ignore[CODE] reason` waives a warning on its line (or, alone on a line, "
        "on the next one). It must name aigrid warning codes and say why: errors cannot be waived, "
        "since compile cannot go on with them. Any other `# aigrid:` comment is refused too, so a "
        "misspelt suppression is not silently ignored. A `#` inside a value (quoted, block or plain "
        "scalar) is text, not a comment.",
    ),
    Rule(
        Code.UNUSED_SUPPRESSION,
        "A suppression comment matches no finding",
        "vlan: 210  # aigrid: ignore[AG402] old mirror",
        "vlan: 210",
        explanation="A waiver that no longer waives anything hides the next real finding on that line; "
        "remove it (or the code of it that matches nothing). Only the file being validated is checked "
        "for these, not the bases it extends, and only when the rules ran (not after a schema error).",
    ),
    Rule(
        Code.CONFLICTING_PARENTS,
        "Two files a blueprint extends set the same field to different values",
        "# northwind.yaml sets stack.mirrors.apt: https://mirror.northwind.example/apt\n"
        "# aurora.yaml sets stack.mirrors.apt: https://packages.aurora.example/apt\n"
        "extends: [northwind.yaml, aurora.yaml]",
        "extends: [northwind.yaml, aurora.yaml]\nstack:\n  mirrors:\n"
        "    apt: https://packages.aurora.example/apt  # one mirror for every site, on purpose\n"
        "# or: each carrier's file names its mirrors under carriers: [{name: ..., stack: {mirrors: ...}}]",
        explanation="`extends` merges its files left to right, so where two of them set the same field "
        "to different values the last one wins, for the whole blueprint: a grid that extends "
        "several carriers' grids would give every carrier's sites the last carrier's mirrors, "
        "registry or credentials, with nothing said. The warning names both places (file:line) and "
        "points at the `extends` entry whose value wins. A field only one of them changed (the other "
        "kept a shared base's value) is not reported, nor is one that the extending file sets "
        "itself: setting it there (or `$patch: replace` above it) is how a layer says which value "
        "it means. Mirrors, registry and their login that must differ between carriers go under "
        "`carriers` (one entry per carrier, merged by name, so parents never collide there): each "
        "carrier's apply to its own sites only. Other stack values are one for the whole grid, so "
        "those that must differ between carriers belong in separate blueprints.",
    ),
):
    register(_rule)


def duplicates(names: Sequence[T]) -> Iterator[tuple[int, T, int]]:
    """(index, name, index of its first use) for every repeated name."""
    first: dict[T, int] = {}
    for index, name in enumerate(names):
        if name in first:
            yield index, name, first[name]
        else:
            first[name] = index


@rule(
    Code.DUPLICATE_NAME,
    "Two slices, sites, workloads, nodes or carriers share a name",
    bad="sites:\n  - name: nyc-fe-01\n  - name: nyc-fe-01",
    good="sites:\n  - name: nyc-fe-01\n  - name: nyc-fe-02",
)
def duplicate_names(ctx: Context) -> Iterable[Finding]:
    """Names are how layers merge list items and how everything else refers to them, so
    they must be unique: slices, sites and workloads within the grid, node hostnames
    across the whole grid (they become inventory hosts and Kubernetes node names), and one
    `carriers` entry per carrier."""
    bp = ctx.blueprint
    for section, names in (
        ("carriers", [c.name for c in bp.carriers]),
        ("slices", [s.name for s in bp.slices]),
        ("sites", [s.name for s in bp.sites]),
        ("workloads", [w.name for w in bp.workloads]),
    ):
        for index, name, first in duplicates(names):
            yield Finding(
                (section, index, "name"),
                f"{section[:-1]} name {name!r} is used twice",
                f"the first is {section}[{first}]; rename one",
            )
    hosts = [(i, j, node.hostname) for i, site in enumerate(bp.sites) for j, node in enumerate(site.nodes)]
    for index, name, first in duplicates([h for _, _, h in hosts]):
        i, j, _ = hosts[index]
        where = bp.sites[hosts[first][0]].name
        yield Finding(
            ("sites", i, "nodes", j, "hostname"),
            f"hostname {name!r} is already used at site {where}",
            "hostnames must be unique across the grid",
        )


@rule(
    Code.UNKNOWN_REFERENCE,
    "A site or workload names a slice or site that does not exist",
    bad="sites:\n  - name: nyc-fe-01\n    slices: [urllc-robot]  # slice is urllc-robots",
    good="sites:\n  - name: nyc-fe-01\n    slices: [urllc-robots]",
)
def unknown_references(ctx: Context) -> Iterable[Finding]:
    """Every slice a site carries, the slice a workload uses and the sites a placement
    names must be declared in the blueprint (after layering)."""
    bp = ctx.blueprint
    slices = {s.name for s in bp.slices}
    sites = {s.name for s in bp.sites}
    regions = {s.region for s in bp.sites}
    for i, site in enumerate(bp.sites):
        for j, name in enumerate(site.slices):
            if name not in slices:
                yield Finding(
                    ("sites", i, "slices", j),
                    f"site {site.name} carries unknown slice {name!r}",
                    suggest(name, slices),
                )
    for i, workload in enumerate(bp.workloads):
        if workload.slice not in slices:
            yield Finding(
                ("workloads", i, "slice"),
                f"workload {workload.name} uses unknown slice {workload.slice!r}",
                suggest(workload.slice, slices),
            )
        for j, name in enumerate(workload.placement.sites):
            if name not in sites:
                yield Finding(
                    ("workloads", i, "placement", "sites", j),
                    f"workload {workload.name} is placed on unknown site {name!r}",
                    suggest(name, sites),
                )
        for j, source in enumerate(workload.demand.sources if workload.demand else []):
            if source.site is not None and source.site not in sites:
                yield Finding(
                    ("workloads", i, "demand", "sources", j, "site"),
                    f"workload {workload.name} has demand from unknown site {source.site!r}",
                    suggest(source.site, sites),
                )
            if source.region is not None and source.region not in regions:
                yield Finding(
                    ("workloads", i, "demand", "sources", j, "region"),
                    f"workload {workload.name} has demand from region {source.region!r}, where no site is",
                    suggest(source.region, regions, "regions with sites"),
                )


@rule(
    Code.UNKNOWN_GPU_MODEL,
    "A node declares a GPU model the catalog does not know",
    bad="gpus:\n  model: H100\n  count: 4",
    good="gpus:\n  model: H100-SXM-80GB\n  count: 4",
)
def unknown_gpu_models(ctx: Context) -> Iterable[Finding]:
    """GPU models are catalog names (see `aigrid catalog`); the form factor and memory
    matter (an H100 PCIe and an H100 SXM differ in MIG sizes, power and interconnect)."""
    for i, site in enumerate(ctx.blueprint.sites):
        for j, node in enumerate(site.nodes):
            if node.gpus is not None and node.gpus.model not in ctx.catalog.gpus:
                yield Finding(
                    ("sites", i, "nodes", j, "gpus", "model"),
                    f"unknown GPU model {node.gpus.model!r} on node {node.hostname}",
                    suggest(node.gpus.model, set(ctx.catalog.gpus), "known models"),
                )


def suggest(name: str, known: set[str], what: str = "declared") -> str:
    """A hint for a name that is not one of `known`: the same name in another case, else the
    names it begins (H100 -> the H100 models, not the A10 that spelling distance finds), else
    the closest spelling."""
    import difflib

    names = sorted(known)
    folded = name.casefold()
    same = [known_name for known_name in names if known_name.casefold() == folded]
    started = [known_name for known_name in names if known_name.casefold().startswith(folded)]
    close = same or started[:4] or difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    if len(close) > 1:
        return f"did you mean one of {', '.join(repr(n) for n in close)}?"
    if close:
        return f"did you mean {close[0]!r}?"
    listed = ", ".join(names[:8])
    return f"{what}: {listed}" if listed else "none are declared"
