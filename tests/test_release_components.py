"""The pinned_packages role's packages.sh and pin file against real apt: a CUDA meta
package bounds its libraries from below only, so apt, asked for the meta package at a version,
installs the newest build of each library in the repository; the script finds each library's
build of that release in the node's index, and the role's pin file keeps apt there.

The index is a scratch one (APT_CONFIG: its own sources, lists, status and preferences) over a
flat file: repository of package records only, so apt resolves and simulates, never installs."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import jinja2
import pytest

from aigrid.lab import standins
from conftest import ROOT

SCRIPT = ROOT / "roles" / "pinned_packages" / "files" / "packages.sh"
TEMPLATE = ROOT / "roles" / "pinned_packages" / "templates" / "preferences.j2"
META = "cuda-libraries-13-0"
CUDART = "cuda-cudart-13-0"
CUBLAS = "libcublas-13-0"


def _record(name: str, version: str, depends: str | None = None) -> str:
    return (
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        + (f"Depends: {depends}\n" if depends else "")
        + f"Filename: ./{name}_{version}_all.deb\nSize: 1\nDescription: record only\n"
    )


# What the stand-in repository publishes for CUDA 13.0 (the same data the lab's repository is
# built from): the meta package of Update 1 and 2, each one's cudart and cuBLAS, and the cuBLAS
# patch release published after Update 2.
STANDIN_RECORDS = [
    _record(name, version, standins.CUDA_COMPONENTS.get((name, version)))
    for name in (META, CUDART, CUBLAS)
    for version in standins.STANDINS[name]
]


class Apt:
    """A scratch apt configuration over one flat repository of package records."""

    def __init__(self, base: Path, records: list[str], installed: dict[str, str] | None = None) -> None:
        self.base = base
        repo = base / "repo"
        repo.mkdir()
        (repo / "Packages").write_text("\n".join(records))
        etc = base / "etc"
        for folder in (etc / "sources.list.d", etc / "preferences.d", etc / "apt.conf.d"):
            folder.mkdir(parents=True)
        (etc / "sources.list.d" / "repo.list").write_text(f"deb [trusted=yes] file:{repo} ./\n")
        (base / "lists" / "partial").mkdir(parents=True)
        (base / "archives" / "partial").mkdir(parents=True)
        # dpkg's database as apt reads it: what the node has installed (package -> version).
        (base / "status").write_text(
            "\n".join(
                f"Package: {name}\nStatus: install ok installed\nVersion: {version}\nArchitecture: all\n"
                "Maintainer: tests\nDescription: installed\n"
                for name, version in (installed or {}).items()
            )
        )
        self.config = base / "apt.conf"
        self.config.write_text(
            f'Dir::Etc "{etc}";\nDir::Etc::SourceList "/dev/null";\n'
            f'Dir::State::Lists "{base / "lists"}";\nDir::State::status "{base / "status"}";\n'
            f'Dir::Cache "{base}";\nDir::Cache::Archives "{base / "archives"}";\n'
        )
        self.run("apt-get", "update")

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "APT_CONFIG": str(self.config)}
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=check)

    def components(self, meta: str, pattern: str) -> subprocess.CompletedProcess[str]:
        return self.run("sh", str(SCRIPT), "release", meta, pattern, check=False)

    def simulate(self, *packages: str) -> dict[str, str]:
        """What `apt-get install` would install: package -> version (apt-get(8) --simulate)."""
        out = self.run("apt-get", "--simulate", "--no-install-recommends", "install", *packages).stdout
        return dict(re.findall(r"^Inst (\S+) \((\S+) ", out, flags=re.MULTILINE))

    def pin(self, meta: str, pattern: str, components: list[str]) -> None:
        """The role's pin file, rendered from its template as the role renders it."""
        template = jinja2.Template(TEMPLATE.read_text(), keep_trailing_newline=True)
        text = template.render(
            pinned_packages_pin=[meta],
            pinned_packages_install=[meta],
            pinned_packages_version=pattern,
            pinned_packages_exact=components,
        )
        (self.base / "etc" / "preferences.d" / "aigrid-cuda-runtime").write_text(text)


