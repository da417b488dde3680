#!/usr/bin/python3
"""Add archive components (Debian's `contrib`) to the OS's own apt sources, as
`add-apt-repository contrib` does: every enabled `deb`/`deb-src` entry of the release's
suites (CODENAME, CODENAME-updates, CODENAME-security, ...) that carries `main` gets the
missing components, whatever mirror it points at. One-line .list files and deb822 .sources
files alike; other repositories (NVIDIA's, Docker's) are left alone.

Usage: enable-components.py [--apt-dir DIR] [--codename NAME] COMPONENT...
Prints one line per file changed ("enabled contrib in FILE"); exit 0 either way.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def codename() -> str:
    text = Path("/etc/os-release").read_text()
    match = re.search(r"(?m)^VERSION_CODENAME=\"?([^\"\n]+)", text)
    return match.group(1) if match else ""


def is_release_suite(suite: str, release: str) -> bool:
    return suite == release or suite.startswith(release + "-") or suite.startswith(release + "/")


def one_line(text: str, release: str, wanted: list[str]) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        body, hash_, comment = line.partition("#")
        words = body.split()
        if words[:1] in (["deb"], ["deb-src"]):
            rest = words[1:]
            options: list[str] = []
            if rest and rest[0].startswith("["):
                while rest and not (options and options[-1].endswith("]")):
                    options.append(rest.pop(0))
            if len(rest) >= 3 and "main" in rest[2:] and is_release_suite(rest[1], release):
                missing = [c for c in wanted if c not in rest[2:]]
                if missing:
                    newline = "\n" if line.endswith("\n") else ""
                    kept = f" {hash_}{comment.rstrip(chr(10))}" if hash_ else ""
                    line = " ".join([words[0], *options, *rest, *missing]) + kept + newline
        lines.append(line)
    return "".join(lines)


def deb822(text: str, release: str, wanted: list[str]) -> str:
    stanzas = re.split(r"(\n\s*\n)", text)
    for i, stanza in enumerate(stanzas):
        fields = dict(re.findall(r"(?m)^([A-Za-z-]+):[ \t]*(.*)$", stanza))
        if fields.get("Enabled", "yes").strip().lower() == "no":
            continue
        suites = fields.get("Suites", "").split()
        components = fields.get("Components", "").split()
        if "main" not in components or not any(is_release_suite(s, release) for s in suites):
            continue
        missing = [c for c in wanted if c not in components]
        if missing:
            added = " " + " ".join(missing)
            stanzas[i] = re.sub(r"(?m)^(Components:[ \t]*.*?)[ \t]*$", r"\g<1>" + added, stanza, count=1)
    return "".join(stanzas)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apt-dir", default="/etc/apt")
    parser.add_argument("--codename", default=None)
    parser.add_argument("components", nargs="+")
    args = parser.parse_args()
    release = args.codename or codename()
    apt = Path(args.apt_dir)
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.list"))]
    sources = sorted((apt / "sources.list.d").glob("*.sources"))
    for path, edit in [*((f, one_line) for f in files), *((f, deb822) for f in sources)]:
        if not path.is_file():
            continue
        text = path.read_text()
        new = edit(text, release, args.components)
        if new != text:
            path.write_text(new)
            print(f"enabled {' '.join(args.components)} in {path}")


if __name__ == "__main__":
    main()
