"""The compiled ansible.cfg's settings do what its comments say, run by real ansible-playbook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_local_playbook

# Copy a file (which notifies a handler), then fail: the state of a run that wrote containerd's
# configuration and stopped before the play's handlers ran.
PLAYBOOK = """\
- name: Configure, then fail
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the configuration
      ansible.builtin.copy:
        content: "new\\n"
        dest: "{{ scratch }}/config.toml"
        mode: "0644"
      notify: Restart the service
    - name: A later step fails
      ansible.builtin.fail:
        msg: the mirror's secret is missing
  handlers:
    - name: Restart the service
      ansible.builtin.copy:
        content: "restarted\\n"
        dest: "{{ scratch }}/restarted"
        mode: "0644"
"""


@pytest.mark.parametrize(("config", "restarted"), [("compiled", True), ("ansible's default", False)])
def test_a_failed_run_still_runs_the_handlers_it_notified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, restarted: bool
) -> None:
    """A rerun finds the configuration unchanged and notifies nothing: the restart must happen
    in the run that changed it, failed or not (force_handlers)."""
    cfg = tmp_path / "ansible.cfg"
    if config == "compiled":
        shutil.copy(ROOT / "tests" / "golden" / "lab-edge-site" / "ansible" / "ansible.cfg", cfg)
    else:
        cfg.write_text("[defaults]\n")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(cfg))
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    proc = run_local_playbook(playbook, {"scratch": str(tmp_path)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (tmp_path / "restarted").exists() is restarted, proc.stdout