@pytest.fixture
def cuda(tmp_path: Path) -> Apt:
    return Apt(tmp_path, STANDIN_RECORDS)


def test_the_meta_package_alone_brings_the_newest_build_of_its_libraries(cuda: Apt) -> None:
    """Why the components are pinned: Update 1's meta package at its version still brings
    Update 2's cudart and the cuBLAS patch release, the newest the repository holds."""
    assert cuda.simulate(f"{META}=13.0.1-1") == {CUDART: "13.0.96-1", CUBLAS: "13.1.1.3-1", META: "13.0.1-1"}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("13.0.1-*", {META: "13.0.1-1", CUDART: "13.0.88-1", CUBLAS: "13.0.2.14-1"}),
        ("13.0.2-*", {META: "13.0.2-1", CUDART: "13.0.96-1", CUBLAS: "13.1.0.3-1"}),
    ],
)
def test_each_library_at_its_build_of_the_pinned_release(
    cuda: Apt, pattern: str, expected: dict[str, str]
) -> None:
    found = cuda.components(META, pattern)
    assert found.returncode == 0, found.stderr
    lines = [line.split() for line in found.stdout.splitlines()]
    assert lines == [[name, version] for name, version in expected.items()]
    # Installed together, as the role installs them: the release, whole.
    assert cuda.simulate(*(f"{name}={version}" for name, version in expected.items())) == expected


def test_the_pin_file_keeps_apt_on_the_release(cuda: Apt) -> None:
    """With the role's pin file, apt asked for the packages by name alone (an upgrade, another
    package that needs them) takes the pinned release's builds, not the newer ones."""
    lines = cuda.components(META, "13.0.1-*").stdout.splitlines()[1:]
    cuda.pin(META, "13.0.1-*", [line.replace(" ", "=") for line in lines])
    assert cuda.simulate(META) == {META: "13.0.1-1", CUDART: "13.0.88-1", CUBLAS: "13.0.2.14-1"}
    assert cuda.simulate(CUDART) == {CUDART: "13.0.88-1"}


def test_relations_that_name_no_release_are_left_to_apt(tmp_path: Path) -> None:
    """A bound with a Debian revision or without, an exact version, an architecture
    qualifier, no space, a field continued on the next line: the build the bound names.
    Alternatives, unversioned dependencies and upper bounds carry no release: not pinned."""
    depends = (
        "liba (>= 1.2), libb:any (= 2.0-1), libc | libd,\n libe, libf (<< 3), libg (>= 4.1-2), libh(>=5)"
    )
    records = [
        _record("meta", "1.0-1", depends),
        *(_record("liba", v) for v in ("1.1-1", "1.2-1", "1.3-1")),
        *(_record("libb", v) for v in ("2.0-1", "2.1-1")),
        *(_record(name, "1-1") for name in ("libc", "libd", "libe", "libf")),
        *(_record("libg", v) for v in ("4.1-1", "4.1-2", "4.1-3")),
        *(_record("libh", v) for v in ("5-1", "1:5-1", "5.0-1")),
    ]
    apt = Apt(tmp_path, records)
    found = apt.components("meta", "1.0-*")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == ["meta 1.0-1", "liba 1.2-1", "libb 2.0-1", "libg 4.1-2", "libh 5-1"]


@pytest.mark.parametrize(
    ("pattern", "found"),
    [("13.0.1-1", "13.0.1-1"), ("13.0.?-1", "13.0.2-1"), ("13.0.1*", "13.0.1-1"), ("13.0.?-*", None)],
)
def test_the_release_is_the_version_apts_pin_matches(cuda: Apt, pattern: str, found: str | None) -> None:
    """As apt's pin reads a version (apt-pkg/versionmatch.cc): a trailing * makes the rest a
    literal prefix; otherwise the whole version, or a glob over it. `13.0.?-*` pins nothing."""
    proc = cuda.components(META, pattern)
    if found is None:
        assert proc.returncode == 3, proc.stdout
    else:
        assert proc.stdout.splitlines()[0] == f"{META} {found}", proc.stderr


