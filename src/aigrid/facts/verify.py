"""Compare a node's gathered facts with what the blueprint declares for it.

Every mismatch carries a stable code, the blueprint path it contradicts and the value
observed on the node. The codes (AG5xx) are registered and documented with the rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from aigrid.catalog import Catalog, version
from aigrid.diagnostics import Code, Severity
from aigrid.facts.model import NodeFacts
from aigrid.model.blueprint import Blueprint, Node
from aigrid.placement import mig_layout

# Memory a GPU reports is a little under its marketing size (81559 MiB on an "80GB"
# H100); a different SKU is off by far more than this.
MEMORY_TOLERANCE = 0.10


@dataclass(frozen=True)
class Mismatch:
    code: Code
    message: str
    path: str
    observed: Any

    @property
    def severity(self) -> Severity:
        return self.code.severity

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["code"] = self.code.value
        data["severity"] = self.severity.value
        return data


def find_node(blueprint: Blueprint, hostname: str) -> tuple[str, int, Node] | None:
    for site in blueprint.sites:
        for index, node in enumerate(site.nodes):
            if node.hostname == hostname:
                return site.name, index, node
    return None


def verify_node(blueprint: Blueprint, hostname: str, facts: NodeFacts, cat: Catalog) -> list[Mismatch]:
    found = find_node(blueprint, hostname)
    if found is None:
        raise KeyError(hostname)
    site, _, node = found
    base = f"sites[{site}].nodes[{hostname}]"
    out: list[Mismatch] = []

    def report(code: Code, message: str, path: str, observed: Any) -> None:
        out.append(Mismatch(code, message, path, observed))

    declared = node.gpus
    if declared is None:
        if facts.gpus:
            report(
                Code.NODE_UNDECLARED_GPUS,
                f"{len(facts.gpus)} GPU(s) present but {base} declares none",
                f"{base}.gpus",
                [gpu.name for gpu in facts.gpus],
            )
        return out
    models = sorted({gpu.catalog_model or gpu.name for gpu in facts.gpus})
    if models and models != [declared.model]:
        report(
            Code.NODE_GPU_MODEL,
            f"node has {', '.join(models)}; the blueprint declares {declared.model}",
            f"{base}.gpus.model",
            models,
        )
    if len(facts.gpus) != declared.count:
        report(
            Code.NODE_GPU_COUNT,
            f"node has {len(facts.gpus)} GPU(s); the blueprint declares {declared.count}",
            f"{base}.gpus.count",
            len(facts.gpus),
        )
    model = cat.gpus.get(declared.model)
    if model is not None:
        expected = model.memory_gib * 1024
        for gpu in facts.gpus:
            if gpu.memory_mib is not None and abs(gpu.memory_mib - expected) > expected * MEMORY_TOLERANCE:
                report(
                    Code.NODE_GPU_MEMORY,
                    f"GPU {gpu.index} has {gpu.memory_mib} MiB; {declared.model} has {model.memory_gib} GiB",
                    f"{base}.gpus.model",
                    gpu.memory_mib,
                )
    _check_driver(blueprint, facts, cat, report)
    wanted = blueprint.stack.driver.kernel_modules
    if facts.kernel_modules is not None and facts.kernel_modules != wanted:
        report(
            Code.NODE_KERNEL_MODULES,
            f"the {facts.kernel_modules} kernel module is loaded; the blueprint pins {wanted}",
            "stack.driver.kernelModules",
            facts.kernel_modules,
        )
    _check_mig(
        declared.model,
        declared.mig.layout if declared.mig else None,
        declared.mig.profiles if declared.mig else None,
        facts,
        cat,
        f"{base}.gpus.mig",
        report,
    )
    return out


def check_driver_pin(running: str | None, pin: str, report: Any) -> None:
    """AG504/AG509 when the driver a node runs is older or newer than the blueprint's pin."""
    observed, pinned = version(running or ""), version(pin)
    if observed is None or pinned is None:
        return
    if observed < pinned:
        report(
            Code.NODE_DRIVER_BELOW_PIN,
            f"driver {running} is older than the pinned {pin}",
            "stack.driver.version",
            running,
        )
    elif observed > pinned:
        report(
            Code.NODE_DRIVER_ABOVE_PIN,
            f"driver {running} is newer than the pinned {pin}",
            "stack.driver.version",
            running,
        )


def _check_driver(blueprint: Blueprint, facts: NodeFacts, cat: Catalog, report: Any) -> None:
    check_driver_pin(facts.driver_version, blueprint.stack.driver.version, report)
    observed = version(facts.driver_version or "")
    if observed is None:
        return
    toolkit = cat.cuda_toolkit(blueprint.stack.cuda.version)
    minimum = version(toolkit.min_driver) if toolkit else None
    if toolkit is not None and minimum is not None and observed < minimum:
        report(
            Code.NODE_DRIVER_BELOW_CUDA_MINIMUM,
            f"driver {facts.driver_version} is older than {toolkit.minimum}, the minimum for CUDA "
            f"{blueprint.stack.cuda.version}",
            "stack.cuda.version",
            facts.driver_version,
        )


def _check_mig(
    model: str,
    layout_name: str | None,
    profiles: dict[str, int] | None,
    facts: NodeFacts,
    cat: Catalog,
    path: str,
    report: Any,
) -> None:
    wants_mig = layout_name is not None or profiles is not None
    layout = mig_layout(model, layout_name, profiles, cat) if wants_mig else None
    for gpu in facts.gpus:
        if gpu.mig_mode is None:
            continue
        if wants_mig and gpu.mig_mode != "enabled":
            pending = " (enabled after a reset)" if gpu.mig_pending == "enabled" else ""
            report(
                Code.NODE_MIG_MODE,
                f"GPU {gpu.index} has MIG {gpu.mig_mode}{pending}; the blueprint declares a MIG layout",
                path,
                gpu.mig_mode,
            )
        elif not wants_mig and gpu.mig_mode == "enabled":
            report(
                Code.NODE_MIG_MODE,
                f"GPU {gpu.index} has MIG enabled; the blueprint declares whole GPUs",
                path,
                "enabled",
            )
        if layout and gpu.mig_profiles:
            missing = {name: count for name, count in layout.items() if gpu.mig_profiles.get(name, 0) < count}
            if missing:
                offered = ", ".join(f"{name} x{total}" for name, total in gpu.mig_profiles.items())
                report(
                    Code.NODE_MIG_PROFILES,
                    f"GPU {gpu.index} cannot realise {', '.join(f'{n} x{c}' for n, c in missing.items())}; "
                    f"it offers {offered}",
                    path,
                    gpu.mig_profiles,
                )
