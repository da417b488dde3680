"""The apt_source role against a repository already defined outside aigrid (cuda-keyring on
cloud and DGX images): apt refuses two definitions of one repository with different
options, so the role must use the existing one. Runs the role for real (ansible-playbook,
local connection) on a scratch apt directory, and real apt-get to read the result."""

from __future__ import annotations

import functools
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import ROOT, apt_reads, run_local_playbook

URI = "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/"
# What cuda-keyring installs (CUDA Installation Guide, "Network Repo Installation for Ubuntu").
CUDA_KEYRING_LIST = f"deb [signed-by=/usr/share/keyrings/cuda-archive-keyring.gpg] {URI} /\n"
OURS = f"Types: deb\nURIs: {URI}\nSuites: /\nTrusted: yes\n"

PLAYBOOK = """\
- name: One repository
  hosts: all
  gather_facts: false
  roles: [apt_source]
"""


def _apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "keyrings").mkdir()
    for name, text in files.items():
        (apt / "sources.list.d" / name).write_text(text)
    return apt


TOOLKIT_URI = "https://nvidia.github.io/libnvidia-container/stable/deb/amd64"
# What the Container Toolkit install guide downloads ("Installing with Apt", the sed adds the
# signed-by): apt puts the architecture in place of $(ARCH) when it reads it.
TOOLKIT_LIST = (
    "deb [signed-by=/usr/share/keyrings/nvidia-container-toolkit-keyring.gpg] "
    "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH) /\n"
)


def _defined_elsewhere(apt: Path, uri: str = URI, arch: str = "amd64") -> list[str]:
    script = ROOT / "roles" / "apt_source" / "files" / "defined-elsewhere.sh"
    proc = subprocess.run(
        ["sh", str(script), uri, str(apt), arch], capture_output=True, text=True, check=True
    )
    return [Path(line).name for line in proc.stdout.splitlines()]


@pytest.mark.parametrize(("arch", "found"), [("amd64", ["nvidia-container-toolkit.list"]), ("arm64", [])])
def test_finds_a_definition_whose_uri_names_the_architecture_as_apt_does(
    tmp_path: Path, arch: str, found: list[str]
) -> None:
    """A node set up by the toolkit's install guide: its $(ARCH) entry was not recognised, a
    second definition with another key went in, and apt refused to read any source."""
    apt = _apt_dir(tmp_path, {"nvidia-container-toolkit.list": TOOLKIT_LIST})
    assert _defined_elsewhere(apt, TOOLKIT_URI, arch) == found


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"cuda-ubuntu2404-x86_64.list": CUDA_KEYRING_LIST}, ["cuda-ubuntu2404-x86_64.list"]),
        ({"cuda.list": CUDA_KEYRING_LIST.replace(f"{URI} /", f"{URI.rstrip('/')} /")}, ["cuda.list"]),
        ({"cuda.sources": OURS.replace("Trusted: yes", "Signed-By: /k.gpg")}, ["cuda.sources"]),
        ({"cuda.list": "# " + CUDA_KEYRING_LIST}, []),
        ({"aigrid-cuda.sources": OURS}, []),
        ({"other.list": CUDA_KEYRING_LIST.replace("x86_64", "sbsa")}, []),
    ],
)
def test_finds_a_definition_made_outside_aigrid(
    tmp_path: Path, files: dict[str, str], found: list[str]
) -> None:
    assert _defined_elsewhere(_apt_dir(tmp_path, files)) == found


@pytest.mark.skipif(
    subprocess.run(["which", "apt-get"], capture_output=True).returncode != 0, reason="no apt"
)
def test_the_role_uses_cuda_keyrings_definition_instead_of_adding_a_conflicting_one(tmp_path: Path) -> None:
    apt = _apt_dir(tmp_path, {"cuda-ubuntu2404-x86_64.list": CUDA_KEYRING_LIST, "aigrid-cuda.sources": OURS})
    # The state an earlier aigrid left on such a node: apt refuses to read its sources at all.
    assert "Conflicting values set for option" in apt_reads(apt, tmp_path / "lists")
    playbook = tmp_path / "apt.yml"
    playbook.write_text(PLAYBOOK)
    extra = {
        "apt_source_name": "aigrid-cuda",
        "apt_source_uri": URI,
        "apt_source_key_url": URI + "3bf863cc.pub",
        "apt_source_dir": str(apt),
    }
    proc = run_local_playbook(playbook, extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is already defined in" in proc.stdout and "cuda-ubuntu2404-x86_64.list" in proc.stdout
    assert sorted(p.name for p in (apt / "sources.list.d").iterdir()) == ["cuda-ubuntu2404-x86_64.list"]
    assert not list((apt / "keyrings").iterdir())  # no second key fetched
    read = apt_reads(apt, tmp_path / "lists")
    assert "Conflicting values" not in read and "could not be read" not in read, read


def _include(uri: str) -> str:
    return f"""\
- name: A role that needs {uri}
  hosts: all
  gather_facts: false
  tasks:
    - name: Configure the repository
      ansible.builtin.include_role:
        name: apt_source
      vars:
        apt_source_name: aigrid-nvidia-cuda
        apt_source_uri: {uri}
"""


def test_a_repository_is_defined_once_per_run_unless_its_definition_changes(tmp_path: Path) -> None:
    # nvidia_driver, cuda_runtime and tensorrt each include the CUDA repository, in plays of
    # their own: the second include of the same definition runs none of the role's tasks.
    apt = _apt_dir(tmp_path, {})
    first, other = "file:/srv/cuda/", "file:/srv/cuda-mirror/"
    playbook = tmp_path / "three.yml"
    playbook.write_text(_include(first) + _include(first) + _include(other))
    proc = run_local_playbook(playbook, {"apt_source_dir": str(apt)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Once for the first definition, once again for the changed one.
    assert proc.stdout.count("TASK [apt_source : Write the repository definition]") == 2, proc.stdout
    written = (apt / "sources.list.d" / "aigrid-nvidia-cuda.sources").read_text()
    assert f"URIs: {other}" in written and first not in written


def test_a_re_published_signing_key_replaces_the_nodes_copy(tmp_path: Path) -> None:
    """Vendors re-publish a key with a later expiry at the same URL (pkgs.k8s.io, 2024): a node
    that kept its first copy fails `apt-get update` with EXPKEYSIG from the old expiry on. The
    role asks again on every run (get_url's If-Modified-Since) and takes the newer key."""
    apt = _apt_dir(tmp_path, {})
    (tmp_path / "www").mkdir()
    key = tmp_path / "www" / "Release.key"
    playbook = tmp_path / "key.yml"
    playbook.write_text(PLAYBOOK)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(key.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    extra = {
        "apt_source_name": "aigrid-kubernetes",
        "apt_source_uri": "file:/srv/kubernetes/",
        "apt_source_key_url": f"http://127.0.0.1:{server.server_address[1]}/Release.key",
        "apt_source_dir": str(apt),
    }
    copies = []
    try:
        for text in ("first key, expires 2024-11-02\n", "same key, expiry extended\n"):
            key.write_text(text)
            proc = run_local_playbook(playbook, extra)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            copies.append((apt / "keyrings" / "aigrid-kubernetes.asc").read_text())
    finally:
        server.shutdown()
    assert copies == ["first key, expires 2024-11-02\n", "same key, expiry extended\n"]
