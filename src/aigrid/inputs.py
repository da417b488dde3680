"""The blueprints a command line names: files as given, folders by their top-level blueprints, `-`.

A folder stands for the blueprint files under it (`*.yaml` and `*.yml`, recursively, hidden
entries skipped) that no other file there extends. A layer (the base, or a carrier's grid that
a shared grid extends) is checked as part of every blueprint above it, with its own file and
lines in the report, and not again on its own: a layer need not be a complete blueprint. Files
that only extend one another in a cycle, with nothing above them, are each checked (the cycle is
the finding). A file named on the command line is always checked as given, layer or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from aigrid.load.layers import extended_files

STDIN = "-"
SUFFIXES = (".yaml", ".yml")


class InputError(Exception):
    """A command-line argument that names no blueprint (exit 2)."""


def expand(arguments: Iterable[str]) -> list[Path | None]:
    """Each argument's blueprints, in command-line order and once each; None is standard input."""
    found: list[Path | None] = []
    seen: set[Path] = set()
    for argument in arguments:
        if argument == STDIN:
            if None in found:
                raise InputError("standard input (-) can be named once")
            found.append(None)
            continue
        path = Path(argument)
        if path.is_dir():
            files = top_level(blueprint_files(path), path)
            if not files:
                raise InputError(f"{argument} holds no blueprint files ({', '.join(SUFFIXES)})")
        elif os.path.lexists(path):
            files = [path]
        else:
            raise InputError(f"{argument} does not exist")
        for file in files:
            key = Path(os.path.realpath(file))
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found


def blueprint_files(folder: Path) -> list[Path]:
    """The YAML files under `folder`, sorted; hidden files and folders and symbolic links to
    folders are not entered."""
    files = []
    for parent, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(names):
            path = Path(parent, name)
            if not name.startswith(".") and name.endswith(SUFFIXES) and path.is_file():
                files.append(path)
    return files


def top_level(files: list[Path], folder: Path) -> list[Path]:
    """Of `files` (all under `folder`): those no other of them extends, and those reached only
    from one another (a cycle)."""
    within = Path(os.path.realpath(folder))
    real = {file: Path(os.path.realpath(file)) for file in files}
    extends = {real[file]: extended_files(file, within) for file in files}
    extended = {base for top, bases in extends.items() for base in bases if base != top}
    tops = {file for file in files if real[file] not in extended}
    reached: set[Path] = set()
    stack = [real[file] for file in tops]
    while stack:
        path = stack.pop()
        if path not in reached:
            reached.add(path)
            stack.extend(extends.get(path, []))
    return [file for file in files if file in tops or real[file] not in reached]
