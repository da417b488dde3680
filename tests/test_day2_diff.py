"""`aigrid diff`: one pair of blueprints per disruption class (a shipped example and a small
modified copy under blueprints/examples/day2/), each change attributed to the site and node
or workload it lands on, the same answer from lock files as from blueprints, and bad input
answered with one line, never a traceback."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aigrid.day2.classify import RULES, Context, Scope, classify
from aigrid.day2.compare import STRUCTURE, compare, highest
from aigrid.day2.disruption import Disruption
from aigrid.day2.revision import load_revision
from aigrid.day2.state import DriverState, GridState, NodeState, SiteState, WorkloadState
from conftest import BLUEPRINTS, run_aigrid

EXAMPLES = BLUEPRINTS / "examples"
DAY2 = EXAMPLES / "day2"
LAB = EXAMPLES / "lab-edge-site.yaml"
GPU_WORKERS = ["lab-gpu01", "lab-gpu02", "lab-gpu03"]
ALL_NODES = ["lab-cp", *GPU_WORKERS]

# (old, new, class, the change that must be there: path, and the nodes or workload it is on)
PAIRS = [
    (LAB, DAY2 / "metadata-only.yaml", Disruption.NONE, "labels[node.kubernetes.io/rack]", ["lab-gpu03"]),
    (LAB, DAY2 / "workload-model.yaml", Disruption.ROLLING_RESTART, "model", ["robot-vision"]),
    (LAB, DAY2 / "slice-qos.yaml", Disruption.NODE_DRAIN, "slices[lab-embb].maximum_bps", ALL_NODES),
    (
        EXAMPLES / "gpu-node-h100.yaml",
        DAY2 / "h100-mig.yaml",
        Disruption.NODE_DRAIN,
        "mig_layout",
        ["h100-node-01"],
    ),
    (LAB, DAY2 / "driver-branch.yaml", Disruption.NODE_REBOOT, "driver.version", GPU_WORKERS),
    (LAB, DAY2 / "kubernetes-minor.yaml", Disruption.CONTROL_PLANE_FIRST, "kubernetes", ALL_NODES),
    (LAB, DAY2 / "slice-vlan.yaml", Disruption.SITE_WIDE, "slices[lab-embb].vlan", ALL_NODES),
]


def _diff_json(old: Path | str, new: Path | str) -> tuple[int, dict[str, Any]]:
    proc = run_aigrid("diff", str(old), str(new), "--format", "json")
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize(
    ("old", "new", "expected", "path", "targets"), PAIRS, ids=[pair[1].stem for pair in PAIRS]
)
def test_each_pair_is_classified_and_attributed(
    old: Path, new: Path, expected: Disruption, path: str, targets: list[str]
) -> None:
    code, report = _diff_json(old, new)
    assert report["highest"] == expected.label
    assert code == report["exit_code"] == expected.exit_code
    found = sorted(
        change.get("node") or change.get("workload") for change in report["changes"] if change["path"] == path
    )
    assert found == sorted(targets)
    # Nothing more disruptive hides among the other changes, and each says why.
    assert all(Disruption[c["disruption"].upper().replace("-", "_")] <= expected for c in report["changes"])
    assert all(c["reason"] for c in report["changes"])


def test_the_exit_codes_rank_the_classes_and_keep_1_and_2_for_errors() -> None:
    codes = [member.exit_code for member in Disruption]
    assert codes == [0, 3, 4, 5, 6, 7]


def test_a_revision_compared_with_itself_has_no_differences() -> None:
    proc = run_aigrid("diff", str(LAB), str(LAB))
    assert proc.returncode == 0
    assert "no differences" in proc.stdout


def test_lock_files_and_compiled_directories_give_the_same_answer(tmp_path: Path) -> None:
    old_out, new_out = tmp_path / "old", tmp_path / "new"
    for blueprint, out in ((LAB, old_out), (DAY2 / "driver-branch.yaml", new_out)):
        assert run_aigrid("compile", str(blueprint), "--out", str(out)).returncode == 0
    _, from_blueprints = _diff_json(LAB, DAY2 / "driver-branch.yaml")
    _, from_locks = _diff_json(old_out / "aigrid.lock.json", new_out / "aigrid.lock.json")
    _, from_dirs = _diff_json(old_out, new_out)
    assert from_blueprints["changes"] == from_locks["changes"] == from_dirs["changes"]
    assert len(from_locks["changes"]) == len(GPU_WORKERS)


def test_output_is_the_same_bytes_every_time() -> None:
    runs = [run_aigrid("diff", str(LAB), str(DAY2 / "slice-vlan.yaml"), "-f", "markdown") for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].returncode == Disruption.SITE_WIDE.exit_code


def test_markdown_is_a_table_for_a_pull_request_comment(tmp_path: Path) -> None:
    report = tmp_path / "diff.md"
    proc = run_aigrid("diff", str(LAB), str(DAY2 / "driver-branch.yaml"), "-f", "markdown", "-o", str(report))
    assert proc.returncode == Disruption.NODE_REBOOT.exit_code
    lines = report.read_text().splitlines()
    assert lines[0] == "### aigrid diff: node reboot"
    rows = [line for line in lines if line.startswith("| `lab-edge-01`")]
    assert len(rows) == len(GPU_WORKERS)
    assert all(row.count(" | ") == 4 and "**node reboot**" in row for row in rows)


def test_a_driver_the_gpu_operator_manages_is_reloaded_on_a_drained_node() -> None:
    """GPU Operator "GPU Driver Upgrades": the driver container reloads the modules; no reboot."""
    state = load_revision(LAB).state
    node = next(n for n in state.sites[0].nodes if n.driver)
    assert node.driver is not None
    operator = node.model_copy(update={"driver": node.driver.model_copy(update={"install": "operator"})})
    upgraded = operator.model_copy(
        update={"driver": DriverState(version="590.44.01", install="operator", kernel_modules="open")}
    )
    verdict = classify("node", "driver.version", "580.126.20", "590.44.01", Context(operator, upgraded))
    assert verdict.disruption is Disruption.NODE_DRAIN
    on_host = classify("node", "driver.version", "580.126.20", "590.44.01", Context(node, node))
    assert on_host.disruption is Disruption.NODE_REBOOT
    assert "branch 580 -> 590" in on_host.reason


def test_kubernetes_patch_and_downgrade_say_so() -> None:
    patch = classify("node", "kubernetes", "1.34.9", "1.34.10", Context())
    assert patch.disruption is Disruption.CONTROL_PLANE_FIRST and "each node drained" in patch.reason
    assert "downgrade" in classify("node", "kubernetes", "1.34.9", "1.33.4", Context()).reason


def test_a_node_added_in_the_middle_of_a_site_renumbers_the_ones_after_it() -> None:
    """Slice addresses follow a node's position in its site (plan._host_address): the diff
    must show that inserting a node is a renumbering, not a harmless join."""
    state = load_revision(LAB).state
    site = state.sites[0]
    first = site.nodes[1]
    newcomer = first.model_copy(update={"hostname": "lab-gpu00", "address": "2001:db8:ed::20"})
    shifted = [
        node.model_copy(
            update={
                "slices": {
                    name: s.model_copy(update={"ipv6": s.ipv6.replace("::b/", "::c/") if s.ipv6 else None})
                    for name, s in node.slices.items()
                }
            }
        )
        if node.hostname == "lab-gpu01"
        else node
        for node in site.nodes
    ]
    grown = state.model_copy(update={"sites": [site.model_copy(update={"nodes": [newcomer, *shifted]})]})
    changes = compare(state, grown)
    assert highest(changes) is Disruption.SITE_WIDE
    join = next(c for c in changes if c.target == "lab-gpu00")
    assert join.path == "" and join.disruption is Disruption.NONE


def _optional(annotation: Any) -> tuple[Any, bool]:
    """`X | None` -> (X, True); anything else -> (it, False)."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) and type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return annotation, False


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every fact pattern of a state model, as compare names them: a nested model's fields
    (and the model itself where it may be absent), a mapping's entries as `[*]` (and the
    whole mapping where it may be absent)."""
    patterns = []
    for name, info in model.model_fields.items():
        pattern = f"{prefix}.{name}" if prefix else name
        annotation, optional = _optional(info.annotation)
        if optional:
            patterns.append(pattern)
        if _is_model(annotation):
            patterns += _fields(annotation, pattern)
        elif typing.get_origin(annotation) is dict:
            value = typing.get_args(annotation)[1]
            patterns.append(f"{pattern}[*]")
            if _is_model(value):
                patterns += _fields(value, f"{pattern}[*]")
        elif not optional:
            patterns.append(pattern)
    return patterns


@pytest.mark.parametrize(
    ("scope", "model"),
    [("grid", GridState), ("site", SiteState), ("node", NodeState), ("workload", WorkloadState)],
)
def test_every_fact_of_the_state_has_a_class(scope: Scope, model: type[BaseModel]) -> None:
    """Walks the models (a node's slices through NodeState), so a new field without a rule fails."""
    skip = STRUCTURE.get(scope, set())
    patterns = [p for p in _fields(model) if p.split(".")[0].split("[")[0] not in skip]
    rules = RULES[scope]
    assert [p for p in patterns if p not in rules] == []
    # ...and no rule names a fact that does not exist.
    assert sorted(set(rules) - set(patterns) - {""}) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.json", '{"aigrid": "0.1.0"}', "holds no deployed state (an older aigrid wrote it)"),
        ("other.json", "{}", "JSON, but not an aigrid lock file"),
        ("broken.json", "{not json", "not JSON (line 1): not an aigrid lock file"),
        (
            "future.json",
            '{"aigrid": "0.1.0", "state": {"version": 9}}',
            "its state is version 9, this aigrid reads 1",
        ),
        (
            "wrong.json",
            '{"aigrid": "0.1.0", "state": {"version": 1, "name": 3}}',
            "state.name: Input should be a valid string",
        ),
    ],
)
def test_a_lock_file_that_cannot_be_compared_is_one_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    lock = tmp_path / name
    lock.write_text(content)
    proc = run_aigrid("diff", str(lock), str(LAB))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"aigrid: {lock}: ") and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_directory_without_a_lock_file_is_named(tmp_path: Path) -> None:
    """Misuse (2), as for bringup, drift and verify: the folder is no revision at all."""
    proc = run_aigrid("diff", str(tmp_path), str(LAB))
    assert proc.returncode == 2
    assert f"{tmp_path}: no aigrid.lock.json here" in proc.stderr


