"""`aigrid report`: the numbers (JSON) and the page, opened offline in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_aigrid

EXAMPLE = "blueprints/examples/multi-carrier-grid.yaml"
CHROMIUM = shutil.which("chromium")


def docs_commands() -> list[str]:
    """The page's report commands for the shipped multi-carrier grid (tests/test_docs_commands.py
    runs its other blocks)."""
    text = (ROOT / "docs" / "placement.md").read_text()
    lines = [line for block in re.findall(r"```sh\n(.*?)```", text, re.S) for line in block.splitlines()]
    return [line for line in lines if line.startswith(f"aigrid report {EXAMPLE} ")]


def run_doc_command(command: str, cwd: Path) -> str:
    assert command.startswith("aigrid report ")
    # The docs' paths are the repository's: a link to the blueprints keeps the output in cwd.
    (cwd / "blueprints").symlink_to(ROOT / "blueprints")
    result = run_aigrid(*command.split()[1:], cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_docs_show_the_report_commands() -> None:
    assert docs_commands() == [
        f"aigrid report {EXAMPLE} -o report.html",
        f"aigrid report {EXAMPLE} --format json",
    ]


def test_json_report_numbers(tmp_path: Path) -> None:
    data = json.loads(run_doc_command(docs_commands()[1], tmp_path))
    robots = next(w for w in data["workloads"] if w["name"] == "robot-vision")
    # nw-nyc-fe-01: 3ms RTT + 6ms inference; the cloud: 100ms + 6ms, over the 15ms SLO.
    assert robots["sites"] == {"nw-nyc-fe-01": 4}
    assert robots["edge"] == {"rtt_ms": 3.0, "total_ms": 9.0}
    assert robots["cloud"] == {"rtt_ms": 100.0, "total_ms": 106.0, "meets_slo": False}
    nyc = next(s for s in data["sites"] if s["name"] == "nw-nyc-fe-01")
    assert nyc["whole_gpus"] == {"offered": 6, "used": 4}
    losses = {row["site"]: [b["workload"] for b in row["broken"]] for row in data["n_minus_1"]}
    assert losses["nw-nyc-fe-01"] == ["robot-vision"]
    assert data["findings"] == []
    # Five groups of workloads sharing sites, each placement proven the best (no AG313).
    assert data["placement"] == {"groups": 5, "unproven": []}


def test_report_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    for name in ("a.html", "b.html"):
        assert run_aigrid("report", EXAMPLE, "-o", str(tmp_path / name)).returncode == 0
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_report_lists_findings(tmp_path: Path) -> None:
    invalid = "blueprints/examples/invalid/AG312-site-loss-unsurvivable.yaml"
    result = run_aigrid("report", invalid, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [f["code"] for f in data["findings"]] == ["AG312"]
    assert data["n_minus_1"][0]["broken"][0]["replicas_left"] == 0


def test_unreadable_blueprint_writes_no_report(tmp_path: Path) -> None:
    result = run_aigrid(
        "report", "blueprints/examples/invalid/AG001-yaml-syntax.yaml", "-o", str(tmp_path / "r.html")
    )
    assert result.returncode == 1
    assert "AG001" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)")
def test_page_opens_offline_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    run_doc_command(docs_commands()[0], tmp_path)
    page_url = (tmp_path / "report.html").as_uri()
    data = json.loads(run_aigrid("report", EXAMPLE, "--format", "json").stdout)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.on(
            "console",
            lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        # Offline: anything but the file itself is refused, and counted.
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url == page_url
                else (problems.append(f"fetch: {route.request.url}"), route.abort())
            ),
        )
        page.goto(page_url)
        for chart in ("map", "gpu-use", "latency"):
            page.wait_for_selector(f"#chart-{chart} svg", timeout=20_000)
        located = sum(1 for s in data["sites"] if s["lat"] is not None)
        assert page.locator("#chart-map svg .mark-symbol.role-mark path").count() == located
        # The outline layer: one shape per Natural Earth country, drawn from the inlined file.
        outlines = page.locator("#chart-map svg .mark-shape.role-mark path")
        assert outlines.count() >= 177, outlines.count()
        bars = page.locator("#chart-latency svg .mark-rect.role-mark path").count()
        # Per workload and option (edge, cloud): RTT, network and inference bars and an SLO tick.
        assert bars == (3 + 1) * 2 * len(data["workloads"])
        rows = page.locator("#n-minus-1 tr").all_inner_texts()[1:]
        assert [row.split("\t")[0] for row in rows] == [r["site"] for r in data["n_minus_1"]]
        proof = page.locator("#placement-proof").inner_text()
        assert f"({data['placement']['groups']} groups): every one proven the best" in proof, proof
        if os.environ.get("AIGRID_UPDATE_GOLDEN"):
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=str(ROOT / "docs" / "report-example.png"), full_page=True)
        browser.close()
    assert problems == []
