"""The upgrade plan (`aigrid upgrade DIR --from LOCK --plan-only`): Kubernetes one minor at a
time with control planes first and the version-skew policy held at every batch, node batches
that keep every workload's floor, sites sharing a workload never in the same wave, and the
steps per node in the order a drain-and-reboot needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigrid.day2.compare import compare
from aigrid.day2.revision import load_revision
from aigrid.day2.state import GridState, NodeState
from aigrid.day2.upgrade import (
    Batch,
    NodeUpgrade,
    UpgradePlan,
    kubernetes_hops,
    plan_upgrade,
    skew_violations,
)
from aigrid.render.disruption_budget import MAX_UNAVAILABLE
from conftest import BLUEPRINTS, run_aigrid

EXAMPLES = BLUEPRINTS / "examples"
DAY2 = EXAMPLES / "day2"
LAB = EXAMPLES / "lab-edge-site.yaml"


def _plan(old: GridState, new: GridState, max_unavailable: int = 1) -> UpgradePlan:
    return plan_upgrade(old, new, compare(old, new), "old", "new", max_unavailable)


def _state(blueprint: Path) -> GridState:
    return load_revision(blueprint).state


def _actions(node: NodeUpgrade) -> list[str]:
    return [step.action for step in node.steps]


def _with_driver(state: GridState, version: str) -> GridState:
    """Every GPU node of every site on another host driver (the base stack locks the driver,
    so a grid-wide change is made on the state rather than through a blueprint)."""

    def node(n: NodeState) -> NodeState:
        if n.driver is None:
            return n
        return n.model_copy(update={"driver": n.driver.model_copy(update={"version": version})})

    sites = [site.model_copy(update={"nodes": [node(n) for n in site.nodes]}) for site in state.sites]
    return state.model_copy(update={"sites": sites})


def test_kubernetes_hops_one_minor_at_a_time() -> None:
    assert kubernetes_hops("1.34.9", "1.36.2") == ["1.35", "1.36.2"]
    assert kubernetes_hops("1.34.9", "1.35.0") == ["1.35.0"]
    assert kubernetes_hops("1.34.9", "1.34.10") == ["1.34.10"]
    assert kubernetes_hops("1.34.9", "1.34.9") == []
    for downgrade in ("1.33.4", "1.34.8", "2.0.0"):
        with pytest.raises(ValueError, match="kubeadm only upgrades"):
            kubernetes_hops("1.34.9", downgrade)


def test_kubernetes_minor_upgrade_control_planes_first_and_within_skew() -> None:
    plan = _plan(_state(LAB), _state(DAY2 / "kubernetes-minor.yaml"))
    assert plan.kubernetes == ["1.35", "1.36.2"] and not plan.blockers
    (site,) = plan.waves[0].sites
    assert [phase.title for phase in site.phases] == ["Kubernetes 1.35", "Kubernetes 1.36.2"]
    for phase in site.phases:
        order = [node.hostname for batch in phase.batches for node in batch.nodes]
        assert order == ["lab-cp", "lab-gpu01", "lab-gpu02", "lab-gpu03"]
        first = phase.batches[0].nodes[0]
        assert "kubeadm upgrade apply" in first.steps[0].detail
        for batch in phase.batches:
            for node in batch.nodes:
                # kubeadm upgrade before the drain (a cordoned control plane fails kubeadm's
                # CreateJob check beside tainted GPU nodes); the kubelet on the drained node.
                assert _actions(node) == [
                    "kubeadm-upgrade",
                    "cordon",
                    "drain",
                    "kubelet-upgrade",
                    "verify",
                    "uncordon",
                ]
    assert skew_violations(plan, _state(LAB)) == []


def test_a_kubernetes_patch_release_goes_control_planes_first_each_node_drained() -> None:
    """ "Upgrading kubeadm clusters" drains each node before its kubelet is upgraded, whatever
    the release: the kubelet restarts, and a patch may change how it runs the node's pods."""
    old = _state(LAB)
    sites = [
        site.model_copy(
            update={"nodes": [n.model_copy(update={"kubernetes": "1.34.10"}) for n in site.nodes]}
        )
        for site in old.sites
    ]
    plan = _plan(old, old.model_copy(update={"sites": sites}))
    assert plan.kubernetes == ["1.34.10"] and not plan.blockers
    (phase,) = plan.waves[0].sites[0].phases
    nodes = [node for batch in phase.batches for node in batch.nodes]
    assert nodes[0].hostname == "lab-cp"
    assert "kubeadm upgrade apply v1.34.10" in nodes[0].steps[0].detail
    steps = ["kubeadm-upgrade", "cordon", "drain", "kubelet-upgrade", "verify", "uncordon"]
    assert all(_actions(node) == steps for node in nodes)


