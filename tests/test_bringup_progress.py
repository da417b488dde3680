"""`aigrid bringup` off a terminal (CI): one line per task result per host, as the run goes."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from aigrid import layout
from aigrid.bringup import TaskResult, progress_line, task_result
from conftest import ROOT


def event(name: str, **data: Any) -> dict[str, Any]:
    """An ansible-runner event as its event_handler receives it."""
    return {"event": name, "uuid": "0", "counter": 1, "event_data": {"play": "site", **data}}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            event("runner_on_ok", host="gpu01", task="Install", role="nvidia_driver", res={"changed": False}),
            TaskResult("gpu01", "nvidia_driver : Install", "ok"),
        ),
        (
            event("runner_on_ok", host="gpu01", task="Write", res={"changed": True}),
            TaskResult("gpu01", "Write", "changed"),
        ),
        (
            event("runner_on_skipped", host="cp", task="Only GPUs", role="gpu_verify"),
            TaskResult("cp", "gpu_verify : Only GPUs", "skipped"),
        ),
        (
            event("runner_on_failed", host="gpu02", task="Check", res={"msg": "nouveau\n  is loaded"}),
            TaskResult("gpu02", "Check", "failed", "nouveau is loaded"),
        ),
        (
            event("runner_on_failed", host="gpu02", task="Probe", ignore_errors=True, res={"stderr": "no"}),
            TaskResult("gpu02", "Probe", "failed (ignored)", "no"),
        ),
        (
            # What ansible-runner reports for a failed no_log task: only "censored".
            event("runner_on_failed", host="gpu02", task="Token", res={"censored": "hidden"}),
            TaskResult("gpu02", "Token", "failed", "hidden"),
        ),
        (
            event("runner_on_unreachable", host="gpu03", task="Gather", res={"msg": "ssh: timed out"}),
            TaskResult("gpu03", "Gather", "unreachable", "ssh: timed out"),
        ),
    ],
)
def test_result_events_become_task_results(given: dict[str, Any], expected: TaskResult) -> None:
    assert task_result(given) == expected


@pytest.mark.parametrize(
    "other",
    [
        event("runner_on_start", host="gpu01", task="Install"),
        event("playbook_on_task_start", task="Install"),
        event("runner_item_on_ok", host="gpu01", task="Install", res={"changed": True}),
        event("playbook_on_stats"),
        {"event": "verbose", "stdout": "PLAY RECAP"},
    ],
)
def test_other_events_are_not_results(other: dict[str, Any]) -> None:
    assert task_result(other) is None


def test_progress_line_format() -> None:
    assert progress_line(TaskResult("gpu01", "nvidia_driver : Install", "changed")) == (
        "gpu01: changed: nvidia_driver : Install"
    )
    assert progress_line(TaskResult("gpu02", "Check", "failed", "nouveau is loaded")) == (
        "gpu02: failed: Check: nouveau is loaded"
    )


PLAY = """
- name: site
  hosts: all
  gather_facts: false
  tasks:
    - name: Look
      ansible.builtin.command: "true"
      changed_when: false
    - name: Write
      ansible.builtin.copy: {{content: "x", dest: "{work}/written"}}
    - name: Not here
      ansible.builtin.debug: {{msg: never}}
      when: false
    - name: Wait for the test
      ansible.builtin.wait_for: {{path: "{work}/go", timeout: 60}}
    - name: Probe
      ansible.builtin.command: "false"
      ignore_errors: true
    - name: Stop
      ansible.builtin.fail: {{msg: stopped here}}
"""


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    """A compiled directory whose playbook runs on this machine, as one host."""
    out = tmp_path / "out"
    (out / layout.INVENTORY).parent.mkdir(parents=True)
    (out / layout.ANSIBLE_CFG).write_text("[defaults]\nhost_key_checking = False\n")
    (out / layout.PLAYBOOK).write_text(PLAY.format(work=tmp_path))
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    (out / layout.INVENTORY).write_text(yaml.safe_dump({"all": {"hosts": {"edge-host": host}}}))
    return out


def test_bringup_off_a_terminal_prints_each_result_as_it_comes(compiled: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aigrid", "bringup", str(compiled)],
        cwd=ROOT,
        stdout=subprocess.PIPE,  # not a terminal
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in proc.stdout or []:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        # The playbook waits for a file the test writes only once the first lines have arrived:
        # lines printed only at the end would never let it go on.
        while "edge-host: skipped: Not here\n" not in seen:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            assert line is not None, "".join(seen)
            seen.append(line)
        (tmp_path / "go").write_text("")
        while (line := lines.get(timeout=120)) is not None:
            seen.append(line)
        proc.wait(timeout=60)
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        proc.kill()
    assert proc.returncode == 1, "".join(seen) + stderr
    summary = next(i for i, line in enumerate(seen) if "bring-up summary" in line)
    progress = [line.rstrip("\n") for line in seen[:summary] if line.startswith("edge-host: ")]
    assert progress == [
        "edge-host: ok: Look",
        "edge-host: changed: Write",
        "edge-host: skipped: Not here",
        "edge-host: ok: Wait for the test",
        "edge-host: failed (ignored): Probe: non-zero return code",
        "edge-host: failed: Stop: stopped here",
    ]


def test_bringup_json_keeps_stdout_for_the_summary(compiled: Path, tmp_path: Path) -> None:
    (tmp_path / "go").write_text("")
    proc = subprocess.run(
        [sys.executable, "-m", "aigrid", "bringup", "--json", str(compiled)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    summary = json.loads(proc.stdout)
    assert summary["failed_hosts"] == ["edge-host"] and proc.returncode == 1
    assert "edge-host: changed: Write" in proc.stderr.splitlines()


def _processes_naming(text: str) -> list[str]:
    """The command lines of the running processes that contain `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in command:
                found.append(command)
    return found


def test_ctrl_c_stops_ansible_and_reports_what_ran(compiled: Path, tmp_path: Path) -> None:
    """Ctrl-C during bring-up SIGKILLed ansible-playbook (ansible-runner's handler) while
    ansible-core's worker, in a session of its own, went on with the task in flight, orphaned;
    aigrid said the play never ran. Ansible must stop as on a terminal, and the summary say
    what the hosts did before."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aigrid", "bringup", "--json", str(compiled)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # the progress lines, with --json
            seen.append(line)
            if line == "edge-host: skipped: Not here\n":
                break
        else:
            raise AssertionError("".join(seen))
        # The play now waits in a task (wait_for) until the test writes "go", which it never does.
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "aigrid: interrupted (SIGINT)" in stderr
    summary = json.loads(stdout)
    assert summary["status"] == "interrupted"
    counts = {"ok": 2, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 1}
    assert summary["hosts"]["edge-host"] == counts
    # No part of the run goes on behind aigrid's back: Ansible's worker ends too.
    inventory = str(compiled / layout.INVENTORY)
    deadline = time.monotonic() + 30
    while _processes_naming(inventory) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _processes_naming(inventory)
