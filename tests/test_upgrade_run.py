"""Running an upgrade plan (aigrid upgrade without --plan-only), with ansible-runner replaced by a
recorder: batches in the plan's order, drain -> apply -> verify -> uncordon per batch, a stop
at the first failing node (cordoned, later nodes untouched) and a resume from the recorded
progress. tests/test_lab_upgrade.py runs the same on the emulated site for real."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from aigrid import bringup, layout
from aigrid.day2 import upgrade_run
from aigrid.day2.compare import compare
from aigrid.day2.revision import load_revision
from aigrid.day2.state import GridState
from aigrid.day2.upgrade import UpgradePlan, plan_upgrade
from conftest import BLUEPRINTS

EXAMPLES = BLUEPRINTS / "examples"
LAB = EXAMPLES / "lab-edge-site.yaml"
DAY2 = EXAMPLES / "day2"


def _plan(new: Path, old: Path = LAB) -> tuple[UpgradePlan, str]:
    before, after = load_revision(old).state, load_revision(new).state
    plan = plan_upgrade(before, after, compare(before, after), str(old), str(new), 1)
    return plan, upgrade_run.plan_digest(before, after, 1)


class Recorder:
    """Stands for bringup.run: records each call; hosts in `failing` fail the upgrade play."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.calls: list[tuple[str, list[str], list[str]]] = []
        self.kubernetes: list[list[str]] = []
        self.failing = failing or set()

    def __call__(self, directory: Path, **kwargs: Any) -> bringup.Outcome:
        hosts = kwargs["limit"].split(",")
        playbook = Path(kwargs["playbook"]).name
        self.calls.append((playbook, hosts, list(kwargs["extravars"]["aigrid_upgrade_drain"])))
        self.kubernetes.append(list(kwargs["extravars"]["aigrid_upgrade_kubernetes"]))
        failed = [h for h in hosts if h in self.failing and playbook == "upgrade.yml"]
        counts = {
            h: {"ok": 3, "changed": 1, "failed": int(h in failed), "unreachable": 0, "skipped": 0}
            for h in hosts
        }
        messages = {
            h: ["nvidia_driver : Install the driver at the pinned version: E: Sub-process returned an error"]
            for h in failed
        }
        return bringup.Outcome(2 if failed else 0, "failed" if failed else "successful", counts, messages)


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    for playbook in (layout.UPGRADE, layout.UNCORDON):
        (tmp_path / playbook).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / playbook).write_text("---\n")
    return tmp_path


def _run(compiled: Path, plan: UpgradePlan, digest: str, recorder: Recorder, verify: Any = None) -> Any:
    return upgrade_run.run(plan, digest, upgrade_run.Runner(compiled, verify=verify))


