"""Read every node of DIR's sites over Ansible (read only) and compare it with DIR's expectations."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigrid import bringup, layout
from aigrid.day2.drift import NodeDrift, compare
from aigrid.verify.run import expectation_files

TASK = "Read the node's packages, containerd, kubelet, slices and GPUs"
# One task per node: the node-side script reads everything at once (one round trip), and the
# play gathers no facts. check_mode: false keeps it running under --check: it changes nothing.
PLAYBOOK = f"""---
- name: Read what aigrid configured on each node (aigrid drift changes nothing)
  hosts: all
  gather_facts: false
  tasks:
    - name: {TASK}
      ansible.builtin.script:
        cmd: node_state.py {{{{ network_slice_parent_interface | default('') | quote }}}}
        executable: python3
      changed_when: false
      check_mode: false
"""


class DriftError(Exception):
    pass


@dataclass
class DriftReport:
    nodes: list[NodeDrift] = field(default_factory=list)
    # Nodes that could not be read, with why: neither clean nor drifted.
    unread: dict[str, str] = field(default_factory=dict)

    @property
    def drifted(self) -> bool:
        return any(node.mismatches for node in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "nodes": [node.to_dict() for node in self.nodes],
            "unread": dict(sorted(self.unread.items())),
        }


def expected_nodes(directory: Path, site: str | None) -> list[dict[str, Any]]:
    sites = expectation_files(directory)
    if not sites:
        raise DriftError(f"{directory} has no {layout.EXPECTATIONS}/: compile a blueprint into it first")
    if site is not None and site not in sites:
        raise DriftError(f"{directory} has no site {site!r} (sites: {', '.join(sites)})")
    chosen = [sites[site]] if site is not None else list(sites.values())
    return [node for path in chosen for node in json.loads(path.read_text())["nodes"]]


def run(directory: Path, site: str | None, inventories: list[Path]) -> DriftReport:
    expected = expected_nodes(directory, site)
    states: dict[str, dict[str, Any]] = {}

    def keep(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok" and data.get("task") == TASK:
            stdout = (data.get("res") or {}).get("stdout") or ""
            with contextlib.suppress(ValueError):  # reported below as unread
                states[str(data.get("host"))] = json.loads(stdout)

    with tempfile.TemporaryDirectory(prefix="aigrid-drift-") as work:
        playbook = Path(work, "drift.yml")
        playbook.write_text(PLAYBOOK)
        Path(work, "files").mkdir()
        shutil.copyfile(Path(__file__).with_name("node_state.py"), Path(work, "files", "node_state.py"))
        try:
            outcome = bringup.run(
                directory,
                limit=",".join(node["hostname"] for node in expected),
                inventories=inventories,
                playbook=playbook,
                on_raw_event=keep,
            )
        except bringup.BringupError as exc:
            raise DriftError(str(exc)) from exc
    report = DriftReport()
    for node in expected:
        name = node["hostname"]
        if name in states:
            report.nodes.append(compare(node, states[name]))
        else:
            report.unread[name] = "; ".join(outcome.messages.get(name, [])) or "the node was not read"
    return report
