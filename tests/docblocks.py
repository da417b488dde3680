"""The shell blocks of README.md and docs/*.md, and a copy of the checkout to run them in."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT

SHELL_LANGUAGES = ("sh", "console", "bash", "shell")
_FENCE = re.compile(r"^```(?P<language>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^#{1,6} +(?P<title>.+)$", re.M)


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Block:
    document: str  # relative to the repository root
    line: int  # of the opening fence
    language: str
    section: str  # the heading above the block
    text: str

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0] if self.text.strip() else ""

    @property
    def commands(self) -> str:
        """What a reader types: a console block's `$ ` lines, a sh block whole."""
        if self.language != "console":
            return self.text
        return "".join(line[2:] + "\n" for line in self.text.splitlines() if line.startswith("$ "))


def shell_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    headings = [(match.start(), match["title"].strip()) for match in _HEADING.finditer(text)]
    found = []
    for match in _FENCE.finditer(text):
        if match["language"] not in SHELL_LANGUAGES:
            continue
        section = next((title for start, title in reversed(headings) if start < match.start()), "")
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(str(path.relative_to(ROOT)), line, match["language"], section, match["body"]))
    return found


def all_shell_blocks() -> list[Block]:
    return [block for path in documents() for block in shell_blocks(path)]


def readme_blocks(section: str) -> list[str]:
    """The commands of the README's shell blocks under the heading that starts with `section`."""
    return [
        block.commands.strip()
        for block in shell_blocks(ROOT / "README.md")
        if block.section.startswith(section)
    ]


def checkout_files() -> list[str]:
    """What a clone of this working tree holds: tracked files and new ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    names = filter(None, listed.split("\0"))
    return sorted(name for name in names if (ROOT / name).is_symlink() or (ROOT / name).is_file())


def copy_checkout(target: Path) -> Path:
    """This working tree as a clone would hold it: its files in a git repository with one commit
    (aigrid confines `extends` to the repository a blueprint is in)."""
    for name in checkout_files():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name, follow_symlinks=False)
    identity = ["-c", "user.name=aigrid", "-c", "user.email=aigrid@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout"]):
        subprocess.run(["git", *identity, *command], cwd=target, check=True, capture_output=True)
    return target