def test_an_invalid_blueprint_shows_its_diagnostics() -> None:
    invalid = EXAMPLES / "invalid" / "AG202-vlan-out-of-range.yaml"
    proc = run_aigrid("diff", str(LAB), str(invalid))
    assert proc.returncode == 1
    assert "error AG202" in proc.stderr and "is invalid: fix it before comparing" in proc.stderr


def test_a_missing_file_is_misuse() -> None:
    proc = run_aigrid("diff", str(LAB), "no-such-blueprint.yaml")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_a_cuda_library_patch_is_replaced_in_place_on_each_gpu_node(tmp_path: Path) -> None:
    """stack.cuda.patches lands on the GPU nodes (cuda_runtime) as a library at another build:
    a change there, which disrupts nothing; the control plane has no CUDA libraries."""
    text = (DAY2 / "driver-branch.yaml").read_text()
    text = text.replace("version: 590.44.01", "version: 580.126.20").replace(
        "  cuda: {version: 13.0.2}\n",
        "  cuda:\n    version: 13.0.2\n    patches: {libcublas-13-0: 13.1.1.3}\n",
    )
    patched = tmp_path / "patched.yaml"
    patched.write_text(text)
    code, report = _diff_json(LAB, patched)
    assert (code, report["highest"]) == (0, Disruption.NONE.label)
    assert [(c["path"], c.get("node"), c["new"]) for c in report["changes"]] == [
        ("cuda_patches[libcublas-13-0]", node, "13.1.1.3") for node in GPU_WORKERS
    ]


def test_a_cuda_update_with_patches_set_says_they_must_still_fit() -> None:
    """A patch is a build the old release's bound allowed; the new release's meta package may
    need a newer one (bring-up stops on it), which only the node's index knows: said here."""
    node = next(n for n in load_revision(LAB).state.sites[0].nodes if n.driver)
    patched = node.model_copy(update={"cuda_patches": {"libcublas-13-0": "13.1.1.3"}})
    verdict = classify("node", "cuda", "13.0.2", "13.0.3", Context(patched, patched))
    assert verdict.disruption is Disruption.NONE
    assert "the patches set (libcublas-13-0 13.1.1.3) must satisfy CUDA 13.0.3's own builds" in verdict.reason
    assert "patches" not in classify("node", "cuda", "13.0.2", "13.0.3", Context(node, node)).reason