def test_the_skew_check_catches_workers_ahead_of_their_control_plane() -> None:
    old = _state(LAB)
    plan = _plan(old, _state(DAY2 / "kubernetes-minor.yaml"))
    site = plan.waves[0].sites[0]
    phase = site.phases[0]
    workers_first = phase.model_copy(update={"batches": [*phase.batches[1:], phase.batches[0]]})
    bad_site = site.model_copy(update={"phases": [workers_first, *site.phases[1:]]})
    bad = plan.model_copy(update={"waves": [plan.waves[0].model_copy(update={"sites": [bad_site]})]})
    (problem, *_) = skew_violations(bad, old)
    assert "kubelet on lab-gpu01 (1.35) is newer than an API server (1.34)" in problem
    skipped = site.model_copy(update={"phases": site.phases[1:]})
    jump = plan.model_copy(update={"waves": [plan.waves[0].model_copy(update={"sites": [skipped]})]})
    problems = skew_violations(jump, old)
    assert "lab-cp goes from 1.34 to 1.36, skipping a minor (kubeadm upgrades one at a time)" in problems[0]


def test_a_driver_branch_change_drains_and_reboots_gpu_nodes_only() -> None:
    plan = _plan(_state(LAB), _state(DAY2 / "driver-branch.yaml"))
    nodes = [node for batch in plan.waves[0].sites[0].phases[0].batches for node in batch.nodes]
    assert [node.hostname for node in nodes] == ["lab-gpu01", "lab-gpu02", "lab-gpu03"]
    for node in nodes:
        assert _actions(node) == ["cordon", "drain", "apply", "reboot", "verify", "uncordon"]
        assert node.changes == ["driver.version"]


def _remaining_keeps_floor(old: GridState, batch: Batch) -> bool:
    """Counted by hand for the lab site, whose GPUs are all whole and whose one workload asks
    for one GPU a replica: the GPUs outside the batch hold all but one replica."""
    site = old.sites[0]
    (workload,) = site.workloads.values()
    assert workload.gpu_count == 1 and not any(node.mig_layout for node in site.nodes)
    out = {node.hostname for node in batch.nodes}
    return (
        sum(n.gpu_count for n in site.nodes if n.hostname not in out) >= workload.replicas - MAX_UNAVAILABLE
    )


@pytest.mark.parametrize("max_unavailable", [1, 2, 3])
def test_batches_stay_under_max_unavailable_and_keep_each_floor(max_unavailable: int) -> None:
    old = _state(LAB)
    # Three replicas on the site's six GPUs: all but one (two) must always find a GPU.
    site = old.sites[0]
    busy = site.workloads["robot-vision"].model_copy(update={"replicas": 3})
    old = old.model_copy(update={"sites": [site.model_copy(update={"workloads": {"robot-vision": busy}})]})
    new = _with_driver(old, "590.44.01")
    plan = _plan(old, new, max_unavailable)
    assert not plan.blockers
    batches = plan.waves[0].sites[0].phases[0].batches
    assert all(
        len(batch.nodes) <= max_unavailable and _remaining_keeps_floor(old, batch) for batch in batches
    )
    sizes = [len(batch.nodes) for batch in batches]
    # Two of the three GPU workers may go together (two GPUs stay); never all three.
    assert sizes == ([1, 1, 1] if max_unavailable == 1 else [2, 1])


def test_a_site_that_cannot_spare_a_node_is_a_blocker() -> None:
    old = _state(LAB)
    site = old.sites[0]
    crowded = site.workloads["robot-vision"].model_copy(update={"replicas": 6})
    old = old.model_copy(update={"sites": [site.model_copy(update={"workloads": {"robot-vision": crowded}})]})
    plan = _plan(old, _with_driver(old, "590.44.01"))
    assert len(plan.blockers) == 3
    assert "draining lab-gpu01 leaves no room for all but one replica of robot-vision" in plan.blockers[0]


def _sharing(state: GridState, workload: str, source: str, also: str) -> GridState:
    """`state` with `workload` (as it runs at site `source`) also running at site `also`."""
    running = state.site(source)
    assert running is not None
    placed = running.workloads[workload]
    sites = [
        site.model_copy(update={"workloads": {**site.workloads, workload: placed}})
        if site.name == also
        else site
        for site in state.sites
    ]
    return state.model_copy(update={"sites": sites})


