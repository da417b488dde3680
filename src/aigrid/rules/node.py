"""Node rules (AG5xx): what `aigrid verify-node` finds when a node's observed GPU facts contradict its
blueprint, and what `aigrid drift` finds when a node no longer runs what bring-up configured.
These codes have no blueprint check: `aigrid.facts.verify` and `aigrid.day2.drift` raise them
from what a node reports; they are registered here so they are documented like every other code.
"""

from __future__ import annotations

from aigrid.rules.codes import Code
from aigrid.rules.registry import Rule, register

NODE = "sites:\n  - nodes:\n      - hostname: gpu01\n        gpus: "
SLICE = "slices:\n  - {name: urllc, "

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
    Rule(
        Code.NODE_PACKAGE_VERSION,
        "A pinned package is missing or at another version",
        "stack:\n  kubernetes: {version: 1.34.9}\n# aigrid drift: the node runs kubelet 1.34.7-1.1",
        "stack:\n  kubernetes: {version: 1.34.9}\n# the node runs kubelet 1.34.9-1.1",
        explanation="aigrid drift reads dpkg's installed version of every package the roles pin; a "
        "manual upgrade, a downgrade or a removed package shows here with the field that pins it.",
    ),
    Rule(
        Code.NODE_PACKAGE_NOT_HELD,
        "A pinned package is no longer held",
        "stack:\n  driver: {version: 580.126.20}\n# dpkg: nvidia-open is ii, not hi (held)",
        "stack:\n  driver: {version: 580.126.20}\n# dpkg: nvidia-open is hi (held)",
        explanation="Bring-up holds what it pins (apt-mark hold), so an unattended upgrade cannot move "
        "it; without the hold the next apt upgrade may.",
    ),
    Rule(
        Code.NODE_CONTAINERD_CONFIG,
        "containerd's configuration is missing or of another version",
        "stack:\n  containerRuntime: {name: containerd, version: 2.3.1}\n# config.toml says version = 2",
        "stack:\n  containerRuntime: {name: containerd, version: 2.3.1}\n# config.toml says version = 3",
        explanation="containerd 2.x reads configuration version 3; a file written by hand for 1.x "
        "(version 2) is migrated at every start and drops aigrid's runtime settings.",
    ),
    Rule(
        Code.NODE_LABELS,
        "The kubelet no longer registers the node's labels",
        NODE + "{model: L4, count: 2}\n# /etc/default/kubelet lacks aigrid.dev/gpu-model=L4",
        NODE + "{model: L4, count: 2}\n# /etc/default/kubelet has aigrid.dev/gpu-model=L4",
        explanation="Placement selects nodes by these labels; a kubelet started without them takes "
        "no workload aigrid placed on it.",
    ),
    Rule(
        Code.NODE_SLICE_ADDRESS,
        "The node lacks its address on a slice",
        SLICE + "vlan: 210, ipv6: 2001:db8:ed:210::/64}\n# no 2001:db8:ed:210::b on the node",
        SLICE + "vlan: 210, ipv6: 2001:db8:ed:210::/64}\n# 2001:db8:ed:210::b/64 on vlan210",
        explanation="The plan gives each node host number 10 + its position on every slice its site "
        "carries; without it the node's pods on that slice lose their gateway checks and peers.",
    ),
    Rule(
        Code.NODE_SLICE_SHAPING,
        "A slice's shaping class is missing or at other bitrates",
        SLICE + "bitrate: {guaranteed: 10Mbps, maximum: 20Mbps}}\n# class 1:101 rate 5Mbit ceil 20Mbit",
        SLICE + "bitrate: {guaranteed: 10Mbps, maximum: 20Mbps}}\n# class 1:101 rate 10Mbit ceil 20Mbit",
        explanation="Each slice has a tc htb class on the interface the slices share, at its guaranteed "
        "(rate) and maximum (ceil) bitrate; another value breaks the slice's guarantee or its cap.",
    ),
    Rule(
        Code.NODE_SLICE_MARKING,
        "A slice's traffic is no longer marked with its DSCP",
        SLICE + "5qi: 82}\n# nft: no rule sets dscp 0x2e",
        SLICE + "5qi: 82}\n# nft: the slice's egress sets dscp 0x2e",
        explanation="The nftables netdev table aigrid_slices sets each slice's DSCP (and shaping class) "
        "at the egress its traffic leaves by; without it the transport network cannot tell the slice.",
    ),
):
    register(_rule)
