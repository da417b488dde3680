"""The shipped roles as an Ansible collection, aigrid.gpu_grid, for AWX/AAP and ansible-galaxy.

The roles live once, in the package (src/aigrid/roles); the collection tree (galaxy.yml,
meta/runtime.yml, README.md, roles/) is assembled from them in a scratch folder and handed to
`ansible-galaxy collection build`, so its version is always the package's and no second copy
of the roles is kept in the repository.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from aigrid import __version__, tools
from aigrid.render.ansible import role_sources

NAMESPACE = "aigrid"
NAME = "gpu_grid"
FQCN = f"{NAMESPACE}.{NAME}"
# The roles' own meta/main.yml (min_ansible_version) says the same.
REQUIRES_ANSIBLE = ">=2.17"

README = """\
# {fqcn}

The Ansible roles of [aigrid](https://github.com/aigrid/aigrid), which bring an edge GPU node
from a bare OS to a verified Kubernetes node: {roles}.

Each role reads only variables under its own prefix (`nvidia_driver_*`, `gpu_verify_*`, ...);
`aigrid compile` writes them, from a blueprint, into the inventory's `group_vars/` and
`host_vars/`. Use the roles by their full names, e.g. `{fqcn}.nvidia_driver`.

Version {version}, built by `aigrid collection`.
"""


class CollectionError(Exception):
    pass


def role_names() -> list[str]:
    return sorted({relative.split("/", 1)[0] for relative in role_sources()})


def galaxy_manifest() -> dict[str, Any]:
    """galaxy.yml: what ansible-galaxy requires (namespace, name, version, readme, authors,
    license) and what keeps the artifact to the roles."""
    return {
        "namespace": NAMESPACE,
        "name": NAME,
        "version": __version__,
        "readme": "README.md",
        "authors": ["aigrid"],
        "description": "Roles that bring edge GPU nodes up from an aigrid blueprint's compiled variables",
        "license": ["Apache-2.0"],
        "tags": ["nvidia", "gpu", "kubernetes", "edge"],
        "repository": "https://github.com/aigrid/aigrid",
        "dependencies": {},
        "build_ignore": ["**/__pycache__", "*.tar.gz", ".*"],
    }


def assemble(tree: Path) -> None:
    """Write the collection's source tree into the empty folder `tree`."""
    names = role_names()
    files: dict[str, bytes] = {
        "galaxy.yml": yaml.safe_dump(galaxy_manifest(), sort_keys=False).encode(),
        "meta/runtime.yml": yaml.safe_dump({"requires_ansible": REQUIRES_ANSIBLE}).encode(),
        "README.md": README.format(
            fqcn=FQCN, roles=", ".join(f"`{name}`" for name in names), version=__version__
        ).encode(),
    }
    files |= {f"roles/{relative}": content for relative, content in role_sources().items()}
    for relative, content in files.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_bytes(content)


def artifact_name() -> str:
    return f"{NAMESPACE}-{NAME}-{__version__}.tar.gz"


def build(out: Path) -> Path:
    """Build the collection artifact into the folder `out` (replacing one of this version);
    returns its path."""
    galaxy = tools.which("ansible-galaxy")
    if galaxy is None:
        raise CollectionError("ansible-galaxy is not installed beside aigrid or on PATH; pip install ansible")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aigrid-collection-") as scratch:
        tree = Path(scratch, NAME)
        tree.mkdir()
        assemble(tree)
        proc = subprocess.run(
            [galaxy, "collection", "build", str(tree), "--output-path", str(out), "--force"],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise CollectionError(
            f"ansible-galaxy collection build failed: {(proc.stderr or proc.stdout).strip()}"
        )
    artifact = out / artifact_name()
    if not artifact.is_file():
        raise CollectionError(f"ansible-galaxy collection build wrote no {artifact.name} into {out}")
    return artifact