def test_sites_sharing_a_workload_are_never_upgraded_together() -> None:
    """A driver change over the whole multi-carrier grid, with robot-vision running at both
    nw-nyc-fe-01 and nw-nwk-co-01 (the solver places it at one; a grid that spreads it is made
    here): those two sites land in different waves. Sites that cannot spare a GPU node are
    reported, not planned around: au-fra-rdc-01 and me-sgp-rdc-01 have one GPU node each; at
    nw-ash-rdc-01 only gpu01 offers meter-anomaly's MIG profile and only gpu02 whole GPUs
    (llm-assist); nw-nwk-co-01 holds robot-vision and video-analytics on both its nodes."""
    base = _state(EXAMPLES / "multi-carrier-grid.yaml")
    old = _sharing(base, "robot-vision", "nw-nyc-fe-01", "nw-nwk-co-01")
    new = _sharing(_with_driver(base, "590.44.01"), "robot-vision", "nw-nyc-fe-01", "nw-nwk-co-01")
    plan = _plan(old, new)
    planned = [site.site for wave in plan.waves for site in wave.sites]
    gpu_sites = [s.name for s in old.sites if any(n.driver for n in s.nodes)]
    assert sorted(planned) == sorted(gpu_sites)
    wave_of = {site.site: index for index, wave in enumerate(plan.waves) for site in wave.sites}
    assert wave_of["nw-nyc-fe-01"] != wave_of["nw-nwk-co-01"]
    for wave in plan.waves:
        seen: set[str] = set()
        for site in wave.sites:
            state = old.site(site.site)
            assert state is not None
            assert not seen & set(state.workloads), wave
            seen |= set(state.workloads)
    assert plan.blockers == [
        f"site {site}: draining {site}-{node} leaves no room for all but one replica of {names} there; "
        "add GPUs at the site or lower the replicas first"
        for site, node, names in [
            ("nw-nwk-co-01", "gpu01", "robot-vision, video-analytics"),
            ("nw-nwk-co-01", "gpu02", "robot-vision, video-analytics"),
            ("nw-ash-rdc-01", "gpu01", "meter-anomaly"),
            ("nw-ash-rdc-01", "gpu02", "llm-assist"),
            ("me-sgp-rdc-01", "gpu01", "drone-defects"),
            ("au-fra-rdc-01", "gpu01", "crop-disease"),
        ]
    ]


def test_a_site_wide_change_is_one_window_without_reboots() -> None:
    plan = _plan(_state(LAB), _state(DAY2 / "slice-vlan.yaml"))
    (phase,) = plan.waves[0].sites[0].phases
    assert phase.kind == "site-wide" and len(phase.batches) == 1
    assert len(phase.batches[0].nodes) == 4
    assert all("reboot" not in _actions(node) for node in phase.batches[0].nodes)
    assert plan.warnings == [
        "site lab-edge-01: its 2 replica(s) of robot-vision are down during the site-wide window "
        "(0 elsewhere)"
    ]


def test_workload_changes_roll_out_after_the_nodes() -> None:
    plan = _plan(_state(LAB), _state(DAY2 / "workload-model.yaml"))
    (site,) = plan.waves[0].sites
    assert site.phases == []
    assert [(r.target, r.changes) for r in site.rollouts] == [
        ("workload robot-vision", ["model", "replicas"])
    ]


def test_a_new_site_is_brought_up_and_its_workloads_rolled_out() -> None:
    lab = _state(LAB)
    site = lab.sites[0]
    nodes = [n.model_copy(update={"hostname": n.hostname.replace("lab-", "lab2-")}) for n in site.nodes]
    second = site.model_copy(update={"name": "lab-edge-02", "nodes": nodes})
    plan = _plan(lab, lab.model_copy(update={"sites": [site, second]}))
    (wave,) = plan.waves
    (upgrade,) = wave.sites
    assert upgrade.site == "lab-edge-02" and not plan.blockers
    (phase,) = upgrade.phases
    assert [b.nodes[0].hostname for b in phase.batches] == [n.hostname for n in nodes]
    assert all(_actions(b.nodes[0]) == ["join", "verify"] for b in phase.batches)
    assert [(r.target, r.changes) for r in upgrade.rollouts] == [("workload robot-vision", ["added"])]


def test_plan_only_from_a_lock_file(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for blueprint, out in ((LAB, old), (DAY2 / "driver-branch.yaml", new)):
        assert run_aigrid("compile", str(blueprint), "--out", str(out)).returncode == 0
    lock = old / "aigrid.lock.json"
    proc = run_aigrid("upgrade", str(new), "--from", str(lock), "--plan-only", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    plan = UpgradePlan.model_validate(json.loads(proc.stdout))
    assert plan.old == str(lock) and plan.new == str(new)
    assert [n.hostname for b in plan.waves[0].sites[0].phases[0].batches for n in b.nodes] == [
        "lab-gpu01",
        "lab-gpu02",
        "lab-gpu03",
    ]
    text = run_aigrid("upgrade", str(new), "--from", str(lock), "--plan-only")
    assert text.returncode == 0
    assert (
        "lab-gpu01 (worker, node-reboot) [driver.version]: cordon, drain, apply, reboot, verify, uncordon"
        in (text.stdout)
    )
    # Running it changes nodes: never without a yes, and nothing is recorded.
    refused = run_aigrid("upgrade", str(new), "--from", str(lock))
    assert refused.returncode == 2
    assert "pass --yes to go on" in refused.stderr
    assert not (new / "upgrade").exists()
