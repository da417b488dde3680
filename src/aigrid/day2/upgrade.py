"""The upgrade plan from one revision to the next: waves of sites, per site phases of node
batches, per node its steps. Data an executor runs in order (a wave's sites side by side, a
site's batches one after the other, stopping at the first node that fails); this module only
plans.

The order follows Kubernetes "Upgrading kubeadm clusters" and "Version Skew Policy": one minor
at a time, the first control plane (`kubeadm upgrade apply`), then the other control planes
(`kubeadm upgrade node`), then the workers; a kubelet is never newer than an API server, and
at most three minors older (skew_violations checks every step of the plan).

Every workload keeps its floor, all but one of its SLO-meeting replicas: the sites of one wave
share no workload, the workloads' PodDisruptionBudgets let a drain take one replica at a time
(aigrid.render.disruption_budget), and a batch is only drained when the rest of its site can
still hold each workload's other replicas.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict

from aigrid.day2.compare import Change, highest
from aigrid.day2.disruption import Disruption
from aigrid.day2.state import GridState, NodeState, SiteState, WorkloadState
from aigrid.render.disruption_budget import MAX_UNAVAILABLE

Action = Literal[
    "kubeadm-upgrade",
    "cordon",
    "drain",
    "kubelet-upgrade",
    "apply",
    "join",
    "reboot",
    "verify",
    "uncordon",
    "remove",
]
# kubelet may be up to three minors older than the API server, never newer (since 1.28; Version
# Skew Policy); API servers of one cluster within one minor of each other.
KUBELET_MAX_SKEW = 3
APISERVER_MAX_SKEW = 1


class _Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Step(_Plan):
    action: Action
    detail: str


class NodeUpgrade(_Plan):
    hostname: str
    role: str
    disruption: str
    # The node's changed facts applied at this point (paths as `aigrid diff` names them).
    changes: list[str]
    # Kubernetes version the node's kubelet runs after this point; None: unchanged.
    kubernetes: str | None
    steps: list[Step]


class Batch(_Plan):
    nodes: list[NodeUpgrade]


class Phase(_Plan):
    kind: Literal["kubernetes", "nodes", "site-wide"]
    title: str
    batches: list[Batch]


class Rollout(_Plan):
    """Applied with the site's objects (pulumi up, or the GitOps sync) once its nodes are done."""

    target: str
    changes: list[str]


class SiteUpgrade(_Plan):
    site: str
    disruption: str
    phases: list[Phase]
    rollouts: list[Rollout]


class Wave(_Plan):
    sites: list[SiteUpgrade]


class UpgradePlan(_Plan):
    old: str
    new: str
    max_unavailable: int
    # The Kubernetes version every node runs now, when they all run one.
    running_kubernetes: str | None
    # The Kubernetes versions the clusters step through, in order; empty when unchanged.
    kubernetes: list[str]
    waves: list[Wave]
    warnings: list[str]
    # What makes the plan unsafe to run as it is; an executor refuses a plan with blockers.
    blockers: list[str]
    # What must be done before the plan can run as a whole, with other revisions or commands
    # (aigrid upgrade refuses to start until it is).
    prerequisites: list[str]

    def nodes(self) -> list[NodeUpgrade]:
        return [
            node
            for wave in self.waves
            for site in wave.sites
            for phase in site.phases
            for batch in phase.batches
            for node in batch.nodes
        ]


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def kubernetes_hops(old: str, new: str) -> list[str]:
    """1.34.9 -> 1.36.2: ["1.35", "1.36.2"], each minor in turn (an intermediate minor at its
    newest patch), ending on the exact version; [] when nothing changes. ValueError for a
    downgrade, which kubeadm does not do."""
    if old == new:
        return []
    (old_major, old_minor), (new_major, new_minor) = _minor(old), _minor(new)
    if (
        old_major != new_major
        or new_minor < old_minor
        or (new_minor == old_minor and _patch(new) < _patch(old))
    ):
        raise ValueError(f"Kubernetes {old} -> {new} is a downgrade or a major change; kubeadm only upgrades")
    return [f"{new_major}.{minor}" for minor in range(old_minor + 1, new_minor)] + [new]


def _patch(version: str) -> int:
    parts = version.split(".")
    return int(parts[2]) if len(parts) > 2 else 0


def _gpu_units(node: NodeState) -> Counter[str]:
    """What the node offers the scheduler: whole GPUs, or MIG devices by profile."""
    if node.gpu_model is None:
        return Counter()
    if node.mig_layout:
        return Counter({f"mig:{p}": n * node.gpu_count for p, n in node.mig_layout.items()})
    if node.mig_config:
        return Counter()
    return Counter({"gpu": node.gpu_count})