def test_an_unpublished_release_or_component_is_named(tmp_path: Path) -> None:
    """Exit 3 (the role refreshes the index and reads again): no version of the meta package
    matches the pin. Exit 4 (the role stops): the build of a component the release names is
    not there, though a newer one is (a mirror that keeps one version of each package)."""
    records = [_record("meta", "1.0-1", "liba (>= 2.0)"), _record("liba", "1.9-1"), _record("liba", "2.1-1")]
    apt = Apt(tmp_path, records)
    missing = apt.components("meta", "1.1-*")
    assert (missing.returncode, missing.stdout) == (3, "")
    assert "meta: the package index has no version matching 1.1-*" in missing.stderr
    short = apt.components("meta", "1.0-*")
    assert short.returncode == 4
    assert (
        "liba: the package index has no build of 2.0 (meta 1.0-1 depends on it with >= 2.0)" in short.stderr
    )


def test_a_release_the_node_has_installed_needs_no_index_entry(tmp_path: Path) -> None:
    """A converged node whose mirror has moved on to the next update: the installed meta
    package and cudart are the release, though the index lists only the newer builds."""
    newer = [_record(META, "13.0.2-1", "cuda-cudart-13-0 (>= 13.0.96)"), _record(CUDART, "13.0.96-1")]
    apt = Apt(tmp_path, newer, installed={META: "13.0.1-1", CUDART: "13.0.88-1"})
    # apt knows the installed meta package's record (its Depends) from dpkg's database.
    (tmp_path / "status").write_text(
        (tmp_path / "status")
        .read_text()
        .replace(f"Package: {META}\n", f"Package: {META}\nDepends: {CUDART} (>= 13.0.88)\n")
    )
    found = apt.components(META, "13.0.1-*")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [f"{META} 13.0.1-1", f"{CUDART} 13.0.88-1"]


def test_a_dry_run_names_the_packages_the_index_has_no_pinned_version_of(cuda: Apt) -> None:
    """`packages.sh unindexed` (the role's dry run): each package the index has no version of
    that the pin matches, as apt's pin matches it; a package the index does not know at all."""
    found = cuda.run("sh", str(SCRIPT), "unindexed", "13.0.2-*", META, CUDART, "cuda-libraries-13-9")
    assert found.stdout.splitlines() == [CUDART, "cuda-libraries-13-9"]
    # A trailing * is a literal prefix: 13.0.? is not a glob there.
    assert cuda.run("sh", str(SCRIPT), "unindexed", "13.0.?-*", META).stdout.splitlines() == [META]
    assert cuda.run("sh", str(SCRIPT), "unindexed", "13.0.?-1", META).stdout == ""


DEPENDS = (
    "liba (>= 1.2), libb:any (= 2.0-1), libc | libd (>= 1), libe, libf (<< 3), libg ( >= 4.1-2 ), libh(>=5)"
)


def _dpkg_status(base: Path, packages: dict[str, tuple[str, str | None]]) -> dict[str, str]:
    """A scratch dpkg database (dpkg-query(1) DPKG_ADMINDIR): package -> (Status, Depends)."""
    (base / "updates").mkdir(parents=True)
    (base / "status").write_text(
        "\n".join(
            f"Package: {name}\nStatus: {status}\nVersion: 1-1\nArchitecture: all\n"
            + (f"Depends: {depends}\n" if depends else "")
            + "Maintainer: tests\nDescription: installed\n"
            for name, (status, depends) in packages.items()
        )
    )
    return {**os.environ, "DPKG_ADMINDIR": str(base)}


