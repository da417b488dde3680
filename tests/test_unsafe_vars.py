"""Compiled variables are data: a planted Jinja expression never runs on the controller.

The values are planted in the plan (after validation), because the blueprint grammars
already refuse most of them; this checks the last line of defence, the `!unsafe` marking.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from aigrid import layout
from aigrid.catalog import catalog
from aigrid.plan import Plan, build_plan
from aigrid.render import ansible
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, load_vars

PLAYBOOK = """\
- name: Read every compiled variable of the node
  hosts: all
  gather_facts: false
  tasks:
    - name: Show each variable
      ansible.builtin.debug:
        var: "{{ item }}"
      loop: "{{ names }}"
"""


def _planted_plan(marker: Path) -> Plan:
    result = validate_file(BLUEPRINTS / "examples" / "lab-edge-site.yaml")
    assert result.blueprint is not None
    plan = build_plan(result.blueprint, catalog())
    payload = "{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    site = plan.sites[0]
    node = site.nodes[0]
    planted = node.model_copy(
        update={"labels": {**node.labels, "team": payload, payload: "x"}, "region": payload}
    )
    stack = plan.stack.model_copy(
        update={"kubernetes": plan.stack.kubernetes.model_copy(update={"version": payload})}
    )
    sites = [site.model_copy(update={"nodes": [planted, *site.nodes[1:]]}), *plan.sites[1:]]
    return plan.model_copy(update={"name": payload, "sites": sites, "stack": stack})


def _run_vars(tmp_path: Path, files: dict[str, bytes], hostname: str) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "out"
    for relative, content in files.items():
        if relative.startswith(layout.ANSIBLE) and "/roles/" not in relative:
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            (out / relative).write_bytes(content)
    names: list[str] = []
    for relative in (layout.group_vars("all"), layout.host_vars(hostname)):
        names += list(load_vars(out / relative))
    playbook = out / layout.ANSIBLE / "read.yml"
    playbook.write_text(PLAYBOOK)
    inventory = out / layout.INVENTORY_DIR / "local.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {hostname: {"ansible_connection": "local"}}}}))
    # The vars sit beside the inventory (group_vars/, host_vars/), where every entry point reads them.
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(playbook), "-e", json.dumps({"names": names})],
        cwd=out / layout.ANSIBLE,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_planted_lookup_in_compiled_vars_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    plan = _planted_plan(marker)
    proc = _run_vars(tmp_path, ansible.render(plan), plan.sites[0].nodes[0].hostname)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not marker.exists(), "a blueprint value was templated by Ansible on the controller"
    assert "lookup('pipe'" in proc.stdout  # shown as the literal text it is


def test_the_same_vars_without_unsafe_would_run_the_lookup(tmp_path: Path) -> None:
    """The control: proves the test above can fail, for the reason it names."""
    marker = tmp_path / "pwned"
    plan = _planted_plan(marker)
    files = {
        path: content.replace(b"!unsafe ", b"") if path.endswith(".yml") else content
        for path, content in ansible.render(plan).items()
    }
    _run_vars(tmp_path, files, plan.sites[0].nodes[0].hostname)
    assert marker.exists()


def _ansible_reads(out: Path, hostname: str) -> dict[str, object]:
    """The variables of HOSTNAME as Ansible itself loads them from the compiled files."""
    inventory = str(out / layout.INVENTORY)
    proc = subprocess.run(
        ["ansible-inventory", "-i", inventory, "--host", hostname],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: dict[str, object] = json.loads(proc.stdout)
    return loaded


def test_ansible_reads_every_compiled_variable_as_written(tmp_path: Path) -> None:
    """A PCI id ('2330'), a version ('1.30') or a mode ('0755') reaches the roles as the
    string it is: the preflight GPU check compares PCI ids as strings, and on a real H200
    it failed while ansible-core turned the `!unsafe` id into an integer."""
    result = validate_file(BLUEPRINTS / "examples" / "multi-carrier-grid.yaml")
    assert result.blueprint is not None
    plan = build_plan(result.blueprint, catalog())
    node = next(n for site in plan.sites for n in site.nodes if n.gpu_pci_device_ids)
    labels = {**node.labels, "release": "1.30", "mode": "0755", "ok": "yes"}
    planted = node.model_copy(update={"labels": labels})
    site = next(s for s in plan.sites if node in s.nodes)
    nodes = [planted if n is node else n for n in site.nodes]
    plan = plan.model_copy(
        update={"sites": [s.model_copy(update={"nodes": nodes}) if s is site else s for s in plan.sites]}
    )
    out = tmp_path / "out"
    for relative, content in ansible.render(plan).items():
        if "/roles/" not in relative:
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            (out / relative).write_bytes(content)
    written: dict[str, object] = {}
    # In the order Ansible lets them win: a site with its carrier's own mirrors re-sets them.
    files = (
        layout.group_vars("all"),
        layout.group_vars("gpu_nodes"),
        layout.group_vars(ansible.group_name("site", site.name)),
        layout.host_vars(node.hostname),
    )
    for relative in files:
        if (out / relative).exists():
            written.update(load_vars(out / relative))
    loaded = _ansible_reads(out, node.hostname)
    assert {name: loaded.get(name) for name in written} == written
    assert all(isinstance(pci, str) for pci in loaded["preflight_gpu_pci_ids"])  # type: ignore[attr-defined]