def _request(workload: WorkloadState) -> tuple[str, int]:
    if workload.mig_profile:
        return f"mig:{workload.mig_profile}", 1
    return "gpu", workload.gpu_count or 1


def _holds(node: NodeState, workload: WorkloadState) -> int:
    """Replicas of `workload` the node could hold on its own."""
    unit, amount = _request(workload)
    return _gpu_units(node)[unit] // amount


def _floor(workload: WorkloadState) -> int:
    return max(workload.replicas - MAX_UNAVAILABLE, 0)


def short_of_floor(remaining: list[NodeState], workloads: dict[str, WorkloadState]) -> list[str]:
    """The workloads whose all-but-MAX_UNAVAILABLE replicas `remaining` cannot hold, each on
    its own or together with the others asking for the same GPUs or MIG profile."""
    units: Counter[str] = Counter()
    for node in remaining:
        units += _gpu_units(node)
    short = {name for name, w in workloads.items() if sum(_holds(n, w) for n in remaining) < _floor(w)}
    needed: Counter[str] = Counter()
    for workload in workloads.values():
        unit, amount = _request(workload)
        needed[unit] += _floor(workload) * amount
    for name, workload in workloads.items():
        unit, _ = _request(workload)
        if units[unit] < needed[unit] and _floor(workload):
            short.add(name)
    return sorted(short)


