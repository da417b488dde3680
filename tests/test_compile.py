"""aigrid compile: the Ansible target, determinism, atomic replacement."""

from __future__ import annotations

import fnmatch
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aigrid import layout
from conftest import BLUEPRINTS, ROOT, load_vars, run_aigrid

SHIPPED = sorted([*BLUEPRINTS.glob("examples/*.yaml"), *BLUEPRINTS.glob("carriers/*/*.yaml")])


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def compile_to(
    out: Path, blueprint: Path = BLUEPRINTS / "examples" / "multi-carrier-grid.yaml", cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return run_aigrid("compile", str(blueprint), "--out", str(out), cwd=cwd)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled") / "out"
    proc = compile_to(out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_same_blueprint_same_bytes_from_anywhere(compiled: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert compile_to(again, cwd=tmp_path).returncode == 0  # another working directory
    assert tree(again) == tree(compiled)


def test_lock_file_records_versions_and_inputs(compiled: Path) -> None:
    import json

    lock = json.loads((compiled / "aigrid.lock.json").read_text())
    assert lock["stack"]["driver"]["version"] == "580.126.20"
    assert lock["stack"]["gpu_operator"]["operands"]["devicePlugin"] == "v0.19.2"
    files = [entry["file"] for entry in lock["inputs"]]
    assert "multi-carrier-grid.yaml" in files and "../base/stack.yaml" in files
    assert all(len(entry["sha256"]) == 64 for entry in lock["inputs"])


def test_inventory_groups(compiled: Path) -> None:
    import yaml

    groups = yaml.safe_load((compiled / "ansible/inventory/hosts.yml").read_text())["all"]["children"]
    assert set(groups["carrier_northwind"]["children"]) == {
        "site_nw_nyc_fe_01",
        "site_nw_nwk_co_01",
        "site_nw_ash_rdc_01",
    }
    assert "nw-ash-rdc-01-gpu01" in groups["gpu_h100_sxm_80gb"]["hosts"]
    assert "nw-nyc-fe-01-cp" in groups["role_control_plane"]["hosts"]
    assert "nw-nyc-fe-01-cp" not in groups["gpu_nodes"]["hosts"]
    assert "site_me_sgp_tower_07" in groups["tier_far_edge"]["children"]


def syntax_check(out: Path) -> None:
    proc = subprocess.run(
        ["ansible-playbook", "--syntax-check", "site.yml"],
        cwd=out / "ansible",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, (out, proc.stdout + proc.stderr)


def test_syntax_check_every_shipped_blueprint(tmp_path: Path) -> None:
    for blueprint in SHIPPED:
        out = tmp_path / blueprint.stem
        assert compile_to(out, blueprint).returncode == 0, blueprint
        syntax_check(out)


def test_ansible_lint_production_on_roles_and_output(compiled: Path) -> None:
    for cwd, targets in (
        (ROOT, ["roles/"]),
        (compiled / "ansible", ["site.yml", "inventory"]),
    ):
        proc = subprocess.run(
            ["ansible-lint", "--offline", "--profile", "production", "--nocolor", *targets],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "0 failure(s), 0 warning(s)" in proc.stdout + proc.stderr


def test_invalid_blueprint_writes_nothing(compiled: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(compiled, out)
    before = tree(out)
    invalid = BLUEPRINTS / "examples" / "invalid" / "AG101-driver-below-cuda-minimum.yaml"
    proc = compile_to(out, invalid)
    assert proc.returncode == 1 and "nothing was written" in proc.stderr
    assert tree(out) == before


def test_directory_not_made_by_aigrid_is_refused(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    proc = compile_to(tmp_path)
    assert proc.returncode == 2 and "aigrid compile did not make it" in proc.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_compile_killed_midway_leaves_the_previous_output(compiled: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from gen_grid import write_grid

    big = write_grid(tmp_path / "big.yaml", sites=3000)
    out = tmp_path / "out"
    shutil.copytree(compiled, out)
    before = tree(out)
    for delay in (1.0, 2.5, 4.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "aigrid", "compile", str(big), "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode == 0:
            break  # finished before the kill: the swap was whole, checked below
        assert tree(out) == before, f"killed after {delay}s, the output changed"
    # The next compile removes what the killed ones left beside the output.
    assert compile_to(out).returncode == 0
    assert not list(tmp_path.glob(".aigrid-tmp-*"))


def test_a_590_branch_blueprint_compiles_to_the_same_procedure(tmp_path: Path) -> None:
    """From branch 590 NVIDIA's Ubuntu packages drop the branch suffix; the pinning packages
    keep their names, so the procedure is the same with the version's own lock."""
    text = (BLUEPRINTS / "examples" / "invalid" / "AG116-containerd-not-installable.yaml").read_text()
    text = (
        text.replace("containerRuntime: {version: 1.6.33}  # <- AG116", "containerRuntime: {version: 2.3.1}")
        .replace("driver: {version: 580.126.20,", "driver: {version: 590.48.01,")
        .replace("  cuda: {version: 13.0.2}\n  tensorrt: {version: 10.14.1}\n", "  cuda: {version: 13.1.1}\n")
    )
    blueprint = tmp_path / "r590.yaml"
    blueprint.write_text(text)
    out = tmp_path / "out"
    proc = compile_to(out, blueprint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gpu = load_vars(out / layout.group_vars("gpu_nodes"))
    assert gpu["nvidia_driver_pinning_package"] == "nvidia-driver-pinning-590.48.01"
    assert gpu["nvidia_driver_packages"] == ["nvidia-open"]
    assert gpu["nvidia_driver_package_version"] == "590.48.01-*"
    syntax_check(out)


def test_tensorrt_is_pinned_to_the_build_nvidia_made_for_the_cuda_major(tmp_path: Path) -> None:
    """TensorRT 10.15.1 supports CUDA 13.0-13.1 from one build, 10.15.1.29-1+cuda13.1; the pin
    named the stack's CUDA 13.0, matched no package, and bring-up stopped at apt."""
    text = (BLUEPRINTS / "examples" / "invalid" / "AG116-containerd-not-installable.yaml").read_text()
    text = text.replace(
        "containerRuntime: {version: 1.6.33}  # <- AG116", "containerRuntime: {version: 2.3.1}"
    ).replace("tensorrt: {version: 10.14.1}", "tensorrt: {version: 10.15.1}")
    blueprint = tmp_path / "trt.yaml"
    blueprint.write_text(text)
    out = tmp_path / "out"
    proc = compile_to(out, blueprint)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pattern = load_vars(out / layout.group_vars("gpu_nodes"))["tensorrt_package_version"]
    # apt preferences and Ansible's apt module match the pattern as a glob (fnmatch); apt cuts a
    # final `*` off as a prefix match first (the converge test installs it with real apt).
    published = ["10.15.1.29-1+cuda13.1", "10.15.1.29-1+cuda12.9", "10.14.1.48-1+cuda13.0"]
    assert [v for v in published if fnmatch.fnmatchcase(v, pattern)] == ["10.15.1.29-1+cuda13.1"]
    assert not pattern.endswith("*")


def test_an_arm_grace_site_compiles_to_the_sbsa_procedure(tmp_path: Path) -> None:
    """GH200 servers are Arm: their nodes accept only aarch64 at preflight, and the driver and
    CUDA come from NVIDIA's sbsa repository (the toolkit from its arm64 one)."""
    out = tmp_path / "out"
    proc = compile_to(out, BLUEPRINTS / "examples" / "gh200-edge-site.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for hostname in ("gh200-cp-01", "gh200-node-02"):
        assert load_vars(out / layout.host_vars(hostname))["preflight_architectures"] == ["aarch64"]
    gpu = load_vars(out / layout.group_vars("gpu_nodes"))
    assert gpu["nvidia_driver_repo_uris"]["aarch64"].endswith("/ubuntu2404/sbsa/")
    assert gpu["cuda_runtime_repo_uris"]["aarch64"].endswith("/ubuntu2404/sbsa/")
    assert gpu["nvidia_container_toolkit_repo_uris"]["aarch64"].endswith("/deb/arm64")
    syntax_check(out)
