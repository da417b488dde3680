"""`aigrid collection`: the shipped roles as an Ansible collection artifact for AWX/AAP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aigrid import collection
from aigrid.cli import EXIT_INVALID, fail, out


def collection_command(
    directory: Annotated[
        Path, typer.Argument(file_okay=False, help="Folder the artifact is written into (made if missing).")
    ] = Path(),
) -> None:
    """Build the roles as the Ansible collection aigrid.gpu_grid (NAMESPACE-NAME-VERSION.tar.gz),
    for `ansible-galaxy collection install` or an AWX/AAP project."""
    try:
        artifact = collection.build(directory)
    except collection.CollectionError as exc:
        fail(exc, EXIT_INVALID)
    out.print(f"built {collection.FQCN} {artifact}; roles: {', '.join(collection.role_names())}")