class _SitePlanner:
    def __init__(
        self,
        old: SiteState,
        new: SiteState,
        changes: list[Change],
        hops: list[str],
        max_unavailable: int,
        directory: str,
    ) -> None:
        self.old, self.new, self.directory = old, new, directory
        self.hops, self.max_unavailable = hops, max_unavailable
        self.by_node: dict[str, list[Change]] = {}
        for change in changes:
            if change.scope == "node" and change.target:
                self.by_node.setdefault(change.target, []).append(change)
        self.site_wide = any(change.disruption is Disruption.SITE_WIDE for change in changes)
        self.changes = changes
        self.blockers: list[str] = []
        # Nodes already through a batch of the phase that applies their changes run the new
        # revision's GPUs and MIG layout; in an earlier Kubernetes step they keep the old ones.
        self.done: set[str] = set()
        self.applying = False

    def _state(self, hostname: str) -> NodeState | None:
        if hostname in self.done and self.applying:
            return self.new.node(hostname)
        return self.old.node(hostname)

    def _steps(self, node: NodeState, hop: str | None, last_hop: bool) -> NodeUpgrade:
        """A node that was there before: `hop` is the Kubernetes version this phase brings
        it to (None: unchanged); its other changes are applied on the last pass over it."""
        changes = self.by_node.get(node.hostname, []) if last_hop else []
        applied = [c for c in changes if c.path != "kubernetes"]
        node_class = highest(applied)
        # "Upgrading kubeadm clusters": kubeadm and `kubeadm upgrade apply|node` first, then
        # the drain, then the kubelet and kubectl ("Upgrade kubelet and kubectl"), a patch
        # release's too. `kubeadm upgrade apply` on a cordoned control plane fails its
        # CreateJob check where every other node is tainted (kubernetes/kubeadm#3050).
        drains = hop is not None or node_class >= Disruption.NODE_DRAIN
        steps: list[Step] = []
        if hop is not None:
            steps.append(Step(action="kubeadm-upgrade", detail=self._kubeadm(node, hop)))
        if drains:
            steps += [
                Step(action="cordon", detail=f"kubectl cordon {node.hostname}"),
                Step(
                    action="drain",
                    detail=f"kubectl drain {node.hostname} --ignore-daemonsets --delete-emptydir-data "
                    "(evictions honour the PodDisruptionBudgets)",
                ),
            ]
        if hop is not None:
            steps.append(
                Step(action="kubelet-upgrade", detail=f"kubelet and kubectl {hop}, kubelet restarted")
            )
        if applied:
            paths = ", ".join(sorted({c.path for c in applied}))
            steps.append(
                Step(
                    action="apply", detail=f"aigrid bringup {self.directory} --limit {node.hostname}: {paths}"
                )
            )
        # Only a change that needs one reboots: a site-wide window drains, it does not reboot.
        if any(change.disruption is Disruption.NODE_REBOOT for change in applied):
            steps.append(Step(action="reboot", detail="reboot, then wait for the node to be Ready"))
        steps.append(
            Step(
                action="verify",
                detail=f"aigrid verify {self.directory} --site {self.new.name} (this node's checks)",
            )
        )
        if drains:
            steps.append(Step(action="uncordon", detail=f"kubectl uncordon {node.hostname}"))
        return NodeUpgrade(
            hostname=node.hostname,
            role=node.role,
            disruption=max(node_class, Disruption.CONTROL_PLANE_FIRST if hop else Disruption.NONE).label,
            changes=sorted({c.path for c in applied}) + ([f"kubernetes {hop}"] if hop else []),
            kubernetes=hop,
            steps=steps,
        )

    def _join(self, node: NodeState) -> NodeUpgrade:
        return NodeUpgrade(
            hostname=node.hostname,
            role=node.role,
            disruption=highest(self.by_node.get(node.hostname, [])).label,
            changes=["(added)"],
            kubernetes=node.kubernetes,
            steps=[
                Step(
                    action="join",
                    detail=f"aigrid bringup {self.directory} --limit {node.hostname}: install and join",
                ),
                Step(
                    action="verify",
                    detail=f"aigrid verify {self.directory} --site {self.new.name} (this node's checks)",
                ),
            ],
        )

    def _kubeadm(self, node: NodeState, hop: str) -> str:
        version = hop if hop.count(".") == 2 else f"{hop} (its newest patch release)"
        first = next((n.hostname for n in self.new.nodes if n.role == "control-plane"), None)
        if node.hostname == first:
            return f"kubeadm {hop}, then kubeadm upgrade apply v{version}"
        return f"kubeadm {hop}, then kubeadm upgrade node"

    def _drains(self, upgrade: NodeUpgrade) -> bool:
        return any(step.action == "drain" for step in upgrade.steps)

    def _batches(self, upgrades: list[NodeUpgrade]) -> list[Batch]:
        """Control planes one at a time, first; workers in batches of up to max_unavailable
        that leave the site able to hold every workload's floor."""
        batches: list[Batch] = []
        control = [u for u in upgrades if u.role == "control-plane"]
        for upgrade in control:
            if not self._safe([upgrade]):
                self._block(upgrade)
            batches.append(Batch(nodes=[upgrade]))
            self.done.add(upgrade.hostname)
        current: list[NodeUpgrade] = []
        for upgrade in (u for u in upgrades if u.role != "control-plane"):
            if current and (len(current) >= self.max_unavailable or not self._safe([*current, upgrade])):
                batches.append(Batch(nodes=current))
                self.done.update(u.hostname for u in current)
                current = []
            if not current and not self._safe([upgrade]):
                self._block(upgrade)
            current.append(upgrade)
        if current:
            batches.append(Batch(nodes=current))
            self.done.update(u.hostname for u in current)
        return batches

    def _block(self, upgrade: NodeUpgrade) -> None:
        names = ", ".join(self._short([upgrade]))
        self.blockers.append(
            f"site {self.new.name}: draining {upgrade.hostname} leaves no room for all but one replica of "
            f"{names} there; add GPUs at the site or lower the replicas first"
        )

    def _short(self, batch: list[NodeUpgrade]) -> list[str]:
        out = {u.hostname for u in batch if self._drains(u)}
        if not out:
            return []
        remaining = [
            state
            for node in self.old.nodes
            if node.hostname not in out and (state := self._state(node.hostname)) is not None
        ]
        return short_of_floor(remaining, self.old.workloads)

    def _safe(self, batch: list[NodeUpgrade]) -> bool:
        return not self._short(batch)

    def plan(self) -> SiteUpgrade:
        phases: list[Phase] = []
        staying = [n for n in self.new.nodes if self.old.node(n.hostname) is not None]
        changed = [n for n in staying if n.hostname in self.by_node]
        for index, hop in enumerate(self.hops):
            last = index == len(self.hops) - 1 and not self.site_wide
            self.done, self.applying = set(), last
            upgrades = [self._steps(node, hop, last) for node in staying]
            phases.append(
                Phase(kind="kubernetes", title=f"Kubernetes {hop}", batches=self._batches(upgrades))
            )
        if self.site_wide and changed:
            upgrades = [self._steps(node, None, True) for node in changed]
            phases.append(Phase(kind="site-wide", title="site-wide window", batches=[Batch(nodes=upgrades)]))
        elif not self.hops and changed:
            self.done, self.applying = set(), True
            upgrades = [self._steps(node, None, True) for node in changed]
            phases.append(Phase(kind="nodes", title="nodes", batches=self._batches(upgrades)))
        joining = [self._join(n) for n in self.new.nodes if self.old.node(n.hostname) is None]
        if joining:
            phases.append(Phase(kind="nodes", title="new nodes", batches=[Batch(nodes=[n]) for n in joining]))
        leaving = [n.hostname for n in self.old.nodes if self.new.node(n.hostname) is None]
        if leaving:
            removals = [Batch(nodes=[self._removal(h, self.by_node[h])]) for h in leaving]
            phases.append(Phase(kind="nodes", title="nodes leaving", batches=removals))
        return SiteUpgrade(
            site=self.new.name,
            disruption=highest(self.changes).label,
            phases=phases,
            rollouts=self._rollouts(),
        )

    def _removal(self, hostname: str, changes: list[Change]) -> NodeUpgrade:
        node = self.old.node(hostname)
        assert node is not None
        return NodeUpgrade(
            hostname=hostname,
            role=node.role,
            disruption=highest(changes).label,
            changes=["(removed)"],
            kubernetes=None,
            steps=[
                Step(action="cordon", detail=f"kubectl cordon {hostname}"),
                Step(
                    action="drain",
                    detail=f"kubectl drain {hostname} --ignore-daemonsets --delete-emptydir-data",
                ),
                Step(
                    action="remove",
                    detail=f"kubeadm reset on {hostname}, then kubectl delete node {hostname}",
                ),
            ],
        )

    def _rollouts(self) -> list[Rollout]:
        by_target: dict[str, list[str]] = {}
        if not self.old.nodes:
            # A new site: its one change is the site itself; everything placed there starts.
            for name in self.new.workloads:
                by_target[f"workload {name}"] = ["added"]
        for change in self.changes:
            if change.scope == "workload" and change.target:
                what = change.path or ("added" if change.old is None else "removed")
                by_target.setdefault(f"workload {change.target}", []).append(what)
            elif change.scope == "site" and change.disruption is Disruption.ROLLING_RESTART:
                by_target.setdefault(change.path, []).append(f"{change.old} -> {change.new}")
        return [Rollout(target=target, changes=sorted(set(what))) for target, what in by_target.items()]


