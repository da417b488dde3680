"""Write a compiled output directory all at once, or not at all, rewriting only what changed.

Everything is staged in a temporary directory beside the target, then swapped in with one
atomic rename (renameat2 RENAME_EXCHANGE where the kernel has it). A file whose content the
previous output already holds (its digest in the previous lock, and not modified since that
lock was written) is hard-linked from there instead of written again, so it keeps its inode and
modification time; a compile that changes nothing links nothing and does not swap at all. What
the user owns in the previous output (`keep`: a virtualenv, their own files) is hard-linked into
the temporary directory too (copied where links cannot be made), so it survives the swap while
the previous output stays whole until then. A compile that fails or is killed midway leaves
the previous output exactly as it was; its leftovers are removed by the next compile.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    # The output is swapped in whole: a link would be replaced by a folder, its target never
    # written. Refused before anything is made.
    if target.is_symlink():
        raise OutputError(
            f"{target} is a symbolic link; name the folder itself (the output is replaced whole, the link "
            "would be too)"
        )
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise OutputError(
            f"{target} is not empty and holds no {MARKER}: aigrid compile did not make it, so it is left "
            "alone; choose an empty or new directory"
        )


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Changes:
    """What a compile did to each aigrid-owned file, by relative path."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def written(self) -> list[str]:
        return self.added + self.changed

    @property
    def replaced(self) -> bool:
        """Whether the output folder was swapped for a new one (a compile that changes nothing
        leaves it in place)."""
        return bool(self.written or self.removed)


@dataclass(frozen=True)
class UserFiles:
    """What of a previous output is the user's, carried over by a recompile: `owns` a path,
    and `may_hold` says which folders can hold such paths at all (the only ones looked in)."""

    owns: Callable[[str], bool]
    may_hold: Callable[[str], bool]


