"""The gpu_verify role run for real (ansible-playbook, local connection) against STAND-IN
nvidia-smi and nvidia-ctk commands that print what real GPUs print."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import run_local_playbook

PLAYBOOK = """\
- name: Verify the GPUs
  hosts: all
  gather_facts: false
  roles: [gpu_verify]
"""


def run_role(
    tmp_path: Path,
    smi_rows: list[str],
    fabric_rows: tuple[str, ...] = (),
    persistence: tuple[str, ...] | None = None,
    options: tuple[str, ...] = (),
    **variables: object,
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    rows, fabric = "\n".join(smi_rows), "\n".join(fabric_rows)
    # As on a node aigrid brought up: every GPU in persistence mode, unless the test says.
    modes = "\n".join(persistence if persistence is not None else ["Enabled"] * len(smi_rows))
    # Answers the fabric and persistence queries with their rows, every other with smi_rows.
    (bin_dir / "nvidia-smi").write_text(
        "#!/bin/sh\n# STAND-IN nvidia-smi\n"
        # Every argument the real one takes is an option: a word on its own is an argument list
        # split where it should not be (`--format=csv,noheader` in a YAML flow list is two).
        'for a in "$@"; do case "$a" in -*) ;; *) echo "ERROR: Option $a is not recognized" >&2; exit 2 ;; '
        "esac; done\n"
        'case "$*" in\n'
        f"  *fabric.state*) cat <<'EOF'\n{fabric}\nEOF\n  ;;\n"
        f"  *persistence_mode*) cat <<'EOF'\n{modes}\nEOF\n  ;;\n"
        f"  *) cat <<'EOF'\n{rows}\nEOF\n  ;;\nesac\n"
    )
    (bin_dir / "nvidia-ctk").write_text("#!/bin/sh\n# STAND-IN nvidia-ctk\necho nvidia.com/gpu=all\n")
    for tool in ("nvidia-smi", "nvidia-ctk"):
        (bin_dir / tool).chmod(0o755)
    playbook = tmp_path / "verify.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "gpu_verify_node_name": "gpu01",
        "gpu_verify_blueprint_path": "sites[s].nodes[gpu01]",
        "gpu_verify_driver_version": "580.126.20",
        **variables,
    }
    return run_local_playbook(playbook, extra, bin_dir, "localhost", *options)


L4 = {"gpu_verify_gpu_count": 1, "gpu_verify_product_names": ["NVIDIA L4"]}
H100 = {"gpu_verify_gpu_count": 1, "gpu_verify_product_names": ["NVIDIA H100 80GB HBM3"]}


@pytest.mark.parametrize("mig", ["[N/A]", "N/A", "Disabled"])
def test_a_gpu_without_mig_passes_whatever_way_it_says_so(tmp_path: Path, mig: str) -> None:
    proc = run_role(tmp_path, [f"NVIDIA L4, 580.126.20, {mig}"], **L4)
    assert proc.returncode == 0, proc.stdout


def test_a_mig_node_is_not_expected_to_have_mig_on_before_the_operator(tmp_path: Path) -> None:
    proc = run_role(tmp_path, ["NVIDIA H100 80GB HBM3, 580.126.20, Disabled"], **H100, gpu_verify_mig=True)
    assert proc.returncode == 0, proc.stdout


def test_mig_on_where_the_blueprint_declares_whole_gpus_fails(tmp_path: Path) -> None:
    proc = run_role(tmp_path, ["NVIDIA H100 80GB HBM3, 580.126.20, Enabled"], **H100)
    assert proc.returncode != 0 and "MIG off" in proc.stdout


def test_a_dry_run_says_it_verified_nothing(tmp_path: Path) -> None:
    """`aigrid bringup --check` installs nothing, so a fresh node has no driver to ask: the role
    says so instead of failing on queries Ansible does not run in check mode."""
    proc = run_role(tmp_path, ["NVIDIA L4, 580.95.05, [N/A]"], options=("--check",), **L4)
    assert proc.returncode == 0, proc.stdout
    assert "gpu_verify on gpu01: SKIPPED in check mode" in proc.stdout


def test_wrong_driver_fails(tmp_path: Path) -> None:
    proc = run_role(tmp_path, ["NVIDIA L4, 580.95.05, [N/A]"], **L4)
    assert proc.returncode != 0 and "driver 580.126.20" in proc.stdout


def test_operator_mode_defers_to_the_cluster(tmp_path: Path) -> None:
    proc = run_role(tmp_path, ["this would fail"], **L4, gpu_verify_driver_install="operator")
    assert proc.returncode == 0, proc.stdout
    assert "DEFERRED" in proc.stdout


def test_a_gpu_of_another_model_fails(tmp_path: Path) -> None:
    proc = run_role(tmp_path, ["NVIDIA H100 80GB HBM3, 580.126.20, [N/A]"], **L4)
    assert proc.returncode != 0 and "1 x NVIDIA L4" in proc.stdout


def test_a_model_without_a_catalog_name_is_not_checked_by_name(tmp_path: Path) -> None:
    """The catalog lists no nvidia-smi name it cannot source (GB300): any name passes."""
    rows = ["NVIDIA GB300, 580.126.20, Disabled"]
    proc = run_role(tmp_path, rows, gpu_verify_gpu_count=1, gpu_verify_product_names=[])
    assert proc.returncode == 0, proc.stdout


H100_SXM8 = {"gpu_verify_gpu_count": 2, "gpu_verify_product_names": ["NVIDIA H100 80GB HBM3"]}
SXM_ROWS = ["NVIDIA H100 80GB HBM3, 580.126.20, Disabled"] * 2


def test_an_nvswitch_board_whose_gpus_have_not_joined_the_fabric_fails(tmp_path: Path) -> None:
    """Fabric Manager not running: the GPUs stay 'In Progress' and CUDA would not initialise."""
    fabric = ("In Progress, N/A", "In Progress, N/A")
    proc = run_role(tmp_path, SXM_ROWS, fabric, **H100_SXM8, gpu_verify_fabric=True)
    assert proc.returncode != 0
    assert "system not yet initialized" in proc.stdout and "nvidia-fabricmanager" in proc.stdout


def test_an_nvswitch_board_with_one_gpu_still_registering_fails(tmp_path: Path) -> None:
    fabric = ("Completed, Success", "In Progress, N/A")
    proc = run_role(tmp_path, SXM_ROWS, fabric, **H100_SXM8, gpu_verify_fabric=True)
    assert proc.returncode != 0 and "In Progress" in proc.stdout


def test_an_nvswitch_board_registered_with_the_fabric_passes(tmp_path: Path) -> None:
    fabric = ("Completed, Success", "Completed, Success")
    proc = run_role(tmp_path, SXM_ROWS, fabric, **H100_SXM8, gpu_verify_fabric=True)
    assert proc.returncode == 0, proc.stdout
    assert "joined the NVLink fabric" in proc.stdout


def test_a_board_without_nvswitch_is_not_asked_about_the_fabric(tmp_path: Path) -> None:
    """PCIe cards report the fabric as N/A; only NVLink-switched boards are checked."""
    proc = run_role(tmp_path, ["NVIDIA L4, 580.126.20, [N/A]"], ("[N/A], [N/A]",), **L4)
    assert proc.returncode == 0, proc.stdout


def test_a_gpu_out_of_persistence_mode_fails(tmp_path: Path) -> None:
    """Ubuntu's packaged unit runs nvidia-persistenced with --no-persistence-mode: the daemon
    runs, and every GPU reports Disabled."""
    proc = run_role(tmp_path, SXM_ROWS, persistence=("Enabled", "Disabled"), **H100_SXM8)
    assert proc.returncode != 0
    assert "persistence mode Enabled; Disabled" in proc.stdout and "--persistence-mode" in proc.stdout


def test_persistence_mode_is_not_asked_of_a_driver_the_carrier_installed(tmp_path: Path) -> None:
    """stack.driver.install: preinstalled: aigrid does not run the daemon there, so it does not
    check what it did not set."""
    rows = ["NVIDIA L4, 580.126.20, [N/A]"]
    proc = run_role(tmp_path, rows, persistence=("Disabled",), **L4, gpu_verify_driver_install="preinstalled")
    assert proc.returncode == 0, proc.stdout
    off = run_role(tmp_path, rows, persistence=("Disabled",), **L4, nvidia_driver_persistence=False)
    assert off.returncode == 0, off.stdout