def _waves(sites: list[SiteState], old: GridState) -> list[list[SiteState]]:
    """Sites that share no workload go side by side; the others wait for a later wave."""
    waves: list[tuple[list[SiteState], set[str]]] = []
    for site in sites:
        before = old.site(site.name)
        names = set(site.workloads) | set(before.workloads if before else ())
        for members, used in waves:
            if not names & used:
                members.append(site)
                used.update(names)
                break
        else:
            waves.append(([site], names))
    return [members for members, _ in waves]


def _warnings(old: GridState, plans: list[SiteUpgrade]) -> list[str]:
    warnings = []
    total: Counter[str] = Counter()
    for each in old.sites:
        for name, workload in each.workloads.items():
            total[name] += workload.replicas
    for plan in plans:
        site = old.site(plan.site)
        if site is None:
            continue
        drained = any(
            step.action == "drain"
            for phase in plan.phases
            for batch in phase.batches
            for node in batch.nodes
            for step in node.steps
        )
        window = any(phase.kind == "site-wide" for phase in plan.phases)
        for name, workload in sorted(site.workloads.items()):
            if window:
                warnings.append(
                    f"site {plan.site}: its {workload.replicas} replica(s) of {name} are down during the "
                    f"site-wide window ({total[name] - workload.replicas} elsewhere)"
                )
            elif drained and total[name] == 1:
                warnings.append(
                    f"site {plan.site}: {name} has a single replica: it is down while its node drains"
                )
    return warnings


