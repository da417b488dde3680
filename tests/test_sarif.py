"""SARIF output: valid against the OASIS 2.1.0 schema, self-describing rules, stable file URIs."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tomllib
import unicodedata
from email.message import Message
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sarif import loader

from aigrid import project
from aigrid.rules.registry import all_rules
from conftest import BLUEPRINTS, ROOT, run_aigrid

INVALID = sorted((BLUEPRINTS / "examples" / "invalid").glob("*.yaml"))
SECRET = BLUEPRINTS / "examples" / "invalid" / "AG401-plaintext-secret.yaml"
SCHEMA = ROOT / "schema" / "sarif-2.1.0" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
PYPROJECT_URLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]

# RFC 3986: the characters a URI may hold, and a scheme before the first colon.
_URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_CHARS.match(value) and _SCHEME.match(value))


@FORMATS.checks("uri-reference")
def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI_CHARS.match(value))


def sarif(*args: str, cwd: Path = ROOT) -> dict[str, Any]:
    proc = run_aigrid("validate", "--format", "sarif", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    log: dict[str, Any] = json.loads(proc.stdout)
    return log


def locations(log: dict[str, Any]) -> list[dict[str, str]]:
    return [
        result["locations"][0]["physicalLocation"]["artifactLocation"] for result in log["runs"][0]["results"]
    ]


def rules(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown page (github-slugger's rules:
    lower case, keep letters, marks, digits, connector punctuation, spaces and hyphens,
    spaces become hyphens, a repeated slug gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    anchors = set()
    in_fence = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        heading = re.match(r"^#{1,6} (.*)$", line)
        if in_fence or not heading:
            continue
        slug = "".join(
            char
            for char in heading.group(1).strip().lower()
            if char in " -" or unicodedata.category(char)[0] in "LMN" or unicodedata.category(char) == "Pc"
        ).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_shipped_schema_is_the_oasis_file_with_its_notice() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA.read_text())
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    notice = (SCHEMA.parent / "NOTICE.md").read_text()
    assert "Copyright © OASIS Open" in notice and SCHEMA_SHA256 in notice


def test_sarif_is_valid_against_the_oasis_schema(tmp_path: Path) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=FORMATS)
    # Every rule's finding, one waived warning (suppressions) and one file outside the base.
    outside = tmp_path / "grid.yaml"
    shutil.copy(SECRET, outside)
    waived = sarif("--ignore", "AG402", *map(str, INVALID), str(outside), "--base", str(BLUEPRINTS))
    assert any("suppressions" in result for result in waived["runs"][0]["results"])
    assert any(location.get("uriBaseId") == "%SRCROOT%" for location in locations(waived))
    assert any(location["uri"].startswith("file:///") for location in locations(waived))
    assert waived["$schema"] == schema["id"]
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(waived)]
    assert errors == []


def test_format_checks_used_for_the_schema_reject_bad_uris() -> None:
    """The schema's uri formats are checked by the functions above, so prove they can fail."""
    assert _is_uri("file:///work/grid/") and _is_uri_reference("blueprints/a%20b.yaml")
    assert not _is_uri("blueprints/grid.yaml") and not _is_uri_reference("a b.yaml")


def test_file_uris_do_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    files = [str(path) for path in INVALID[:4]]
    from_root = sarif(*files)
    elsewhere = [sarif(*files, cwd=cwd) for cwd in (tmp_path, ROOT / "docs", BLUEPRINTS / "examples")]
    expected = [{"uri": path.relative_to(ROOT).as_posix(), "uriBaseId": "%SRCROOT%"} for path in INVALID[:4]]
    assert locations(from_root) == expected
    base = {"%SRCROOT%": {"uri": ROOT.resolve().as_uri() + "/"}}
    for log in (from_root, *elsewhere):
        assert locations(log) == expected
        assert log["runs"][0]["originalUriBaseIds"] == base
        assert "../" not in json.dumps(log["runs"][0]["results"])


def test_sarif_tools_reads_back_repository_paths_from_another_directory(tmp_path: Path) -> None:
    out = tmp_path / "aigrid.sarif"
    proc = run_aigrid("validate", "--format", "sarif", "-o", str(out), str(SECRET), cwd=ROOT / "docs")
    assert proc.returncode == 1, proc.stderr
    records = loader.load_sarif_file(str(out)).get_records()
    assert [(record["Location"], record["Line"]) for record in records] == [
        (SECRET.relative_to(ROOT).as_posix(), 46)
    ]


def test_base_option_sets_srcroot_and_outside_files_get_absolute_uris(tmp_path: Path) -> None:
    log = sarif("--base", "blueprints/examples", str(SECRET))
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (
        (BLUEPRINTS / "examples").resolve().as_uri() + "/"
    )
    assert locations(log) == [{"uri": "invalid/AG401-plaintext-secret.yaml", "uriBaseId": "%SRCROOT%"}]
    outside = sarif("--base", "docs", str(SECRET))
    assert locations(outside) == [{"uri": SECRET.resolve().as_uri()}]


