"""Node rules (AG5xx): what `aigrid verify-node` finds when a node's observed GPU facts contradict its
blueprint. These codes have no blueprint check: `aigrid.facts.verify` raises them from the
facts a node reports; they are registered here so they are documented like every other code.
"""

from __future__ import annotations

from aigrid.rules.codes import Code
from aigrid.rules.registry import Rule, register

NODE = "sites:\n  - nodes:\n      - hostname: gpu01\n        gpus: "

for _rule in (
    Rule(
        Code.NODE_GPU_MODEL,
        "GPU model differs from the blueprint",
        NODE + "{model: A100-80GB, count: 8}\n# the node reports H100 80GB HBM3 (PCI id 2330)",
        NODE + "{model: H100-SXM-80GB, count: 8}",
        explanation="Each GPU is mapped to the catalog by PCI device id, falling back to its product name; "
        "a node whose GPUs map to another model than the one declared has other hardware than planned.",
    ),
    Rule(
        Code.NODE_GPU_COUNT,
        "GPU count differs from the blueprint",
        NODE + "{model: H100-SXM-80GB, count: 8}\n# nvidia-smi lists 7 GPUs",
        NODE + "{model: H100-SXM-80GB, count: 8}\n# nvidia-smi lists 8 GPUs",
        explanation="Fewer GPUs than declared usually means a GPU fell off the bus (XID 79) or is "
        "disabled; more means the blueprint undercounts the node.",
    ),
    Rule(
        Code.NODE_GPU_MEMORY,
        "GPU memory does not match the declared model",
        NODE + "{model: H100-SXM-80GB, count: 1}\n# the GPU reports 97871 MiB",
        NODE + "{model: H100-NVL-94GB, count: 1}",
        explanation="A GPU reports a little less memory than its marketing size; more than 10% off "
        "means another SKU of the same family.",
    ),
    Rule(
        Code.NODE_DRIVER_BELOW_PIN,
        "Driver is older than the blueprint pins",
        "stack:\n  driver: {version: 580.126.20}\n# the node runs 580.95.05",
        "stack:\n  driver: {version: 580.95.05}",
        explanation="The node runs an older driver than the blueprint pins; bring-up has not run "
        "or the upgrade did not take (a reboot pending).",
    ),
    Rule(
        Code.NODE_DRIVER_BELOW_CUDA_MINIMUM,
        "Driver is older than the CUDA version's minimum",
        "stack:\n  cuda: {version: '13.0'}\n# the node runs driver 570.172.08",
        "stack:\n  cuda: {version: '12.8'}",
        explanation="CUDA applications built for the pinned toolkit will not start on this driver.",
    ),
    Rule(
        Code.NODE_KERNEL_MODULES,
        "Kernel module flavour differs from the blueprint",
        "stack:\n  driver: {kernelModules: proprietary}\n# the node's module says Open Kernel Module",
        "stack:\n  driver: {kernelModules: open}",
        explanation="The loaded module flavour (open or proprietary) is read from "
        "/proc/driver/nvidia/version.",
    ),
    Rule(
        Code.NODE_MIG_MODE,
        "MIG mode does not match the declared layout",
        NODE + "{model: H100-SXM-80GB, count: 1, mig: {layout: all-1g.10gb}}\n# MIG is disabled",
        NODE + "{model: H100-SXM-80GB, count: 1}",
        explanation="MIG is disabled where the blueprint declares a MIG layout (or enabled where it "
        "declares whole GPUs); a pending mode change is reported as enabled after a reset.",
    ),
    Rule(
        Code.NODE_MIG_PROFILES,
        "The GPU's MIG profiles cannot realise the declared layout",
        NODE + "{model: H100-SXM-80GB, count: 1, mig: {profiles: {1g.10gb: 8}}}\n# the GPU offers 1g.10gb x7",
        NODE + "{model: H100-SXM-80GB, count: 1, mig: {profiles: {1g.10gb: 7}}}",
        explanation="Compared with the GPU instance profiles the GPU itself offers (nvidia-smi mig -lgip).",
    ),
    Rule(
        Code.NODE_DRIVER_ABOVE_PIN,
        "Driver is newer than the blueprint pins",
        "stack:\n  driver: {version: 580.95.05}\n# the node runs 580.126.20",
        "stack:\n  driver: {version: 580.126.20}",
        explanation="Usually harmless within a branch, but the grid is no longer the same everywhere; "
        "pin the version the fleet runs.",
    ),
    Rule(
        Code.NODE_UNDECLARED_GPUS,
        "The node has GPUs the blueprint does not declare",
        "sites:\n  - nodes:\n      - hostname: cp01\n# the node reports an L4",
        NODE + "{model: L4, count: 1}",
        explanation="A node declared without GPUs has some: declare them, or the node is not the one "
        "the blueprint means.",
    ),
):
    register(_rule)
