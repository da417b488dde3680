"""The roles as the Ansible collection aigrid.gpu_grid: built by `aigrid collection` with
ansible-galaxy, holding every shipped role, installable offline and usable by full name."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from aigrid import __version__, collection
from conftest import ROOT, run_aigrid


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("collection")
    proc = run_aigrid("collection", str(out / "dist"), cwd=out, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = out / "dist" / f"aigrid-gpu_grid-{__version__}.tar.gz"
    assert str(path) in proc.stdout
    return path


def test_the_artifact_holds_every_shipped_role_and_the_package_version(artifact: Path) -> None:
    shipped = sorted(p.name for p in (ROOT / "src" / "aigrid" / "roles").iterdir() if p.is_dir())
    assert collection.role_names() == shipped
    with tarfile.open(artifact) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    for role in shipped:
        assert f"roles/{role}/tasks/main.yml" in names, role
        assert f"roles/{role}/meta/main.yml" in names, role
    assert {"meta/runtime.yml", "README.md"} <= names
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("aigrid", "gpu_grid", __version__)
    assert info["license"] == ["Apache-2.0"]


def test_it_installs_offline_and_its_roles_resolve_by_full_name(artifact: Path, tmp_path: Path) -> None:
    installed = tmp_path / "collections"
    proc = subprocess.run(
        ["ansible-galaxy", "collection", "install", str(artifact), "-p", str(installed), "--offline"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (installed / "ansible_collections" / "aigrid" / "gpu_grid" / "roles" / "nvidia_driver").is_dir()
    # Every role by its FQCN: a syntax check loads each role, and fails on one it cannot find.
    names = [f"aigrid.gpu_grid.{name}" for name in collection.role_names()]
    check = _syntax_check(tmp_path, installed, names)
    assert check.returncode == 0, check.stdout + check.stderr
    # The control: the same check fails for a role the collection lacks.
    assert _syntax_check(tmp_path, installed, ["aigrid.gpu_grid.no_such_role"]).returncode != 0


def _syntax_check(work: Path, collections: Path, roles: list[str]) -> subprocess.CompletedProcess[str]:
    playbook = work / "play.yml"
    playbook.write_text(
        json.dumps([{"hosts": "all", "gather_facts": False, "roles": [name]} for name in roles])
    )
    return subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "--syntax-check", str(playbook)],
        cwd=work,
        # Only the installed collection: no roles path that holds the same roles by short name.
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_ROLES_PATH": str(work)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
