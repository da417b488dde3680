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


def run_role(tmp_path: Path, smi_rows: list[str], **variables: object) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    rows = "\n".join(smi_rows)
    (bin_dir / "nvidia-smi").write_text(f"#!/bin/sh\n# STAND-IN nvidia-smi\ncat <<'EOF'\n{rows}\nEOF\n")
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
    return run_local_playbook(playbook, extra, path=bin_dir)


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