def test_default_base_is_the_git_repository_else_the_working_directory(tmp_path: Path) -> None:
    repo = tmp_path / "carrier grid"
    (repo / "sites").mkdir(parents=True)
    shutil.copy(SECRET, repo / "sites" / "edge #1.yaml")
    # Outside any repository: relative to where aigrid runs (a file above it is outside).
    plain = sarif("sites/edge #1.yaml", cwd=repo)
    assert locations(plain) == [{"uri": "sites/edge%20%231.yaml", "uriBaseId": "%SRCROOT%"}]
    shutil.copy(SECRET, repo / "top.yaml")
    above = sarif("../top.yaml", cwd=repo / "sites")
    assert locations(above) == [{"uri": (repo / "top.yaml").resolve().as_uri()}]
    # In a git repository: relative to its top, from wherever aigrid runs.
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for cwd in (repo / "sites", tmp_path):
        log = sarif(str(repo / "sites" / "edge #1.yaml"), cwd=cwd)
        assert locations(log) == [{"uri": "sites/edge%20%231.yaml", "uriBaseId": "%SRCROOT%"}]
        assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"


def test_base_is_refused_for_other_formats() -> None:
    proc = run_aigrid("validate", "--format", "json", "--base", ".", str(SECRET))
    assert proc.returncode == 2 and "--base applies to --format sarif only" in proc.stderr


def test_every_rule_has_a_full_description_and_help_from_its_documentation() -> None:
    described = rules(sarif(str(SECRET)))
    assert set(described) == {rule.code for rule in all_rules()}
    for rule in all_rules():
        entry = described[rule.code]
        full = entry["fullDescription"]["text"]
        # Sentences of its own, not the one-line title again.
        assert full.rstrip(")").endswith(".") and len(full.split()) > len(rule.title.split()) + 3, rule.code
        markdown = entry["help"]["markdown"]
        assert full in markdown and full in entry["help"]["text"], rule.code
        assert f"```yaml\n{rule.bad}\n```" in markdown and f"```yaml\n{rule.good}\n```" in markdown
        # The same text as the rule's section of docs/rules.md.
        assert f"### {rule.code}\n\n{markdown}\n" in (ROOT / "docs" / "rules.md").read_text()


def test_security_rules_carry_security_severity_and_the_security_tag() -> None:
    for code, entry in rules(sarif(str(SECRET))).items():
        properties = entry["properties"]
        if code.startswith("AG4"):
            score = properties["security-severity"]
            assert isinstance(score, str) and 0 < float(score) <= 10, code
            assert "security" in properties["tags"], code
            assert any(re.fullmatch(r"external/cwe/cwe-\d+", tag) for tag in properties["tags"]), code
        else:
            assert "security-severity" not in properties and "security" not in properties["tags"], code


def test_help_uris_point_at_headings_of_the_rule_reference() -> None:
    log = sarif(str(SECRET))
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == PYPROJECT_URLS["Homepage"]
    page = f"{PYPROJECT_URLS['Repository']}/blob/main/docs/rules.md"
    docs = (ROOT / "docs" / "rules.md").read_text()
    anchors = github_anchors(docs)
    for rule in driver["rules"]:
        address, _, anchor = rule["helpUri"].partition("#")
        assert address == page and anchor in anchors, rule["helpUri"]
        assert anchor == rule["id"].lower()
    readme_links = re.findall(r"\(docs/rules\.md#([^)]*)\)", (ROOT / "README.md").read_text())
    assert readme_links and set(readme_links) <= anchors


def test_github_anchor_oracle_follows_github() -> None:
    """Spot checks of GitHub's slugs, including a link docs/verify-node.md relies on."""
    assert github_anchors("## node (AG5xx)\n### AG501\n## a.b c_d\n### AG501\n") == {
        "node-ag5xx",
        "ag501",
        "ab-c_d",
        "ag501-1",
    }


def test_project_urls_are_spelled_once_in_pyproject() -> None:
    assert set(PYPROJECT_URLS) == {"Homepage", "Documentation", "Repository", "Issues"}
    assert project.REPOSITORY == PYPROJECT_URLS["Repository"] == PYPROJECT_URLS["Homepage"]
    assert all(url.startswith(project.REPOSITORY) for url in PYPROJECT_URLS.values())


def test_project_urls_come_from_the_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    message = Message()
    message["Name"] = "aigrid"
    message["Project-URL"] = "Homepage, https://grid.example.net"
    message["Project-URL"] = "Repository, https://git.example.net/aigrid/"
    monkeypatch.setattr(project.metadata, "metadata", lambda name: message)
    project.urls.cache_clear()
    try:
        urls = project.urls()
        assert urls.homepage == "https://grid.example.net"
        assert urls.rules_reference == "https://git.example.net/aigrid/blob/main/docs/rules.md"

        def missing(name: str) -> Message:
            raise project.metadata.PackageNotFoundError(name)

        monkeypatch.setattr(project.metadata, "metadata", missing)
        project.urls.cache_clear()
        assert project.urls().repository == project.urls().homepage == project.REPOSITORY
    finally:
        project.urls.cache_clear()