def test_batches_run_in_order_and_a_failure_stops_the_rest(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, digest = _plan(DAY2 / "driver-branch.yaml")
    recorder = Recorder(failing={"lab-gpu02"})
    monkeypatch.setattr(bringup, "run", recorder)
    outcome = _run(compiled, plan, digest, recorder)
    assert [(n.hostname, n.status) for n in outcome.nodes] == [
        ("lab-gpu01", "upgraded"),
        ("lab-gpu02", "failed"),
        ("lab-gpu03", "not started"),
    ]
    assert outcome.stopped
    assert "E: Sub-process returned an error" in outcome.nodes[1].detail
    # gpu01: drained and applied, then back in service; gpu02: drained and applied, never uncordoned.
    assert recorder.calls == [
        ("upgrade.yml", ["lab-gpu01"], ["lab-gpu01"]),
        ("uncordon.yml", ["lab-gpu01"], ["lab-gpu01"]),
        ("upgrade.yml", ["lab-gpu02"], ["lab-gpu02"]),
    ]
    progress = upgrade_run.Progress.model_validate_json((compiled / layout.UPGRADE_PROGRESS).read_text())
    assert progress.done == ["lab-gpu01"] and list(progress.failed) == ["lab-gpu02"]

    # The cause fixed, the same upgrade resumes at the failed node.
    recorder.failing, recorder.calls = set(), []
    outcome = _run(compiled, plan, digest, recorder)
    assert [(n.hostname, n.status) for n in outcome.nodes] == [
        ("lab-gpu01", "already upgraded"),
        ("lab-gpu02", "upgraded"),
        ("lab-gpu03", "upgraded"),
    ]
    assert not outcome.stopped
    assert [hosts for _, hosts, _ in recorder.calls] == [["lab-gpu02"]] * 2 + [["lab-gpu03"]] * 2


def test_a_node_whose_checks_fail_stays_cordoned(compiled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan, digest = _plan(DAY2 / "driver-branch.yaml")
    recorder = Recorder()
    monkeypatch.setattr(bringup, "run", recorder)

    def verify(site: str) -> dict[str, list[str]]:
        assert site == "lab-edge-01"
        return {"lab-gpu01": ["test_driver_loaded[lab-gpu01]: 580.126.20 loaded"], "lab-gpu02": []}

    outcome = _run(compiled, plan, digest, recorder, verify)
    assert [(n.hostname, n.status) for n in outcome.nodes][:2] == [
        ("lab-gpu01", "failed"),
        ("lab-gpu02", "not started"),
    ]
    assert "its checks failed: test_driver_loaded" in outcome.nodes[0].detail
    assert recorder.calls == [("upgrade.yml", ["lab-gpu01"], ["lab-gpu01"])]


def test_ctrl_c_stops_the_upgrade_and_the_batch_is_redone(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in a batch's play: the batch is not recorded as done (its nodes may be half
    upgraded and cordoned), later batches are not started, and the next run redoes it."""
    plan, digest = _plan(DAY2 / "driver-branch.yaml")
    recorder = Recorder()

    def interrupted_at_gpu02(directory: Path, **kwargs: Any) -> bringup.Outcome:
        outcome = recorder(directory, **kwargs)
        if kwargs["limit"] == "lab-gpu02":
            raise bringup.Interrupted(signal.SIGINT, outcome)
        return outcome

    monkeypatch.setattr(bringup, "run", interrupted_at_gpu02)
    outcome = _run(compiled, plan, digest, recorder)
    assert outcome.interrupted == signal.SIGINT
    assert [(n.hostname, n.status) for n in outcome.nodes] == [
        ("lab-gpu01", "upgraded"),
        ("lab-gpu02", "failed"),
        ("lab-gpu03", "not started"),
    ]
    assert outcome.nodes[1].detail == "interrupted (SIGINT) in the middle of its batch"
    progress = upgrade_run.Progress.model_validate_json((compiled / layout.UPGRADE_PROGRESS).read_text())
    assert progress.done == ["lab-gpu01"]
    monkeypatch.setattr(bringup, "run", recorder)
    recorder.calls = []
    assert not _run(compiled, plan, digest, recorder).stopped
    assert [hosts for _, hosts, _ in recorder.calls] == [["lab-gpu02"]] * 2 + [["lab-gpu03"]] * 2


def test_progress_of_another_plan_is_not_resumed(compiled: Path) -> None:
    path = compiled / layout.UPGRADE_PROGRESS
    path.parent.mkdir()
    path.write_text(upgrade_run.Progress(plan="another", done=["lab-gpu01"]).model_dump_json())
    progress, resumed = upgrade_run.load_progress(compiled, "this")
    assert (progress.done, resumed) == ([], False)
    path.write_text("{not json")
    with pytest.raises(upgrade_run.UpgradeError, match="remove it to start the upgrade over"):
        upgrade_run.load_progress(compiled, "this")


def test_what_the_executor_does_not_run_is_refused(compiled: Path) -> None:
    """Two Kubernetes minors in one revision: kubeadm goes one minor at a time, and the
    compiled revision has the repository of its own minor only."""
    plan, digest = _plan(DAY2 / "kubernetes-minor.yaml")
    assert plan.kubernetes == ["1.35", "1.36.2"] and not plan.blockers
    (problem,) = upgrade_run.refusals(plan)
    assert plan.prerequisites == [problem]  # in the plan too, for --plan-only and an executor
    assert "Kubernetes moves 1.34.9 -> 1.36.2, more than one minor" in problem and "(1.35 first)" in problem
    with pytest.raises(upgrade_run.UpgradeError, match="the plan cannot run"):
        _run(compiled, plan, digest, Recorder())
    assert not (compiled / layout.UPGRADE_PROGRESS).exists()
    blocked = plan.model_copy(update={"prerequisites": [], "blockers": ["site lab-edge-01: no room"]})
    assert upgrade_run.refusals(blocked) == ["site lab-edge-01: no room"]


def test_one_kubernetes_minor_runs_control_plane_first(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One minor up: every node is moved by kubeadm (aigrid_upgrade_kubernetes), the control
    plane in a batch of its own before any worker."""
    plan, digest = _plan(DAY2 / "lab-upgrade-to.yaml", DAY2 / "lab-upgrade-from.yaml")
    assert plan.kubernetes == ["1.35.0"] and upgrade_run.refusals(plan) == []
    recorder = Recorder()
    monkeypatch.setattr(bringup, "run", recorder)
    outcome = _run(compiled, plan, digest, recorder)
    assert not outcome.stopped
    upgrades = [
        hosts
        for (playbook, hosts, _), _k in zip(recorder.calls, recorder.kubernetes, strict=True)
        if playbook == "upgrade.yml"
    ]
    assert upgrades == [["lab-cp"], ["lab-gpu01"], ["lab-gpu02"], ["lab-gpu03"]]
    moved = [
        k
        for (playbook, _, _), k in zip(recorder.calls, recorder.kubernetes, strict=True)
        if playbook == "upgrade.yml"
    ]
    assert moved == upgrades


def test_the_plan_digest_names_the_revisions_not_where_they_were_compiled() -> None:
    lab = load_revision(LAB).state
    other = load_revision(DAY2 / "driver-branch.yaml").state
    assert upgrade_run.plan_digest(lab, other, 1) == upgrade_run.plan_digest(
        GridState.model_validate(lab.model_dump()), other, 1
    )
    assert upgrade_run.plan_digest(lab, other, 1) != upgrade_run.plan_digest(lab, other, 2)
    assert upgrade_run.plan_digest(lab, other, 1) != upgrade_run.plan_digest(other, lab, 1)


def test_the_command_prints_each_node_and_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aigrid upgrade DIR --from LOCK --yes`, Ansible and the checks replaced: the summary names
    each node's status and the failure, says how to resume, and exits 1; --json says the same."""
    from typer.testing import CliRunner

    from aigrid.cli import app
    from aigrid.cli import day2 as day2_cli
    from conftest import run_aigrid

    old, new = tmp_path / "old", tmp_path / "new"
    for blueprint, out in ((LAB, old), (DAY2 / "driver-branch.yaml", new)):
        assert run_aigrid("compile", str(blueprint), "--out", str(out)).returncode == 0
    monkeypatch.setattr(bringup, "run", Recorder(failing={"lab-gpu02"}))
    monkeypatch.setattr(day2_cli, "_verify", lambda directory, inventories, hardware_checks: lambda site: {})
    monkeypatch.setenv("COLUMNS", "200")
    args = ["upgrade", str(new), "--from", str(old / layout.LOCK), "--yes"]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 1, text.output
    rows = [line.split("│")[1:4] for line in text.output.splitlines() if "lab-gpu" in line]
    assert [[cell.strip() for cell in row][1:3] for row in rows] == [
        ["lab-gpu01", "upgraded"],
        ["lab-gpu02", "failed"],
        ["lab-gpu03", "not started"],
    ]
    # The detail column wraps at the console's width: read it without borders or spaces.
    flat = "".join(
        char for char in text.output if not char.isspace() and char not in "│┃┏┓┗┛━─┡┩┢┪╇╈┣┫╋┳┻└┘┴┬├┤┼"
    )
    assert "E:Sub-processreturnedanerror" in flat
    assert "run the same command again to resume" in text.output
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert as_json.exit_code == 1
    summary = json.loads(as_json.stdout)
    assert summary["resumed"] is True and summary["stopped"] is True
    assert [n["status"] for n in summary["nodes"]] == ["already upgraded", "failed", "not started"]
