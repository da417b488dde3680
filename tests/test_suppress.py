"""Waiving warnings: --ignore/--select and `# aigrid: ignore[CODE] reason` comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aigrid import suppress
from conftest import BLUEPRINTS, run_aigrid

INSECURE = BLUEPRINTS / "examples" / "invalid" / "AG402-insecure-mirror.yaml"
MIRROR = "    apt: http://mirror.example.net/ubuntu  # <- AG402"


def variant(tmp_path: Path, new: str, old: str = MIRROR) -> Path:
    text = INSECURE.read_text()
    assert old in text
    path = tmp_path / "bp.yaml"
    path.write_text(text.replace(old, new))
    return path


def validate(*args: str) -> tuple[int, dict[str, object]]:
    proc = run_aigrid("validate", "--format", "json", "--strict", *args)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout) if proc.stdout else {}


def codes(report: dict[str, object], key: str = "diagnostics") -> list[str]:
    return [d["code"] for d in report.get(key, [])]  # type: ignore[attr-defined, index]


def test_inline_comment_with_a_reason_waives_the_warning(tmp_path: Path) -> None:
    path = variant(
        tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402] lab-only mirror"
    )
    rc, report = validate(str(path))
    assert rc == 0 and codes(report) == [] and codes(report, "suppressed") == ["AG402"]
    [waived] = report["suppressed"]  # type: ignore[misc]
    assert waived["suppression"] == {"kind": "inSource", "justification": "lab-only mirror"}


def test_a_comment_alone_on_the_line_above_covers_the_next_line(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "    # aigrid: ignore[AG402] lab-only mirror\n    apt: http://mirror.example.net/ubuntu",
    )
    rc, report = validate(str(path))
    assert rc == 0 and codes(report, "suppressed") == ["AG402"]


def test_a_suppression_without_reason_is_an_error(tmp_path: Path) -> None:
    path = variant(tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402]")
    rc, report = validate(str(path))
    assert rc == 1 and sorted(codes(report)) == ["AG017", "AG402"]


@pytest.mark.parametrize(("named", "message"), [("AG101", "cannot be waived"), ("AG999", "no aigrid code")])
def test_a_suppression_of_an_error_or_unknown_code_is_an_error(
    tmp_path: Path, named: str, message: str
) -> None:
    path = variant(tmp_path, f"    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[{named}] because")
    rc, report = validate(str(path))
    assert rc == 1 and sorted(codes(report)) == ["AG017", "AG402"]
    assert any(message in d["message"] for d in report["diagnostics"])  # type: ignore[attr-defined, index]


def test_a_hash_inside_a_quoted_value_is_not_a_comment(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        '  name: invalid-ag402\n  description: "see # aigrid: ignore[AG402] in the docs"',
        "  name: invalid-ag402",
    )
    _, report = validate(str(path))
    assert codes(report) == ["AG402"] and "suppressed" not in report


def test_ignore_on_the_command_line_waives_by_code_or_prefix(tmp_path: Path) -> None:
    for option in ("AG402", "ag4", "AG208,AG402"):
        rc, report = validate("--ignore", option, str(INSECURE))
        assert rc == 0 and codes(report) == [] and codes(report, "suppressed") == ["AG402"], option
        assert report["suppressed"][0]["suppression"]["kind"] == "external"  # type: ignore[index]


def test_select_keeps_only_the_named_warnings() -> None:
    rc, report = validate("--select", "AG208", str(INSECURE))
    assert rc == 0 and codes(report) == [] and codes(report, "suppressed") == ["AG402"]
    rc, report = validate("--select", "AG4", str(INSECURE))
    assert rc == 1 and codes(report) == ["AG402"]


@pytest.mark.parametrize("option", ["AG101", "AG999", "XX1", "AG21"])
def test_ignoring_an_error_or_unknown_code_is_misuse(option: str) -> None:
    proc = run_aigrid("validate", "--ignore", option, str(INSECURE))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"--ignore {option}" in proc.stderr


def test_sarif_reports_waived_findings_as_suppressions(tmp_path: Path) -> None:
    path = variant(
        tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402] lab-only mirror"
    )
    proc = run_aigrid("validate", "--format", "sarif", str(path))
    [result] = json.loads(proc.stdout)["runs"][0]["results"]
    assert result["ruleId"] == "AG402"
    assert result["suppressions"] == [{"kind": "inSource", "justification": "lab-only mirror"}]
    external = run_aigrid("validate", "--format", "sarif", "--ignore", "AG402", str(INSECURE))
    [result] = json.loads(external.stdout)["runs"][0]["results"]
    assert result["suppressions"][0]["kind"] == "external"


def test_text_summary_counts_what_was_waived() -> None:
    proc = run_aigrid("validate", "--ignore", "AG402", str(INSECURE))
    assert proc.returncode == 0 and "(1 suppressed)" in proc.stdout


@pytest.mark.parametrize(
    "text",
    [
        'description: "see # aigrid: ignore[AG402] x"\n',
        "description: 'it''s # aigrid: ignore[AG402] x'\n",
        'description: "first line\n  # aigrid: ignore[AG402] inside the quotes"\n',
        "description: |\n  # aigrid: ignore[AG402] inside a block scalar\n  more\n",
        "description: a#aigrid: ignore[AG402] x\n",
    ],
)
def test_only_real_comments_are_read(text: str) -> None:
    assert suppress.comments("bp.yaml", text) == []


def test_a_real_comment_after_a_quoted_hash_is_read() -> None:
    [comment] = suppress.comments("bp.yaml", 'description: "a # b"  # aigrid: ignore[AG402] lab\n')
    assert (comment.line, comment.column, comment.codes, comment.reason) == (1, 23, ("AG402",), "lab")


def test_a_misspelt_suppression_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = variant(tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignroe[AG402] lab-only")
    rc, report = validate(str(path))
    assert rc == 1 and sorted(codes(report)) == ["AG017", "AG402"]


def test_each_code_of_a_suppression_must_match(tmp_path: Path) -> None:
    path = variant(
        tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402, AG208] lab-only"
    )
    rc, report = validate(str(path))
    assert rc == 1 and codes(report) == ["AG018"] and codes(report, "suppressed") == ["AG402"]
    assert "AG208" in report["diagnostics"][0]["message"]  # type: ignore[index]
    assert "AG402" not in report["diagnostics"][0]["message"]  # type: ignore[index]


def test_a_comment_waives_before_the_command_line(tmp_path: Path) -> None:
    path = variant(
        tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402] lab-only mirror"
    )
    rc, report = validate("--ignore", "AG402", str(path))
    assert rc == 0 and codes(report) == []
    assert report["suppressed"][0]["suppression"]["kind"] == "inSource"  # type: ignore[index]


def test_unused_suppressions_can_be_waived_on_the_command_line() -> None:
    unused = BLUEPRINTS / "examples" / "invalid" / "AG018-unused-suppression.yaml"
    rc, report = validate("--ignore", "AG018", str(unused))
    assert rc == 0 and codes(report) == [] and codes(report, "suppressed") == ["AG018"]


def test_no_unused_suppression_when_the_rules_did_not_run(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402] lab-only\n    nosuchfield: 1",
    )
    rc, report = validate(str(path))
    assert rc == 1 and codes(report) == ["AG012"]


def test_an_ignored_prefix_waives_only_the_warnings_under_it() -> None:
    error = BLUEPRINTS / "examples" / "invalid" / "AG101-driver-below-cuda-minimum.yaml"
    rc, report = validate("--ignore", "AG1", str(error))
    assert rc == 1 and codes(report) == ["AG101"] and "suppressed" not in report


def test_junit_leaves_waived_findings_out() -> None:
    proc = run_aigrid("validate", "--format", "junit", "--ignore", "AG402", str(INSECURE))
    assert proc.returncode == 0 and "testcase classname" in proc.stdout and "AG402:" not in proc.stdout
    assert 'name="AG402' not in proc.stdout and 'name="valid"' in proc.stdout


def test_compile_prints_only_the_warnings_not_waived(tmp_path: Path) -> None:
    plain = run_aigrid("compile", str(INSECURE), "--out", str(tmp_path / "plain"))
    assert plain.returncode == 0 and "AG402" in plain.stderr
    path = variant(
        tmp_path, "    apt: http://mirror.example.net/ubuntu  # aigrid: ignore[AG402] lab-only mirror"
    )
    waived = run_aigrid("compile", str(path), "--out", str(tmp_path / "waived"))
    assert waived.returncode == 0 and "AG402" not in waived.stderr and waived.stderr == ""
