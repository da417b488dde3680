"""Write a compiled output directory all at once, or not at all.

Everything is written to a temporary directory beside the target, then swapped in with one
atomic rename (renameat2 RENAME_EXCHANGE where the kernel has it). What the user owns in the
previous output (`keep`: a virtualenv, their own files) is hard-linked into the temporary
directory first (copied where links cannot be made), so it survives the swap while the previous
output stays whole until then. A compile that fails or is killed midway leaves the previous
output exactly as it was; its leftovers are removed by the next compile.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

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


def write_tree(target: Path, files: dict[str, bytes], keep: Callable[[str], bool] | None = None) -> None:
    """Replace `target` with `files` (relative path -> content) and, from the previous `target`,
    every path `keep` says is the user's (relative POSIX path -> bool) that `files` does not
    name, atomically.

    Raises OutputError when the target is not aigrid's to replace or cannot be written (its
    folder is a file, read-only, full)."""
    try:
        check_target(target)
        _replace(target, files, keep)
    except OSError as exc:
        existing = next((folder for folder in target.absolute().parents if folder.exists()), None)
        blocked = existing is not None and not existing.is_dir()
        why = f"{existing} is not a directory" if blocked else exc.strerror or str(exc)
        raise OutputError(f"cannot write {target}: {why}") from exc


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, destination, follow_symlinks=False)


def _carry(previous: Path, staging: Path, files: dict[str, bytes], keep: Callable[[str], bool]) -> None:
    """Bring what the user owns in `previous` into `staging`, whole folders at once."""
    for folder, subfolders, names in os.walk(previous):
        here = PurePosixPath(Path(folder).relative_to(previous).as_posix())
        carried = set()
        for name in sorted(subfolders):
            relative = str(here / name)
            if keep(relative) and not (staging / relative).exists():
                source, destination = Path(folder) / name, staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                if source.is_symlink():
                    destination.symlink_to(source.readlink())
                else:
                    shutil.copytree(source, destination, symlinks=True, copy_function=_link_or_copy)
                carried.add(name)
        subfolders[:] = [name for name in subfolders if name not in carried]
        for name in sorted(names):
            relative = str(here / name)
            if keep(relative) and relative not in files:
                (staging / relative).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(str(Path(folder) / name), str(staging / relative))


def _replace(target: Path, files: dict[str, bytes], keep: Callable[[str], bool] | None) -> None:
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
        if keep is not None and target.is_dir():
            _carry(target, staging, files, keep)
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
