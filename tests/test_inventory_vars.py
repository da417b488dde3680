"""The compiled variables sit beside the inventory, so every Ansible entry point given the
inventory sees them: ansible-inventory, ad-hoc ansible from another directory, an AWX/AAP
inventory source. A lab inventory passed after the compiled one still adapts the hosts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aigrid import layout
from aigrid.lab import lab
from conftest import BLUEPRINTS, as_listed, load_vars, run_aigrid

GPU_HOST = "lab-gpu01"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled") / "out"
    proc = run_aigrid("compile", str(BLUEPRINTS / "examples" / "lab-edge-site.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _ansible(cwd: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """An Ansible command run from CWD, where no ansible.cfg, playbook or vars are."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _hostvars(cwd: Path, *inventories: Path) -> dict[str, dict[str, Any]]:
    sources = [arg for path in inventories for arg in ("-i", str(path))]
    proc = _ansible(cwd, "ansible-inventory", *sources, "--list")
    assert proc.returncode == 0, proc.stderr
    hostvars: dict[str, dict[str, Any]] = as_listed(json.loads(proc.stdout)["_meta"]["hostvars"])
    return hostvars


def test_ansible_inventory_lists_the_compiled_vars_from_anywhere(compiled: Path, tmp_path: Path) -> None:
    hostvars = _hostvars(tmp_path, compiled / layout.INVENTORY)[GPU_HOST]
    shared = load_vars(compiled / layout.group_vars("all"))
    gpu = load_vars(compiled / layout.group_vars("gpu_nodes"))
    own = load_vars(compiled / layout.host_vars(GPU_HOST))
    for written in (shared, gpu, own):
        assert {name: hostvars.get(name) for name in written} == written
    assert hostvars["ansible_host"] == "2001:db8:ed::11"
    assert hostvars["gpu_verify_node_name"] == GPU_HOST
    assert hostvars["nvidia_driver_version"] == gpu["nvidia_driver_version"]
    assert "nvidia_driver_version" not in _hostvars(tmp_path, compiled / layout.INVENTORY)["lab-cp"]


def test_nothing_is_left_beside_the_playbook(compiled: Path) -> None:
    """Vars beside the playbook would load a second time, at another precedence."""
    playbook_dir = (compiled / layout.PLAYBOOK).parent
    assert not (playbook_dir / "group_vars").exists()
    assert not (playbook_dir / "host_vars").exists()


def test_ad_hoc_ansible_from_another_directory_reads_the_vars(compiled: Path, tmp_path: Path) -> None:
    version = load_vars(compiled / layout.group_vars("gpu_nodes"))["nvidia_driver_version"]
    proc = _ansible(
        tmp_path,
        "ansible",
        "-i",
        str(compiled / layout.INVENTORY),
        GPU_HOST,
        "-c",
        "local",
        "-m",
        "ansible.builtin.debug",
        "-a",
        "var=nvidia_driver_version",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'"nvidia_driver_version": "{version}"' in proc.stdout


def test_a_lab_inventory_given_later_still_wins(compiled: Path, tmp_path: Path) -> None:
    """The lab's inventory sets host variables in an inventory file; compiled group_vars rank
    below those, compiled host_vars above (inventory host_vars/*). So no key the lab adapts may
    be a compiled host variable, and every one of them must reach the hosts as the lab wrote it."""
    labdir = tmp_path / "lab"
    labdir.mkdir()
    hosts = [
        lab.LabHost(hostname, f"ns-{hostname}", f"fd00::{index}")
        for index, hostname in enumerate(("lab-cp", "lab-gpu01", "lab-gpu02", "lab-gpu03"), start=10)
    ]
    state = lab.LabState(id="t", site="lab-edge-01", hub="hub-t", directory=str(labdir), hosts=hosts)
    inventory = lab.write_inventory(state)
    written = lab.yaml.safe_load(inventory.read_text())["all"]["hosts"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    hostvars = _hostvars(elsewhere, compiled / layout.INVENTORY, inventory)
    for host in hosts:
        compiled_host = load_vars(compiled / layout.host_vars(host.hostname))
        assert not set(written[host.hostname]) & set(compiled_host)
        loaded = hostvars[host.hostname]
        assert {name: loaded.get(name) for name in written[host.hostname]} == written[host.hostname]
    # Overrides of compiled group variables, the ones the lab relies on.
    gpu = hostvars[GPU_HOST]
    assert gpu["ansible_host"] == "fd00::11"
    assert gpu["network_slice_backend"] == "networkd"
    assert gpu["nvidia_driver_headers_package"] == lab.standins.headers_package()
    assert gpu["container_runtime_repo_suites"] == ["/"]


def test_a_site_inventory_holds_that_site_alone_with_the_same_vars(tmp_path: Path) -> None:
    """`aigrid bringup --site` loads DIR/ansible/inventory/site-<site>.yml: that site's hosts and
    groups only, each host with exactly the variables the grid's inventory gives it."""
    out = tmp_path / "grid"
    proc = run_aigrid("compile", str(BLUEPRINTS / "examples" / "multi-carrier-grid.yaml"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    grid = _hostvars(tmp_path, out / layout.INVENTORY)
    site = _hostvars(tmp_path, out / layout.site_inventory("nw-nyc-fe-01"))
    assert sorted(site) == sorted(h for h in grid if h.startswith("nw-nyc-fe-01-"))
    assert {host: grid[host] for host in site} == site
    listed = json.loads(
        _ansible(
            tmp_path, "ansible-inventory", "-i", str(out / layout.site_inventory("nw-nyc-fe-01")), "--list"
        ).stdout
    )
    assert listed["first_control_plane"]["hosts"] == ["nw-nyc-fe-01-cp"]
    assert "site_au_muc_edge_01" not in listed


def test_bringup_of_a_site_the_grid_lacks_names_it(compiled: Path) -> None:
    proc = run_aigrid("bringup", str(compiled), "--site", "nowhere-01")
    assert proc.returncode == 2
    assert "no site 'nowhere-01'" in proc.stderr
