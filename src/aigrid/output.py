"""Write a compiled output directory all at once, or not at all.

Everything is written to a temporary directory beside the target, then swapped in with one
atomic rename (renameat2 RENAME_EXCHANGE where the kernel has it). A compile that fails or
is killed midway leaves the previous output exactly as it was; its leftovers are removed by
the next compile.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from pathlib import Path

from aigrid.layout import LOCK as MARKER

TMP_PREFIX = ".aigrid-tmp-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """The target cannot be written (it is a file, or a directory aigrid did not make)."""


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False where the kernel or libc cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def check_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise OutputError(
            f"{target} is not empty and holds no {MARKER}: aigrid compile did not make it, so it is left "
            "alone; choose an empty or new directory"
        )


def write_tree(target: Path, files: dict[str, bytes]) -> None:
    """Replace `target` with exactly `files` (relative path -> content), atomically.

    Raises OutputError when the target is not aigrid's to replace or cannot be written (its
    folder is a file, read-only, full)."""
    try:
        check_target(target)
        _replace(target, files)
    except OSError as exc:
        existing = next((folder for folder in target.absolute().parents if folder.exists()), None)
        blocked = existing is not None and not existing.is_dir()
        why = f"{existing} is not a directory" if blocked else exc.strerror or str(exc)
        raise OutputError(f"cannot write {target}: {why}") from exc


def _replace(target: Path, files: dict[str, bytes]) -> None:
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(f"{TMP_PREFIX}{target.name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}-", dir=parent))
    try:
        for relative, content in sorted(files.items()):
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        staging.chmod(0o755)
        if target.exists():
            if _exchange(staging, target):
                shutil.rmtree(staging)
                return
            old = staging.with_name(staging.name + "-old")
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
