"""`aigrid upgrade --plan-only` output: the plan as text, or as JSON for an executor."""

from __future__ import annotations

import json

from aigrid.day2.upgrade import NodeUpgrade, UpgradePlan


def render_json(plan: UpgradePlan) -> str:
    return json.dumps(plan.model_dump(mode="json"), indent=2) + "\n"


def _node_line(node: NodeUpgrade) -> str:
    steps = ", ".join(step.action for step in node.steps)
    changes = f" [{', '.join(node.changes)}]" if node.changes else ""
    return f"        {node.hostname} ({node.role}, {node.disruption}){changes}: {steps}"


def render_text(plan: UpgradePlan) -> str:
    lines = [f"upgrade plan {plan.old} -> {plan.new}, at most {plan.max_unavailable} node(s) down per site"]
    if plan.kubernetes:
        steps = [plan.running_kubernetes, *plan.kubernetes] if plan.running_kubernetes else plan.kubernetes
        lines.append(f"kubernetes: {' -> '.join(steps)} (one minor at a time, control planes first)")
    if not plan.waves:
        lines.append("nothing to do")
    for number, wave in enumerate(plan.waves, 1):
        lines.append(f"wave {number}: {', '.join(site.site for site in wave.sites)}")
        for site in wave.sites:
            lines.append(f"  site {site.site} ({site.disruption})")
            for phase in site.phases:
                lines.append(f"    {phase.title}")
                for index, batch in enumerate(phase.batches, 1):
                    lines.append(f"      batch {index}")
                    lines.extend(_node_line(node) for node in batch.nodes)
            for rollout in site.rollouts:
                lines.append(f"    roll out {rollout.target}: {', '.join(rollout.changes)}")
    lines.extend(f"warning: {warning}" for warning in plan.warnings)
    lines.extend(f"blocker: {blocker}" for blocker in plan.blockers)
    lines.extend(f"prerequisite: {prerequisite}" for prerequisite in plan.prerequisites)
    return "\n".join(lines) + "\n"
