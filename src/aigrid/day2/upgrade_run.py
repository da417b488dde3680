"""aigrid upgrade: run an upgrade plan on the nodes, one batch at a time, through ansible-runner.

Per batch (Kubernetes docs, "Upgrading kubeadm clusters": drain, upgrade, uncordon, node by
node): DIR/ansible/upgrade.yml drains the nodes the plan drains, moves those it moves to a new
Kubernetes version (kubeadm first, then `kubeadm upgrade apply` on the first control plane or
`kubeadm upgrade node`, then the kubelet), and runs the whole bring-up on them, each role
moving its part of the node to the new revision (the driver installed and the
node rebooted into it, the MIG layout labelled, the slices reshaped); the compiled checks
(aigrid verify) must pass on every node of the batch; DIR/ansible/uncordon.yml waits until
each is Ready and puts it back in service.

The first node that fails stops the upgrade: it stays cordoned (no work lands on a
half-changed node), the nodes of later batches are not touched. DIR/upgrade/progress.json
records the nodes finished, so running the same upgrade again resumes at the failed node.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from aigrid import bringup, layout
from aigrid.day2.state import GridState
from aigrid.day2.upgrade import NodeUpgrade, UpgradePlan

NodeStatus = Literal["upgraded", "already upgraded", "failed", "not started"]


class UpgradeError(Exception):
    """The upgrade cannot start: the plan or the directory does not allow it."""


class Progress(BaseModel):
    """What DIR/upgrade/progress.json keeps between runs of one plan."""

    model_config = ConfigDict(extra="forbid")

    plan: str
    done: list[str] = []
    failed: dict[str, str] = {}


@dataclass
class NodeOutcome:
    hostname: str
    site: str
    status: NodeStatus
    detail: str = ""


@dataclass
class UpgradeOutcome:
    nodes: list[NodeOutcome]
    # What the nodes do not carry: the site objects to apply once the nodes are done.
    rollouts: list[str]
    resumed: bool
    progress_file: str
    # The signal that stopped the run (Ctrl-C: SIGINT), or None.
    interrupted: int | None = None

    @property
    def stopped(self) -> bool:
        return any(node.status not in ("upgraded", "already upgraded") for node in self.nodes)


@dataclass
class Runner:
    """What every ansible-runner call of one upgrade shares."""

    directory: Path
    inventories: list[Path] = field(default_factory=list)
    extravars: dict[str, Any] = field(default_factory=dict)
    secrets: Path | None = None
    on_result: Callable[[bringup.TaskResult], None] | None = None
    # Each node's compiled checks, by hostname: the failures of the nodes given (aigrid verify).
    verify: Callable[[str], dict[str, list[str]]] | None = None


def plan_digest(old: GridState, new: GridState, max_unavailable: int) -> str:
    """Names one plan: the same two revisions and limit give the same plan, wherever compiled."""
    text = json.dumps(
        [old.model_dump(mode="json"), new.model_dump(mode="json"), max_unavailable], sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()


def refusals(plan: UpgradePlan) -> list[str]:
    """Why this plan cannot run here: its blockers, and what must be done before it."""
    return plan.blockers + plan.prerequisites


def load_progress(directory: Path, digest: str) -> tuple[Progress, bool]:
    """The recorded progress of this plan (and True), or a fresh one when there is none or it
    belongs to another plan (a different revision pair: its nodes say nothing about this one)."""
    path = directory / layout.UPGRADE_PROGRESS
    try:
        recorded = Progress.model_validate_json(path.read_text())
    except FileNotFoundError:
        return Progress(plan=digest), False
    except (OSError, ValidationError) as exc:
        raise UpgradeError(f"cannot read {path}: {exc}; remove it to start the upgrade over") from exc
    if recorded.plan != digest:
        return Progress(plan=digest), False
    return recorded, True


def _save(directory: Path, progress: Progress) -> None:
    path = directory / layout.UPGRADE_PROGRESS
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(progress.model_dump_json(indent=2) + "\n")
    temporary.replace(path)  # atomic: a crash leaves the previous record whole


def run(plan: UpgradePlan, digest: str, runner: Runner) -> UpgradeOutcome:
    """Run `plan` batch by batch from where its recorded progress left off; stop at the first
    batch with a failed node."""
    for playbook in (layout.UPGRADE, layout.UNCORDON):
        if not (runner.directory / playbook).is_file():
            raise UpgradeError(f"{runner.directory} has no {playbook}: recompile the blueprint into it")
    problems = refusals(plan)
    if problems:
        raise UpgradeError("the plan cannot run: " + "; ".join(problems))
    progress, resumed = load_progress(runner.directory, digest)
    progress.failed = {}
    outcomes: list[NodeOutcome] = []
    stopped = ran = False
    interrupted: int | None = None
    for wave in plan.waves:
        for site in wave.sites:
            for phase in site.phases:
                for batch in phase.batches:
                    todo = [node.hostname for node in batch.nodes if node.hostname not in progress.done]
                    for node in batch.nodes:
                        if stopped:
                            outcomes.append(NodeOutcome(node.hostname, site.site, "not started"))
                        elif node.hostname not in todo:
                            outcomes.append(NodeOutcome(node.hostname, site.site, "already upgraded"))
                    if stopped or not todo:
                        continue
                    try:
                        failed = _batch(runner, site.site, [n for n in batch.nodes if n.hostname in todo])
                    except bringup.Interrupted as stop:
                        # Not recorded as done: the same command redoes the whole batch.
                        interrupted = stop.signum
                        failed = dict.fromkeys(todo, f"{stop} in the middle of its batch")
                    for hostname in todo:
                        if hostname in failed:
                            outcomes.append(NodeOutcome(hostname, site.site, "failed", failed[hostname]))
                        else:
                            outcomes.append(NodeOutcome(hostname, site.site, "upgraded"))
                            progress.done.append(hostname)
                    progress.failed.update(failed)
                    _save(runner.directory, progress)
                    stopped, ran = bool(failed), True
    rollouts = [
        f"site {site.site}: {rollout.target} ({', '.join(rollout.changes)})"
        for wave in plan.waves
        for site in wave.sites
        for rollout in site.rollouts
    ]
    if not ran:  # no batch saved it: clear the failure recorded by an earlier run
        _save(runner.directory, progress)
    return UpgradeOutcome(
        outcomes, rollouts, resumed, str(runner.directory / layout.UPGRADE_PROGRESS), interrupted
    )


def _batch(runner: Runner, site: str, nodes: list[NodeUpgrade]) -> dict[str, str]:
    """Drain, apply, verify and uncordon one batch; the nodes that failed, with why."""
    hostnames = [node.hostname for node in nodes]
    extravars = {
        **runner.extravars,
        "aigrid_upgrade_drain": _taking(nodes, "drain"),
        "aigrid_upgrade_kubernetes": _taking(nodes, "kubeadm-upgrade"),
    }
    applied = _play(runner, layout.UPGRADE, site, hostnames, extravars)
    failed = {host: why for host, why in applied.items() if why}
    passed = [host for host in hostnames if host not in failed]
    if passed and runner.verify is not None:
        for host, failures in runner.verify(site).items():
            if host in passed and failures:
                failed[host] = "its checks failed: " + "; ".join(failures)
        passed = [host for host in passed if host not in failed]
    if passed:
        back = _play(runner, layout.UNCORDON, site, passed, extravars)
        failed |= {host: f"back in service: {why}" for host, why in back.items() if why}
    return failed


def _taking(nodes: list[NodeUpgrade], action: str) -> list[str]:
    """The nodes of a batch whose steps include `action`."""
    return [node.hostname for node in nodes if any(step.action == action for step in node.steps)]


def _play(
    runner: Runner, playbook: str, site: str, hostnames: list[str], extravars: dict[str, Any]
) -> dict[str, str]:
    """Each host's failure in one run of `playbook` on `hostnames` of `site` ("" when it
    finished); only the site's inventory is loaded."""
    outcome = bringup.run(
        runner.directory,
        limit=",".join(hostnames),
        inventories=runner.inventories,
        extravars=extravars,
        on_result=runner.on_result,
        playbook=runner.directory / playbook,
        secrets=runner.secrets,
        site=site,
    )
    result = {}
    for host in hostnames:
        if host in outcome.failed_hosts:
            result[host] = "; ".join(outcome.messages.get(host, [])) or "failed"
        elif host not in outcome.hosts:
            result[host] = "not in the run (is it in the inventory?)"
        elif outcome.rc != 0 and not outcome.failed_hosts:
            result[host] = f"ansible-playbook exited {outcome.rc} ({outcome.status})"
        else:
            result[host] = ""
    return result
