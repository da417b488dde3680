"""Every shell block in README.md and docs/*.md runs in a test, as written.

A block runs here, in a copy of the checkout, from its root, with this working tree's aigrid,
unless COVERED names the test that runs it and says why it cannot run here. A new block that
is in neither fails until it runs or is listed.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from docblocks import Block, all_shell_blocks, copy_checkout, readme_blocks

FRESH = "tests/test_fresh_machine.py"
# (document, first line of the block): (the test that runs it, why not here).
COVERED: dict[tuple[str, str], tuple[str, str]] = {
    ("README.md", "apt-get update && apt-get install --yes python3-venv"): (
        f"{FRESH}::test_quick_start_runs_as_written",
        "installs Debian packages: run as root in a stock Debian 12 chroot",
    ),
    (
        "README.md",
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/aigrid validate "
        "blueprints/examples/*.yaml blueprints/carriers/*/*.yaml && .venv/bin/aigrid explain "
        "blueprints/examples/multi-carrier-grid.yaml stack.driver.install",
    ): (
        f"{FRESH}::test_quick_start_runs_as_written",
        "the install from PyPI on a stock machine is the point: run in a stock Debian 12 chroot",
    ),
    (
        "README.md",
        "apt-get update && apt-get install --yes --no-install-recommends python3-venv git debootstrap "
        "socat openssh-client prometheus chromium netplan.io ifupdown",
    ): (
        f"{FRESH}::test_test_command_runs_as_written",
        "installs Debian packages: run as root in a stock Debian 12 chroot; .ci/run runs it too",
    ),
    ("README.md", "python3 -m venv .venv && .venv/bin/pip install '.[dev]' && .venv/bin/python -m pytest"): (
        f"{FRESH}::test_test_command_runs_as_written",
        "it is the whole suite (this test included): run in a stock Debian 12 chroot, narrowed "
        "there, and in full by .ci/run (test_ci_runs_the_readme_commands)",
    ),
    ("README.md", "cd DIR/pulumi && python3 -m venv venv && venv/bin/pip install -r requirements.txt"): (
        "tests/test_pulumi.py::test_the_requirements_resolve_on_pypi_alone",
        "pulumi up needs the Pulumi CLI and a Kubernetes API server, which CI cannot run; the "
        "program runs under Pulumi's mocks in tests/test_pulumi.py",
    ),
    ("docs/pulumi.md", "aigrid compile blueprints/examples/multi-carrier-grid.yaml --out out/grid"): (
        "tests/test_pulumi.py::test_the_requirements_resolve_on_pypi_alone",
        "pulumi up needs the Pulumi CLI and a Kubernetes API server, which CI cannot run; the "
        "program runs under Pulumi's mocks in tests/test_pulumi.py",
    ),
    ("docs/ansible.md", "aigrid compile blueprints/examples/lab-edge-site.yaml --out out/lab"): (
        "tests/test_lab.py::test_whole_site_converges",
        "bringup needs the site's hosts: the lab test compiles this blueprint and brings up an "
        "emulated site (root and network namespaces)",
    ),
    ("docs/lab.md", "aigrid compile blueprints/examples/lab-edge-site.yaml --out out/lab"): (
        "tests/test_lab.py::test_whole_site_converges",
        "lab up needs root and network namespaces: the lab test runs these steps with its own "
        "folders (drift: test_drift_is_clean_after_converge_and_names_a_manual_change)",
    ),
    ("docs/ci.md", "aigrid validate blueprints/carriers blueprints/examples/*.yaml"): (
        "tests/test_ci.py::test_shell_commands_run_as_written",
        "runs in a team's blueprint repository with aigrid installed from a snapshot, as the "
        "document describes",
    ),
    (
        "README.md",
        "# 1. check the blueprint, then compile it: Ansible, Pulumi stacks, manifests, verify suite",
    ): (
        "tests/test_lab.py::test_site_cluster_formed_once_pod_network_first_then_joins",
        "needs real servers, the Pulumi CLI and a cluster: the lab compiles, brings up (cluster "
        "formed by stand-in kubeadm/kubectl) and verifies an emulated site; the program runs "
        "under Pulumi's mocks in tests/test_pulumi.py",
    ),
    (
        "docs/cluster.md",
        "kubectl get crd helmreleases.helm.toolkit.fluxcd.io helmrepositories.source.toolkit.fluxcd.io",
    ): (
        "tests/test_manifests.py::test_invalid_custom_resources_are_caught",
        "needs a cluster with Flux; the Flux objects it guards are checked against Flux's CRD "
        "schemas offline",
    ),
    ("docs/performance.md", "python3 benchmarks/compile_scale.py --sizes 6 --runs 1 --workloads 6"): (
        "tests/test_benchmarks.py::test_benchmark_runs_as_written",
        "run as written there, with the other smoke commands of the page",
    ),
    ("docs/performance.md", "python3 benchmarks/inventory_scale.py --sizes 6 --runs 1 --workloads 6"): (
        "tests/test_benchmarks.py::test_benchmark_runs_as_written",
        "run as written there, with the other smoke commands of the page",
    ),
    ("docs/performance.md", "python3 benchmarks/validate_scale.py --sizes 6 --runs 1 --workloads 6"): (
        "tests/test_benchmarks.py::test_benchmark_runs_as_written",
        "run as written there, with the other smoke commands of the page",
    ),
    ("docs/performance.md", "python3 benchmarks/converge_lab.py --runs 1 --limit lab-cp"): (
        "tests/test_lab.py::test_the_converge_benchmark_runs_as_written",
        "brings up a lab of its own (root and network namespaces): the lab tests run it as written",
    ),
    (
        "docs/performance.md",
        "cd benchmarks && python3 placement_scale.py --sizes 100 1000 10000 --workloads 50 500",
    ): (
        "tests/test_docs_commands.py::test_the_placement_benchmark_runs_on_a_small_grid",
        "solves grids of up to 10,000 sites and 500 workloads (far beyond a test's time); "
        "timings are measured, not asserted",
    ),
    ("docs/placement.md", "aigrid report blueprints/examples/multi-carrier-grid.yaml -o report.html"): (
        "tests/test_report.py::test_docs_show_the_report_commands",
        "run as written there, and the page opened in Chromium by test_page_opens_offline_in_chromium",
    ),
}
# Pages whose every command a test of their own runs as written and checks the output of.
COVERED_DOCUMENTS: dict[str, tuple[str, str]] = {
    "docs/day2.md": (
        "tests/test_day2_docs.py::test_every_command_runs_as_written_and_prints_what_the_page_shows",
        "the page shows each command's output, which that test compares",
    ),
    "docs/observability.md": (
        "tests/test_monitoring.py::test_documented_promtool_check_runs_as_written",
        "needs promtool, which that test checks for",
    ),
}


def block_id(block: Block) -> str:
    return f"{block.document}:{block.line}"


BLOCKS = all_shell_blocks()
TO_RUN = [
    block
    for block in BLOCKS
    if (block.document, block.first_line) not in COVERED and block.document not in COVERED_DOCUMENTS
]


def test_every_covered_entry_names_a_block_and_an_existing_test() -> None:
    present = {(block.document, block.first_line) for block in BLOCKS}
    documents = {block.document for block in BLOCKS}
    entries = [*COVERED.items(), *(((doc, ""), cover) for doc, cover in COVERED_DOCUMENTS.items())]
    for (document, first_line), (test, reason) in entries:
        if first_line:
            assert (document, first_line) in present, f"no shell block in {document} starts {first_line!r}"
        else:
            assert document in documents, f"{document} has no shell block"
        assert reason, (document, first_line)
        path, name = test.split("::")
        defined = {
            node.name
            for node in ast.walk(ast.parse((ROOT / path).read_text()))
            if isinstance(node, ast.FunctionDef)
        }
        assert name in defined, f"{test} (covering {document}) does not exist"


def test_ci_runs_the_readme_commands() -> None:
    """.ci/run runs the README's package line and test command, exactly as written."""
    *_, packages, test_command = readme_blocks("Quick start")
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = [line for line in script if line and not line.startswith(("#", "set ", "cd ", "export "))]
    assert commands == [packages, test_command]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return copy_checkout(tmp_path / "aigrid")


@pytest.mark.parametrize("block", TO_RUN, ids=block_id)
def test_block_runs_as_written(block: Block, checkout: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        # This working tree's aigrid, as if the checkout were installed.
        "PYTHONPATH": str(checkout / "src"),
        # Commands that write to the home directory (ansible-galaxy's collections) write here.
        "HOME": str(tmp_path / "home"),
        "COLUMNS": "120",
    }
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.commands],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"{block_id(block)}:\n{block.commands}\n{proc.stdout}{proc.stderr}"


def test_the_benchmark_runs_on_a_small_grid(checkout: Path) -> None:
    """docs/performance.md's command with the smallest grid and one run: the script works."""
    proc = subprocess.run(
        ["python3", "benchmarks/validate_scale.py", "--sizes", "100", "--runs", "1"],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout / "src")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "100" in proc.stdout


def test_the_placement_benchmark_runs_on_a_small_grid(checkout: Path) -> None:
    """docs/performance.md's placement command on its smallest grid and workload count."""
    proc = subprocess.run(
        ["python3", "placement_scale.py", "--sizes", "100", "--workloads", "50"],
        cwd=checkout / "benchmarks",
        env={**os.environ, "PYTHONPATH": str(checkout / "src")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
