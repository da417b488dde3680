"""`aigrid lab up`'s steps before and around the lab itself: no root or namespaces needed here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aigrid.lab import lab
from aigrid.lab.site import InvalidBlueprint, RolledBack, UnknownSite, up_from_blueprint
from aigrid.plan import SitePlan
from conftest import BLUEPRINTS

LAB = BLUEPRINTS / "examples" / "lab-edge-site.yaml"
INVALID = BLUEPRINTS / "examples" / "invalid" / "AG011-invalid-value.yaml"


def test_an_invalid_blueprint_makes_no_lab(tmp_path: Path) -> None:
    with pytest.raises(InvalidBlueprint) as raised:
        up_from_blueprint(INVALID, "lab-edge-01", tmp_path / "lab")
    assert any(d.code == "AG011" for d in raised.value.result.errors)
    assert not (tmp_path / "lab").exists()


def test_an_unknown_site_names_the_sites_there_are(tmp_path: Path) -> None:
    with pytest.raises(UnknownSite, match=r"no site 'nope' in .*; sites: lab-edge-01"):
        up_from_blueprint(LAB, "nope", tmp_path / "lab")
    assert not (tmp_path / "lab").exists()


def test_a_failed_lab_up_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken_down: list[Path] = []

    def fail(site: SitePlan, directory: Path) -> lab.LabState:
        raise lab.LabError(f"ip netns add: cannot make a lab for {site.name}")

    def down(directory: Path) -> list[str]:
        taken_down.append(directory)
        return []

    monkeypatch.setattr(lab, "up", fail)
    monkeypatch.setattr(lab, "down", down)
    with pytest.raises(RolledBack, match="cannot make a lab for lab-edge-01"):
        up_from_blueprint(LAB, "lab-edge-01", tmp_path / "lab")
    assert taken_down == [tmp_path / "lab"]


def test_two_labs_never_share_an_ssh_master_connection(tmp_path: Path) -> None:
    """Every lab's hosts have the same addresses (fd00:ed::10, ...) behind their own hub; Ansible
    names an SSH master socket by host, port and user, so two labs run side by side (the lab and
    upgrade tests under xdist) must keep their sockets apart, or one lab's tasks run on the other's
    hosts. Each lab's inventory names its own folder, short enough for a socket path."""
    folders = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        host = lab.LabHost("lab-cp", "ns", "fd00:ed::10")
        state = lab.LabState(lab.lab_id(tmp_path / name), "site", "hub", str(tmp_path / name), [host])
        written = yaml.safe_load(lab.write_inventory(state).read_text())
        folders.append(written["all"]["hosts"]["lab-cp"]["ansible_control_path_dir"])
    assert folders[0] != folders[1]
    # ssh's socket: the folder, "/", a 40-hex %C, and a temporary suffix while it is made.
    assert all(len(folder) + 1 + 40 + len(".XXXXXXXXXXXXXXXX") < 108 for folder in folders)