def test_what_is_on_the_node_to_remove_and_its_components(tmp_path: Path) -> None:
    """`packages.sh installed` (teardown and replacement): the named packages dpkg has in any
    state but not-installed and config-files (a driver a failed DKMS build left half-configured
    is removed too), and the packages they bound (as `release` pins them) that are there too."""
    env = _dpkg_status(
        tmp_path,
        {
            "meta": ("install ok installed", DEPENDS),
            "driver": ("install reinstreq half-configured", "libh (>= 5)"),
            "old": ("deinstall ok config-files", "libe (>= 1)"),
            "liba": ("install ok installed", None),
            "libb": ("deinstall ok config-files", None),
            "libd": ("install ok installed", None),
            "libe": ("install ok installed", None),
            "libg": ("install ok unpacked", None),
            "libh": ("install ok installed", None),
        },
    )
    run = subprocess.run(
        ["sh", str(SCRIPT), "installed", "meta", "driver", "old", "unknown"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "package driver",
        "package meta",
        "component liba",
        "component libg",
        "component libh",
    ]


def test_the_verify_suite_reads_the_same_bounds_as_the_role() -> None:
    """The verify suite (templates/verify/test_nodes.py, BOUNDED) checks the components the
    role pinned: the same relations of a Depends field, by its own reading of it."""
    spec = importlib.util.spec_from_file_location(
        "verify_nodes", ROOT / "src" / "aigrid" / "templates" / "verify" / "test_nodes.py"
    )
    assert spec and spec.loader
    verify = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verify)
    relations = [relation.strip() for relation in DEPENDS.split(",") if "|" not in relation]
    by_verify = [match[1] for match in map(verify.BOUNDED.fullmatch, relations) if match]
    by_role = subprocess.run(
        ["sh", str(SCRIPT), "bounded"],
        input=DEPENDS + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert by_role == ["liba >= 1.2", "libb = 2.0-1", "libg >= 4.1-2", "libh >= 5"]
    assert by_verify == [line.split()[0] for line in by_role]


def test_a_patch_release_of_a_library_replaces_the_releases_build(cuda: Apt) -> None:
    """stack.cuda.patches (NAME=VERSION): the cuBLAS patch release published after Update 2, with
    or without its Debian revision, in place of Update 2's own; the rest of the release stays at
    its builds, and apt installs them together."""
    release = {META: "13.0.2-1", CUDART: "13.0.96-1", CUBLAS: "13.1.1.3-1"}
    for patch in (f"{CUBLAS}=13.1.1.3", f"{CUBLAS}=13.1.1.3-1"):
        found = cuda.run("sh", str(SCRIPT), "release", META, "13.0.2-*", patch, check=False)
        assert found.returncode == 0, found.stderr
        assert [line.split() for line in found.stdout.splitlines()] == [
            list(item) for item in release.items()
        ]
    assert cuda.simulate(*(f"{name}={version}" for name, version in release.items())) == release


@pytest.mark.parametrize(
    ("pattern", "patch", "code", "message"),
    [
        # Update 2 needs cudart >= 13.0.96: Update 1's build is older than that.
        (
            "13.0.2-*",
            f"{CUDART}=13.0.88",
            5,
            f"{CUDART} 13.0.88-1, given in place of the release's build: {META} 13.0.2-1 depends on it"
            " with >= 13.0.96",
        ),
        ("13.0.2-*", "libcufft-13-0=12.0.0.61", 5, f"libcufft-13-0: not a component of {META} 13.0.2-1"),
        ("13.0.1-*", f"{CUDART}=13.0.99", 4, f"{CUDART}: the package index has no build of 13.0.99"),
    ],
)
def test_a_patch_that_cannot_replace_the_releases_build_is_named(
    cuda: Apt, pattern: str, patch: str, code: int, message: str
) -> None:
    """Exit 5 (the role stops before anything is pinned or installed): the build does not
    satisfy the release's bound (apt could not install the two together), or the release has no
    such component (a typo, or a library of another release). Exit 4: no such build."""
    found = cuda.run("sh", str(SCRIPT), "release", META, pattern, patch, check=False)
    assert found.returncode == code, found.stdout
    assert message in found.stderr