def plan_upgrade(
    old: GridState, new: GridState, changes: list[Change], old_name: str, new_name: str, max_unavailable: int
) -> UpgradePlan:
    """`new_name` is the new revision's compiled directory, which the steps run from."""
    blockers: list[str] = []
    versions_old = {node.kubernetes for site in old.sites for node in site.nodes}
    versions_new = {node.kubernetes for site in new.sites for node in site.nodes}
    hops: list[str] = []
    running = next(iter(versions_old)) if len(versions_old) == 1 else None
    if running is not None and len(versions_new) == 1:
        try:
            hops = kubernetes_hops(running, next(iter(versions_new)))
        except ValueError as exc:
            blockers.append(str(exc))
    touched = [site for site in new.sites if any(change.site == site.name for change in changes)]
    site_plans: dict[str, SiteUpgrade] = {}
    for site in touched:
        # A new site is planned as the same site with nothing on it yet: every node joins.
        before = old.site(site.name) or site.model_copy(update={"nodes": [], "workloads": {}})
        here = [c for c in changes if c.site == site.name]
        planner = _SitePlanner(before, site, here, hops, max_unavailable, new_name)
        site_plans[site.name] = planner.plan()
        blockers += planner.blockers
    for change in changes:
        if change.scope == "site" and not change.path and change.new is None:
            blockers.append(f"site {change.site} leaves the grid: tear it down first (not an upgrade step)")
    waves = [Wave(sites=[site_plans[s.name] for s in members]) for members in _waves(touched, old)]
    plan = UpgradePlan(
        old=old_name,
        new=new_name,
        max_unavailable=max_unavailable,
        running_kubernetes=running,
        kubernetes=hops,
        waves=waves,
        warnings=_warnings(old, list(site_plans.values())),
        blockers=blockers,
        prerequisites=[],
    )
    return plan.model_copy(
        update={"blockers": blockers + skew_violations(plan, old), "prerequisites": _prerequisites(plan)}
    )


def _prerequisites(plan: UpgradePlan) -> list[str]:
    problems = []
    # The compiled revision holds one Kubernetes version, and the repository of its minor only:
    # the minors in between need revisions of their own.
    if len(plan.kubernetes) > 1:
        problems.append(
            f"Kubernetes moves {plan.running_kubernetes} -> {plan.kubernetes[-1]}, more than one minor, "
            "which kubeadm does one minor at a time: compile and upgrade to a revision at each minor "
            f"in turn ({plan.kubernetes[0]} first)"
        )
    leaving = sorted(node.hostname for node in plan.nodes() if any(s.action == "remove" for s in node.steps))
    if leaving:
        problems.append(
            f"{', '.join(leaving)} leave the grid: remove them first with aigrid teardown on the running "
            "revision's directory (--limit), then upgrade"
        )
    return problems


def skew_violations(plan: UpgradePlan, old: GridState) -> list[str]:
    """Walk the plan batch by batch and report every point where a node skips a minor, a
    kubelet would be newer than an API server of its cluster or more than KUBELET_MAX_SKEW
    minors older, or the cluster's API servers are more than APISERVER_MAX_SKEW apart. An
    executor runs the plan only when this is empty."""
    problems = []
    for wave in plan.waves:
        for site_plan in wave.sites:
            site = old.site(site_plan.site)
            nodes = site.nodes if site else []
            kubelet = {node.hostname: _minor(node.kubernetes) for node in nodes}
            apiserver = {
                node.hostname: kubelet[node.hostname] for node in nodes if node.role == "control-plane"
            }
            for phase in site_plan.phases:
                for number, batch in enumerate(phase.batches, 1):
                    for upgrade in batch.nodes:
                        if upgrade.kubernetes is None:
                            continue
                        before, after = kubelet.get(upgrade.hostname), _minor(upgrade.kubernetes)
                        if before is not None and after[1] - before[1] > 1:
                            problems.append(
                                f"site {site_plan.site}, {phase.title}: {upgrade.hostname} goes from "
                                f"1.{before[1]} to 1.{after[1]}, skipping a minor (kubeadm upgrades one "
                                "at a time)"
                            )
                        kubelet[upgrade.hostname] = after
                        if upgrade.role == "control-plane":
                            apiserver[upgrade.hostname] = _minor(upgrade.kubernetes)
                    problem = _skew(apiserver, kubelet)
                    if problem:
                        problems.append(f"site {site_plan.site}, {phase.title}, batch {number}: {problem}")
    return problems


def _skew(apiserver: dict[str, tuple[int, int]], kubelet: dict[str, tuple[int, int]]) -> str | None:
    if not apiserver:
        return None
    oldest, newest = min(apiserver.values()), max(apiserver.values())
    if newest[1] - oldest[1] > APISERVER_MAX_SKEW:
        return f"API servers {oldest[1]} and {newest[1]} minors apart by more than {APISERVER_MAX_SKEW}"
    for hostname, version in sorted(kubelet.items()):
        if version > oldest:
            return f"kubelet on {hostname} (1.{version[1]}) is newer than an API server (1.{oldest[1]})"
        if oldest[1] - version[1] > KUBELET_MAX_SKEW:
            return f"kubelet on {hostname} (1.{version[1]}) is more than {KUBELET_MAX_SKEW} minors older"
    return None
