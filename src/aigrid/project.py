"""Where aigrid lives on the web: pyproject's [project.urls], read from the package metadata.

The URLs are spelled once, in pyproject.toml; an installed aigrid (editable or not) carries
them as `Project-URL` metadata. Only a source tree run without installing has no metadata,
and then the repository below stands in for every URL (tests keep it equal to pyproject's).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import metadata

REPOSITORY = "https://github.com/aigrid/aigrid"


@dataclass(frozen=True)
class ProjectUrls:
    homepage: str
    repository: str

    @property
    def rules_reference(self) -> str:
        """docs/rules.md on the default branch, where each rule has its section."""
        return f"{self.repository}/blob/main/docs/rules.md"


@cache
def urls() -> ProjectUrls:
    """The project's homepage and repository, from the installed metadata when it names them."""
    named: dict[str, str] = {}
    try:
        entries = metadata.metadata("aigrid").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        entries = []
    for entry in entries:
        label, _, url = entry.partition(",")
        named[label.strip().lower()] = url.strip()
    repository = named.get("repository", REPOSITORY).rstrip("/")
    return ProjectUrls(homepage=named.get("homepage", repository), repository=repository)