class Staging:
    """The next output, assembled beside `target` file by file (so a compile never holds every
    file in memory) and swapped in by `commit`.

    `previous` maps each file of the existing output to its digest as the previous lock
    recorded it. Such a file that was not modified after the lock (the last file a compile
    writes) is trusted to still hold that content: `put` links it when the content is the same,
    and `reuse` links files unseen (a site whose inputs did not change)."""

    def __init__(self, target: Path, previous: Mapping[str, str], keep: UserFiles | None) -> None:
        check_target(target)
        # Absolute for the swap: "." or "out/.." cannot be renamed as written (EBUSY).
        target = Path(os.path.abspath(target))  # noqa: PTH100 (normalises "." without resolving links)
        self.target, self.keep = target, keep
        # Not copied: on a recompile it holds every file's digest (about 440,000 at 10,000 sites).
        self.previous = previous
        self.changes = Changes()
        self.digests: dict[str, str] = {}
        lock = target / MARKER
        self._lock_mtime = lock.stat().st_mtime_ns if previous and lock.is_file() else -1
        parent = target.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        for stale in parent.glob(f"{TMP_PREFIX}{target.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.path = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{target.name}-", dir=parent))
        # Paths as text: a compile stages tens of thousands of files, and pathlib's objects cost
        # more per file than the writes they name.
        self._root, self._previous_root = f"{self.path}/", f"{target}/"
        self._folders: set[str] = set()
        # The previous output's files to be linked into the staging folder, once a commit is to
        # swap it in: a recompile that changes nothing links none of them (about 440,000 links,
        # and their removal, at 10,000 sites).
        self._unchanged: list[str] = []

    def _trusted(self, relative: str) -> bool:
        """Whether the previous output's file still holds what the previous lock says."""
        try:
            status = os.stat(self._previous_root + relative)  # noqa: PTH116 (text paths, above)
        except OSError:
            return False
        return status.st_mtime_ns <= self._lock_mtime

    def _destination(self, relative: str) -> str:
        folder = relative.rpartition("/")[0]
        if folder not in self._folders:
            os.makedirs(self._root + folder, exist_ok=True)  # noqa: PTH103
            self._folders.add(folder)
        return self._root + relative

    def put(self, relative: str, content: bytes, sha: str | None = None) -> None:
        """Stage `content` at `relative` (`sha`: its digest, where the caller has it)."""
        sha = sha or digest(content)
        self.digests[relative] = sha
        if self._same_as_before(relative, sha):
            return
        with open(self._destination(relative), "wb") as stream:  # noqa: PTH123
            stream.write(content)
        self._written(relative)

    def put_chunks(self, relative: str, chunks: Iterable[bytes]) -> None:
        """`put` of the content `chunks` join to, for a file too large to hold whole (the lock):
        written as it comes and hashed on the way; removed afterwards when the previous output's
        file holds the same and nothing else was written, which is then linked as `put` would
        have linked it."""
        sha = hashlib.sha256()
        destination = self._destination(relative)
        with open(destination, "wb") as stream:  # noqa: PTH123
            for chunk in chunks:
                sha.update(chunk)
                stream.write(chunk)
        self.digests[relative] = sha.hexdigest()
        # Linked back only when no other file was written: one written now is newer than the
        # previous lock, and a file newer than the lock that vouches for it is not trusted (the
        # next recompile would write it again, and again).
        if not self.changes.written and self._same_as_before(relative, self.digests[relative]):
            os.unlink(destination)  # noqa: PTH108
            return
        if self.previous.get(relative) == self.digests[relative]:
            self.changes.unchanged += 1  # the same content, written again to be the newest file
            return
        self._written(relative)

    def _same_as_before(self, relative: str, sha: str) -> bool:
        """Whether the previous output holds this content (then it is to be linked, and counted)."""
        if self.previous.get(relative) == sha and self._trusted(relative):
            self._unchanged.append(relative)
            self.changes.unchanged += 1
            return True
        return False

    def _written(self, relative: str) -> None:
        (self.changes.changed if relative in self.previous else self.changes.added).append(relative)

    def reusable(self, files: Iterable[str]) -> bool:
        return all(relative in self.previous and self._trusted(relative) for relative in files)

    def reuse(self, files: Iterable[str]) -> None:
        """Files the previous output holds and `reusable` vouched for, carried over unread."""
        for relative in files:
            self._unchanged.append(relative)
            self.digests[relative] = self.previous[relative]
            self.changes.unchanged += 1

    def commit(self) -> Changes:
        """Swap the staged output in; nothing at all when no file changed."""
        gone = set(self.previous) - set(self.digests)
        # What the user owns is carried over, not removed (a stack config of a retired site).
        self.changes.removed = sorted(path for path in gone if self.keep is None or not self.keep.owns(path))
        target = self.target
        if target.is_dir() and not self.changes.replaced:
            shutil.rmtree(self.path)
            return self.changes
        for relative in self._unchanged:
            os.link(self._previous_root + relative, self._destination(relative), follow_symlinks=False)
        if self.keep is not None and target.is_dir():
            _carry(target, self.path, self.digests, self.keep)
        self.path.chmod(0o755)
        if target.exists():
            if _exchange(self.path, target):
                shutil.rmtree(self.path)
                return self.changes
            old = self.path.with_name(self.path.name + "-old")
            target.rename(old)
            self.path.rename(target)
            shutil.rmtree(old)
        else:
            self.path.rename(target)
        return self.changes

    def abandon(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@contextmanager
def staged(target: Path, previous: Mapping[str, str], keep: UserFiles | None) -> Iterator[Staging]:
    """A Staging whose OSErrors become OutputErrors and whose leftovers go when it fails."""
    try:
        staging = Staging(target, previous, keep)
    except OSError as exc:
        raise _output_error(target, exc) from exc
    try:
        yield staging
    except OSError as exc:
        staging.abandon()
        raise _output_error(target, exc) from exc
    except BaseException:
        staging.abandon()
        raise


def _output_error(target: Path, exc: OSError) -> OutputError:
    existing = next((folder for folder in target.absolute().parents if folder.exists()), None)
    blocked = existing is not None and not existing.is_dir()
    why = f"{existing} is not a directory" if blocked else exc.strerror or str(exc)
    return OutputError(f"cannot write {target}: {why}")


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, destination, follow_symlinks=False)


def _carry(previous: Path, staging: Path, files: Mapping[str, object], user: UserFiles) -> None:
    """Bring what the user owns in `previous` into `staging`, whole folders at once."""
    for folder, subfolders, names in os.walk(previous):
        here = os.path.relpath(folder, previous)
        prefix = "" if here == "." else f"{here}/"
        carried = set()
        for name in sorted(subfolders):
            relative = prefix + name
            if user.owns(relative) and not (staging / relative).exists():
                source, destination = Path(folder) / name, staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                if source.is_symlink():
                    destination.symlink_to(source.readlink())
                else:
                    shutil.copytree(source, destination, symlinks=True, copy_function=_link_or_copy)
                carried.add(name)
        subfolders[:] = [name for name in subfolders if name not in carried and user.may_hold(prefix + name)]
        for name in sorted(names):
            relative = prefix + name
            if relative not in files and user.owns(relative):
                (staging / relative).parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(str(Path(folder) / name), str(staging / relative))
