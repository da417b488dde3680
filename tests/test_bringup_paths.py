"""`aigrid bringup` with a relative DIR, as docs/lab.md shows it: ansible-runner runs from a
private directory, so a relative inventory path used to load nothing; every host then fell
out of its groups, the GPU roles were skipped and the run reported success."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from aigrid import layout
from conftest import BLUEPRINTS, run_aigrid

# Stands in for the compiled site.yml: fails unless the compiled inventory put the host in
# gpu_nodes (what the GPU roles' plays target).
PLAYBOOK = """\
- name: The compiled inventory loaded
  hosts: all
  gather_facts: false
  tasks:
    - name: The host is a GPU node
      ansible.builtin.assert:
        that: inventory_hostname in groups['gpu_nodes']
"""
INVENTORY = "all:\n  children:\n    gpu_nodes:\n      hosts:\n        gpu01: {}\n"
LOCAL = "all:\n  hosts:\n    gpu01: {ansible_connection: local, ansible_python_interpreter: auto_silent}\n"


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    """A compiled DIR with the real ansible.cfg and a one-task playbook."""
    proc = run_aigrid(
        "compile", str(BLUEPRINTS / "examples" / "lab-edge-site.yaml"), "--out", str(tmp_path / "full")
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    (out / layout.INVENTORY).parent.mkdir(parents=True)
    shutil.copy(tmp_path / "full" / layout.ANSIBLE_CFG, out / layout.ANSIBLE_CFG)
    (out / layout.INVENTORY).write_text(INVENTORY)
    (out / layout.PLAYBOOK).write_text(PLAYBOOK)
    (out / layout.ROLES).mkdir()
    (tmp_path / "local.yml").write_text(LOCAL)
    return out


def test_a_relative_dir_runs_with_the_compiled_inventory(compiled: Path) -> None:
    proc = run_aigrid("bringup", "out", "--inventory", "local.yml", "--json", cwd=compiled.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["hosts"]["gpu01"]["ok"] == 1, summary


def test_an_inventory_that_does_not_load_fails_the_run(compiled: Path) -> None:
    (compiled / layout.INVENTORY).write_text("all: [this is not an inventory\n")
    proc = run_aigrid("bringup", "out", "--inventory", "local.yml", "--json", cwd=compiled.parent)
    assert proc.returncode != 0
    assert "hosts.yml" in proc.stdout + proc.stderr


def test_the_secrets_file_reaches_the_roles_on_the_controller(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aigrid bringup --secrets FILE`: the operator's aigrid_secrets (here ansible-vault
    encrypted, its password from ANSIBLE_VAULT_PASSWORD_FILE) are extra variables of the run."""
    (compiled / layout.PLAYBOOK).write_text(
        PLAYBOOK
        + "    - name: The secret is there\n      ansible.builtin.assert:\n"
        + "        that: aigrid_secrets['vault://aurora/mirrors/token'] == 'tok-9'\n"
    )
    secrets = compiled.parent / "secrets.yml"
    secrets.write_text("aigrid_secrets:\n  vault://aurora/mirrors/token: !unsafe tok-9\n")
    password = compiled.parent / "vault-password"
    password.write_text("correct horse\n")
    monkeypatch.setenv("ANSIBLE_VAULT_PASSWORD_FILE", str(password))
    subprocess.run(["ansible-vault", "encrypt", str(secrets)], check=True, capture_output=True)
    assert b"tok-9" not in secrets.read_bytes()
    proc = run_aigrid(
        "bringup",
        "out",
        "--inventory",
        "local.yml",
        "--secrets",
        "secrets.yml",
        "--json",
        cwd=compiled.parent,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["hosts"]["gpu01"]["ok"] == 2
