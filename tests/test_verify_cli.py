"""`aigrid verify` as an operator calls it: relative paths, a site filter, a JUnit report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import BLUEPRINTS, run_aigrid


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    proc = run_aigrid("compile", str(BLUEPRINTS / "examples/gpu-node-h100.yaml"), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    # This machine stands in for the node: reach it locally, with this Python.
    (tmp_path / "local.yml").write_text(
        "all:\n  hosts:\n    h100-node-01:\n"
        f"      ansible_connection: local\n      ansible_python_interpreter: {sys.executable}\n"
    )
    return tmp_path


def test_relative_paths_run_the_suite_and_report_the_node(compiled: Path) -> None:
    proc = run_aigrid("verify", "out", "-i", "local.yml", "--junit", "report.xml", cwd=compiled, columns=200)
    # This machine is no provisioned H100 node: the suite runs and finds it lacking.
    assert "did not run" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "h100-node-01" in proc.stdout and "test_packages_pinned_and_held" in proc.stdout
    # Each failed check says why, in the operator's terms.
    assert "/etc/containerd/config.toml is missing (the container_runtime role writes it" in proc.stdout
    assert (compiled / "report.xml").is_file()


def test_an_unknown_site_is_misuse_not_success(compiled: Path) -> None:
    proc = run_aigrid("verify", "out", "--site", "nosuch", cwd=compiled)
    assert proc.returncode == 2
    assert "no site 'nosuch'" in proc.stderr and "lab-h100" in proc.stderr


def test_verify_needs_nothing_beyond_the_readme_install() -> None:
    """`aigrid verify` runs pytest-testinfra: the plain install (no dev extra) must bring it."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    runtime = {Requirement(r).name for r in requires("aigrid") or [] if "extra ==" not in r}
    assert {"pytest", "pytest-testinfra"} <= runtime


