"""The PodDisruptionBudget of a workload at one site: what a node drain may take from it.

Every workload's Deployment carries one, so `kubectl drain` (which evicts through the
eviction API, and so honours budgets) takes at most MAX_UNAVAILABLE replica of a workload at
a time at that site and waits for its replacement before the next. The upgrade plan
(aigrid.day2.upgrade) counts on this to keep each workload's floor.
"""

from __future__ import annotations

from typing import Any

# One replica at a time: with the upgrade plan's waves (at most one site per workload in
# maintenance at once) a workload keeps all but one of its SLO-meeting replicas.
# maxUnavailable rather than minAvailable: it follows the Deployment's replica count, and a
# single-replica workload can still be drained instead of blocking the drain for good.
MAX_UNAVAILABLE = 1
# Pods that never became Ready (crash loops, a bad model) may be evicted whatever the budget
# says, so they cannot hold a drain forever (policy/v1 PodDisruptionBudgetSpec,
# unhealthyPodEvictionPolicy; Kubernetes docs, "Specifying a Disruption Budget", which
# recommends AlwaysAllow for drains).
UNHEALTHY_POD_EVICTION = "AlwaysAllow"


def pod_disruption_budget(metadata: dict[str, Any], selector: dict[str, str]) -> dict[str, Any]:
    """The budget over the pods `selector` matches, named and labelled like its Deployment."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata,
        "spec": {
            "maxUnavailable": MAX_UNAVAILABLE,
            "selector": {"matchLabels": dict(selector)},
            "unhealthyPodEvictionPolicy": UNHEALTHY_POD_EVICTION,
        },
    }