def _standin(compiled: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> None:
    """A STAND-IN command first on PATH, answering as the real one does on a node."""
    bin_dir = compiled / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / name).write_text(f"#!/bin/sh\n# STAND-IN {name}, for this test only\n{body}")
    (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def _checks(compiled: Path, *options: str) -> dict[str, str]:
    """Run aigrid verify on the node; each check's outcome ("passed", "skipped: WHY",
    "failed: WHY") by its name."""
    proc = run_aigrid("verify", "out", "-i", "local.yml", *options, "--junit", "report.xml", cwd=compiled)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    outcomes = {}
    for case in ET.parse(compiled / "report.xml").getroot().iter("testcase"):
        name = (case.get("name") or "").split("[")[0]
        problem = case.find("failure")
        skipped = case.find("skipped")
        if problem is not None:
            outcomes[name] = f"failed: {problem.get('message')}"
        elif skipped is not None:
            outcomes[name] = f"skipped: {skipped.get('message')}"
        else:
            outcomes[name] = "passed"
    return outcomes


@pytest.mark.parametrize("mode", ["Enabled", "Disabled"])
def test_the_suite_checks_persistence_mode(
    compiled: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Ubuntu's nvidia-persistenced runs with --no-persistence-mode unless aigrid's drop-in
    replaces it: the suite reads each GPU's mode as nvidia-smi reports it (a stand-in here)."""
    _standin(
        compiled,
        monkeypatch,
        "nvidia-smi",
        "# one H100, as the real one answers these queries\n"
        'case "$*" in\n'
        f"  *persistence_mode*) echo {mode} ;;\n"
        "  *driver_version*) echo 580.126.20 ;;\n"
        '  *name*) echo "NVIDIA H100 80GB HBM3" ;;\n'
        "esac\n",
    )
    checks = _checks(compiled)
    assert checks["test_gpus_match_the_blueprint"] == "passed"
    if mode == "Enabled":
        assert checks["test_gpus_are_in_persistence_mode"] == "passed"
    else:
        assert "persistence mode ['Disabled']" in checks["test_gpus_are_in_persistence_mode"]


# systemctl(1) as on a node booted with systemd: is-system-running prints the manager's state
# (exit 1 unless "running"); is-enabled and is-active print one word per unit (exit 0 only for
# enabled/active). This one reads each unit's state from UNITS ("unit enabled active" lines).
SYSTEMCTL = """\
case "$1" in
  is-system-running) echo degraded; exit 1 ;;
  is-enabled) column=2 ;;
  is-active) column=3 ;;
  *) exit 2 ;;
esac
state=$(awk -v u="$2" -v c=$column '$1 == u { print $c }' "$(dirname "$0")/UNITS")
if [ -z "$state" ]; then
  echo "Failed to get unit file state for $2.service: No such file or directory" >&2; exit 4
fi
echo "$state"
[ "$state" = enabled ] || [ "$state" = active ]
"""


def test_services_must_be_enabled_and_running(compiled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a node booted with systemd the suite asks systemd for each unit bring-up leaves: a
    kubelet that stopped, a persistence daemon left static (its drop-in not enabled) and a
    containerd that would not come back after a reboot each fail the check, by name."""
    _standin(compiled, monkeypatch, "systemctl", SYSTEMCTL)
    healthy = {
        "containerd": "enabled active",
        "kubelet": "enabled active",
        "aigrid-slices": "enabled inactive",  # a oneshot: the role's handlers applied it
        "nvidia-persistenced": "enabled active",
        "nvidia-cdi-refresh.path": "enabled inactive",
        "nvidia-cdi-refresh.service": "enabled inactive",
    }
    units = compiled / "bin/UNITS"
    units.write_text("".join(f"{unit} {state}\n" for unit, state in healthy.items()))
    assert _checks(compiled)["test_services_enabled_and_running"] == "passed"

    broken = healthy | {
        "containerd": "disabled active",
        "kubelet": "enabled failed",
        "nvidia-persistenced": "static inactive",
    }
    units.write_text(
        "".join(f"{unit} {state}\n" for unit, state in broken.items() if unit != "aigrid-slices")
    )
    outcome = _checks(compiled)["test_services_enabled_and_running"]
    for problem in (
        "containerd is disabled, not enabled",
        "kubelet is failed, not running",
        "nvidia-persistenced is static, not enabled",
        "nvidia-persistenced is inactive, not running",
        "aigrid-slices is not installed, not enabled",
    ):
        assert problem in outcome, outcome

    # The inventory turns persistence off: the role leaves Ubuntu's static unit as packaged.
    left = healthy | {"nvidia-persistenced": "static inactive"}
    units.write_text("".join(f"{unit} {state}\n" for unit, state in left.items()))
    (compiled / "as-packaged.yml").write_text("all:\n  vars:\n    nvidia_driver_persistence: false\n")
    assert _checks(compiled, "-i", "as-packaged.yml")["test_services_enabled_and_running"] == "passed"


def test_without_systemd_services_and_links_are_skipped_with_the_reason(compiled: Path) -> None:
    """This machine's init is not systemd (`systemctl is-system-running`: offline), as on the
    emulated lab's hosts: nothing starts units there, and the suite says so."""
    probe = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True, check=False)
    if probe.stdout.strip() not in ("", "offline"):
        pytest.skip(f"this machine runs systemd ({probe.stdout.strip()}): the skip does not apply here")
    checks = _checks(compiled)
    for name in ("test_services_enabled_and_running", "test_slice_interfaces_up"):
        assert checks[name].startswith("skipped: ") and "systemd is not this host's init" in checks[name]


def test_sysctls_and_swap_are_read_from_the_running_kernel(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The values in effect, not the sysctl.d file: forwarding off, or net.bridge.* missing
    because br_netfilter is not loaded, fails; so does swap left on."""
    values = compiled / "bin/SYSCTLS"
    _standin(
        compiled,
        monkeypatch,
        "sysctl",
        'v=$(awk -v k="$2" \'$1 == k { print $2 }\' "$(dirname "$0")/SYSCTLS")\n'
        'if [ -z "$v" ]; then\n'
        '  echo "sysctl: cannot stat /proc/sys/$(echo $2 | tr . /): No such file or directory" >&2\n'
        "  exit 255\n"
        "fi\n"
        'echo "$v"\n',
    )
    _standin(compiled, monkeypatch, "swapon", 'cat "$(dirname "$0")/SWAPS"\n')
    expected = json.loads((compiled / "out/verify/expectations/lab-h100.json").read_text())["nodes"][0][
        "sysctls"
    ]
    values.write_text("".join(f"{key} {value}\n" for key, value in expected.items()))
    (compiled / "bin/SWAPS").write_text("")
    checks = _checks(compiled)
    assert checks["test_sysctls_in_effect"] == "passed" and checks["test_swap_off"] == "passed"

    drifted = {k: v for k, v in expected.items() if not k.startswith("net.bridge.")} | {
        "net.ipv4.ip_forward": "0"
    }
    values.write_text("".join(f"{key} {value}\n" for key, value in drifted.items()))
    (compiled / "bin/SWAPS").write_text("/swap.img\n")
    checks = _checks(compiled)
    assert "net.ipv4.ip_forward = 0, not 1" in checks["test_sysctls_in_effect"]
    # The inventory's own sysctls are what the role applied, so what is checked.
    (compiled / "sysctls.yml").write_text(
        "all:\n  vars:\n    kubernetes_node_sysctls: {net.ipv4.ip_forward: 0}\n"
    )
    assert _checks(compiled, "-i", "sysctls.yml")["test_sysctls_in_effect"] == "passed"
    checks = _checks(compiled)
    assert "net.bridge.bridge-nf-call-iptables does not exist" in checks["test_sysctls_in_effect"]
    assert "swap is on: /swap.img" in checks["test_swap_off"]


def test_kernel_modules_are_looked_for_in_the_running_kernel(compiled: Path) -> None:
    """/sys/module lists what is loaded (and built-in modules with parameters): printk is in
    every kernel, and a module nobody loaded fails by name."""
    path = compiled / "out/verify/expectations/lab-h100.json"
    data = json.loads(path.read_text())
    data["nodes"][0]["kernel_modules"] = ["printk"]
    path.write_text(json.dumps(data))
    assert _checks(compiled)["test_kernel_modules_loaded"] == "passed"
    data["nodes"][0]["kernel_modules"] = ["printk", "aigrid_not_a_module"]
    path.write_text(json.dumps(data))
    assert "kernel modules not loaded: aigrid_not_a_module" in _checks(compiled)["test_kernel_modules_loaded"]


def test_a_host_whose_kernel_is_not_its_own_skips_the_kernel_checks(compiled: Path) -> None:
    """The switch kubernetes_node obeys (a lab host shares the machine's kernel): the suite
    reads it from the inventory and says why it skipped."""
    for inventory in (
        "all:\n  hosts:\n    h100-node-01:\n      kubernetes_node_apply_kernel_settings: false\n",
        "all:\n  vars:\n    kubernetes_node_apply_kernel_settings: false\n",  # for every host
    ):
        (compiled / "shared-kernel.yml").write_text(inventory)
        checks = _checks(compiled, "-i", "shared-kernel.yml")
        for name in ("test_kernel_modules_loaded", "test_sysctls_in_effect", "test_swap_off"):
            assert "kubernetes_node_apply_kernel_settings" in checks[name], checks[name]


@pytest.mark.parametrize(
    ("state", "flags"), [("UP", {}), ("LOWERLAYERDOWN", {}), ("UP", {"dadfailed": True})]
)
def test_slice_links_must_be_up_with_the_nodes_addresses(
    compiled: Path, monkeypatch: pytest.MonkeyPatch, state: str, flags: dict[str, bool]
) -> None:
    """`ip -json address show dev vlan900` as iproute2 prints it for the slice's VLAN: up with
    the node's address on the slice passes; a VLAN whose parent lost its link does not, nor an
    address another host on the slice holds (duplicate address detection failed)."""
    _standin(compiled, monkeypatch, "systemctl", "echo running\n")
    address = {"family": "inet6", "local": "2001:db8:900:1::a", "prefixlen": 64, "scope": "global", **flags}
    link = [
        {
            "ifname": "vlan900",
            "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
            "operstate": state,
            "addr_info": [address],
        }
    ]
    _standin(
        compiled,
        monkeypatch,
        "ip",
        '[ "$*" = "-json address show dev vlan900" ] ||\n'
        '  { echo "Device \\"$5\\" does not exist." >&2; exit 1; }\n'
        f"echo '{json.dumps(link)}'\n",
    )
    outcome = _checks(compiled)["test_slice_interfaces_up"]
    if flags:
        assert "vlan900 cannot use 2001:db8:900:1::a/64: another host on the slice has it" in outcome
    elif state == "UP":
        assert outcome == "passed"
    else:
        assert "vlan900 is LOWERLAYERDOWN, not UP" in outcome


def test_a_gpu_node_without_nvidia_smi_fails_unless_hardware_checks_are_off(compiled: Path) -> None:
    """The blueprint puts the driver on the host, and this machine has no nvidia-smi: a node
    brought up that way lacks its driver. --no-hardware-checks (hosts without GPUs, a lab)
    skips the GPU checks instead, and says so."""
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi: the missing-driver case does not arise here")
    checks = _checks(compiled)
    assert (
        "nvidia-smi is missing: the NVIDIA driver is not installed" in checks["test_gpus_match_the_blueprint"]
    )
    assert "nvidia-smi is missing" in checks["test_gpus_are_in_persistence_mode"]
    checks = _checks(compiled, "--no-hardware-checks")
    for name in ("test_gpus_match_the_blueprint", "test_gpus_are_in_persistence_mode"):
        assert checks[name] == "skipped: hardware checks are off (--no-hardware-checks)"


def test_with_the_operators_driver_the_host_has_no_nvidia_smi_to_ask(compiled: Path) -> None:
    """stack.driver.install: operator: the GPU Operator's driver container holds nvidia-smi,
    so its absence on the host is expected, and no host service of the driver is asked for."""
    (compiled / "operator.yaml").write_text(
        "apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\n"
        f"extends: [{BLUEPRINTS / 'examples/gpu-node-h100.yaml'}]\n"
        "metadata: {name: gpu-node-h100-operator}\nstack: {driver: {install: operator}}\n"
    )
    proc = run_aigrid("compile", "operator.yaml", "-o", "out", "--root", "/", cwd=compiled)
    assert proc.returncode == 0, proc.stderr
    node = json.loads((compiled / "out/verify/expectations/lab-h100.json").read_text())["nodes"][0]
    assert "nvidia-persistenced" not in node["services"]
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi: the operator's case does not arise here")
    check = _checks(compiled)["test_gpus_match_the_blueprint"]
    assert check == "skipped: the GPU Operator's driver container holds the driver: checked in the cluster"


@pytest.mark.skipif(
    shutil.which("ifquery") is None, reason="ifupdown is not installed here (.ci/run installs it)"
)
@pytest.mark.parametrize("sourced", [True, False])
def test_slice_stanzas_must_be_read_by_ifupdown(compiled: Path, sourced: bool) -> None:
    """Where ifupdown carries the slices, the suite asks ifupdown itself (ifquery) for each
    slice's stanza: a stanza the main file does not source is never brought up."""
    network = compiled / "network"
    (network / "interfaces.d").mkdir(parents=True)
    (network / "interfaces").write_text(
        "source interfaces.d/*\n" if sourced else "auto lo\niface lo inet loopback\n"
    )
    (network / "interfaces.d" / "60-aigrid-vlan900").write_text(
        "allow-aigrid vlan900\niface vlan900 inet6 static\n"
        "    vlan-raw-device eno1\n    address 2001:db8:900:1::a/64\n"
    )
    with (compiled / "local.yml").open("a") as local:
        local.write(
            f"      network_slice_ifupdown_interfaces: {network / 'interfaces'}\n"
            f"      network_slice_ifupdown_dir: {network / 'interfaces.d'}\n"
        )
    outcome = _checks(compiled)["test_slice_interfaces_config"]
    if sourced:
        assert outcome == "passed"
    else:
        assert f"ifupdown does not read {network / 'interfaces.d' / '60-aigrid-vlan900'}" in outcome


# dpkg-query(1) and apt-cache(8) policy as on a GPU node where bring-up installed CUDA 13.0
# Update 2: the meta package depends on cudart with a lower bound; cudart is held at the
# release's build, which the node's pin file pins (1001), or was upgraded past it (500).
def _cuda_node(priority: int) -> dict[str, str]:
    installed = "13.0.96-1" if priority == 1001 else "13.0.104-1"
    return {
        "dpkg-query": (
            'case "$*" in\n'
            "  *Depends*cuda-libraries-13-0)\n"
            "    printf 'cuda-cudart-13-0 (>= 13.0.96), libnvx (>= 1) | libnvy, '\n"
            "    printf 'cuda-toolkit-config-common' ;;\n"
            "  *Status-Want*) printf hold ;;\n"
            f"  *Status*Version*) printf 'hold ok installed {installed}' ;;\n"
            "  *Status*) printf 'hold ok installed' ;;\n"
            "  *) exit 1 ;;\n"
            "esac\n"
        ),
        # an alternative (libnvx | libnvy) is not pinned: apt answers 500 for it
        "apt-cache": (
            '[ "$2" = libnvx ] && { echo " *** 1-1 500"; exit 0; }\n'
            f"echo \"$2:\"\necho '  Installed: {installed}'\necho '  Version table:'\n"
            f"echo ' *** {installed} {priority}'\necho '        100 /var/lib/dpkg/status'\n"
            + ("" if priority == 1001 else "echo '     13.0.96-1 1001'\n")
        ),
    }


@pytest.mark.parametrize("priority", [1001, 500])
def test_the_cuda_release_components_must_be_the_pinned_builds(
    compiled: Path, monkeypatch: pytest.MonkeyPatch, priority: int
) -> None:
    """The CUDA meta package bounds its libraries from below only: the suite reads what it
    depends on from dpkg and asks apt whether the installed build is the one pinned, so a
    library upgraded past the pinned release fails though the meta package is still pinned."""
    for name, body in _cuda_node(priority).items():
        _standin(compiled, monkeypatch, name, body)
    outcome = _checks(compiled)["test_release_components_pinned_and_held"]
    if priority == 1001:
        assert outcome == "passed"
    else:
        assert (
            "cuda-cudart-13-0 13.0.104-1 is not the version pinned for cuda-libraries-13-0's release"
            in outcome
        )


@pytest.mark.parametrize(
    ("patch", "installed", "passes"),
    [
        ("13.0.104", "13.0.104-1", True),
        ("13.0.104-1", "13.0.104-1", True),
        ("13.0.104", "1:13.0.104-1", True),
        ("13.0.110", "13.0.104-1", False),
    ],
)
def test_a_patched_cuda_library_must_be_at_the_patch_build(
    compiled: Path, monkeypatch: pytest.MonkeyPatch, patch: str, installed: str, passes: bool
) -> None:
    """stack.cuda.patches: the library at the build the blueprint sets (held, pinned 1001 as
    the role pins it); the release's own build or another one fails, though pinned and held."""
    # The base stack locks stack.cuda: a patch is the base's to set, as a toolkit version is.
    (compiled / "base").mkdir()
    (compiled / "base" / "stack.yaml").write_text(
        (BLUEPRINTS / "base" / "stack.yaml")
        .read_text()
        .replace(
            "  cuda:\n    version: 13.0.2\n",
            f"  cuda:\n    version: 13.0.2\n    patches: {{cuda-cudart-13-0: {patch}}}\n",
        )
    )
    (compiled / "examples").mkdir()
    (compiled / "examples" / "patched.yaml").write_text(
        (BLUEPRINTS / "examples" / "gpu-node-h100.yaml").read_text()
    )
    proc = run_aigrid("compile", "examples/patched.yaml", "-o", "out", "--root", "/", cwd=compiled)
    assert proc.returncode == 0, proc.stderr
    # The node as bring-up leaves it with the patch: cudart at that build, pinned (1001) and held.
    body = _cuda_node(500)
    body["apt-cache"] = body["apt-cache"].replace("13.0.104-1 500", "13.0.104-1 1001")
    for name, text in body.items():
        _standin(compiled, monkeypatch, name, text.replace("13.0.104-1", installed))
    outcome = _checks(compiled)["test_release_components_pinned_and_held"]
    if passes:
        assert outcome == "passed"
    else:
        assert f"cuda-cudart-13-0 {installed} is not the patch build 13.0.110 the blueprint sets" in outcome
