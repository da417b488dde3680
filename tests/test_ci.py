"""docs/ci.md and .pre-commit-hooks.yaml: the commands and CI steps run as written.

They run against aigrid installed from a snapshot of this working tree (what `pip install`
of a tagged aigrid gives), in a blueprint repository made from the shipped blueprints, as a
team's repository would hold them. PYTHONPATH is dropped, so the installed copy is what runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BLUEPRINTS, ROOT

DOC = ROOT / "docs" / "ci.md"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
INSTALL = 'python3 -m pip install "$AIGRID_INSTALL"'


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.M | re.S)


def workflow(key: str) -> dict[str, Any]:
    """The YAML block of docs/ci.md with `key` at its top level."""
    found = [yaml.safe_load(block) for block in blocks("yaml")]
    [match] = [doc for doc in found if key in doc]
    return match


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=aigrid", "-c", "user.email=aigrid@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree as a git repository with one commit (tracked and new files)."""
    copy = tmp_path_factory.mktemp("aigrid-snapshot")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_symlink() or source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name, follow_symlinks=False)
    git("init", "-q", ".", cwd=copy)
    git("add", "-A", cwd=copy)
    git("commit", "-q", "-m", "snapshot", cwd=copy)
    return copy


def environment(venv: Path | None = None, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    return {**env, "COLUMNS": "120", **extra}


@pytest.fixture(scope="module")
def venv(snapshot: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment where the documented install step installed aigrid from the snapshot.

    It sees this Python's packages, so pip installs aigrid only: --system-site-packages for a
    system Python, and a .pth file naming this environment's site-packages for a virtual
    environment, whose own packages --system-site-packages does not reach."""
    path = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(path)], check=True)
    inner = subprocess.run(
        [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    Path(inner, "outer-environment.pth").write_text("".join(f"{site}\n" for site in outer))
    [step] = [
        s["run"] for s in workflow("jobs")["jobs"]["validate"]["steps"] if "pip install" in s.get("run", "")
    ]
    assert step == INSTALL
    proc = subprocess.run(
        ["bash", "-e", "-c", step],
        env=environment(path, AIGRID_INSTALL=str(snapshot)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A team's blueprint repository: base, carriers and the valid examples."""
    folder = tmp_path / "blueprints"
    for part in ("base", "carriers"):
        shutil.copytree(BLUEPRINTS / part, folder / part)
    (folder / "examples").mkdir()
    for example in BLUEPRINTS.glob("examples/*.yaml"):
        shutil.copy(example, folder / "examples")
    git("init", "-q", ".", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    return tmp_path


def break_northwind(repo: Path) -> None:
    """A VLAN out of range in a carrier's grid, a layer of the shared grid (AG202)."""
    grid = repo / "blueprints" / "carriers" / "northwind" / "grid.yaml"
    grid.write_text(grid.read_text().replace("vlan: 210", "vlan: 4095", 1))


def run(command: str, repo: Path, venv: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", command],
        cwd=repo,
        env=environment(venv, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_shell_commands_run_as_written(repo: Path, venv: Path) -> None:
    [block] = blocks("sh")
    for line in block.splitlines():
        proc = run(line, repo, venv)
        assert proc.returncode == 0, (line, proc.stdout + proc.stderr)
    sarif = json.loads((repo / "aigrid.sarif").read_text())
    assert sarif["version"] == "2.1.0"


def test_github_workflow_validates_and_uploads_sarif(repo: Path, venv: Path) -> None:
    flow = workflow("jobs")
    assert flow["permissions"]["security-events"] == "write"
    steps = flow["jobs"]["validate"]["steps"]
    [validate] = [s["run"] for s in steps if s.get("run", "").startswith("aigrid validate")]
    [upload] = [s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["uses"].endswith("@v4") and "failure()" in upload["if"]
    report = repo / upload["with"]["sarif_file"]

    proc = run(validate, repo, venv, **flow["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(report.read_text())["runs"][0]["results"] == []

    break_northwind(repo)
    proc = run(validate, repo, venv, **flow["env"])
    assert proc.returncode == 1  # the job fails, and the upload step still runs
    assert "blueprints/carriers/northwind/grid.yaml" in proc.stdout and "error AG202" in proc.stdout
    results = json.loads(report.read_text())["runs"][0]["results"]
    assert {result["ruleId"] for result in results} == {"AG202"}


def test_gitlab_job_writes_a_junit_report(repo: Path, venv: Path) -> None:
    job = workflow("validate-blueprints")["validate-blueprints"]
    install, validate = job["script"]
    assert install == INSTALL  # run by the venv fixture
    assert job["artifacts"]["when"] == "always"
    report = repo / job["artifacts"]["reports"]["junit"]

    assert run(validate, repo, venv, **job["variables"]).returncode == 0
    assert ET.parse(report).getroot().find(".//failure") is None

    break_northwind(repo)
    proc = run(validate, repo, venv, **job["variables"])
    assert proc.returncode == 1 and "error AG202" in proc.stdout
    failures = ET.parse(report).getroot().findall(".//failure")
    assert failures and all(
        "AG202" in (failure.get("message") or "") + (failure.text or "") for failure in failures
    )


def test_hook_manifest_is_valid_for_pre_commit() -> None:
    proc = subprocess.run(
        ["pre-commit", "validate-manifest", str(HOOKS)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [hook] = yaml.safe_load(HOOKS.read_text())
    assert (hook["id"], hook["entry"], hook["language"]) == ("aigrid-validate", "aigrid validate", "python")
    files = re.compile(hook["files"])
    for path in ("blueprints/base/stack.yaml", "infra/blueprints/sites/site.yml"):
        assert files.search(path), path
    for path in (".github/workflows/ci.yml", "manifests/app.yaml", "blueprints/README.md"):
        assert not files.search(path), path


def test_documented_pre_commit_config_is_valid(tmp_path: Path) -> None:
    [config] = [block for block in blocks("yaml") if block.startswith("repos:")]
    (tmp_path / ".pre-commit-config.yaml").write_text(config)
    proc = subprocess.run(
        ["pre-commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = {hook["id"] for repo in yaml.safe_load(config)["repos"] for hook in repo["hooks"]}
    assert hooks <= {hook["id"] for hook in yaml.safe_load(HOOKS.read_text())}


def test_pre_commit_hook_checks_blueprints_with_their_layers(
    repo: Path, snapshot: Path, tmp_path: Path
) -> None:
    """pre-commit installs the hook from the repository (pip install into its own environment,
    which sees this Python's packages so that only aigrid is installed) and runs it."""
    env = environment(PRE_COMMIT_HOME=str(tmp_path / "pre-commit"), VIRTUALENV_SYSTEM_SITE_PACKAGES="1")

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pre-commit", "try-repo", str(snapshot), "aigrid-validate", "--all-files", "--verbose"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    proc = try_repo()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "blueprints/examples/multi-carrier-grid.yaml: valid" in proc.stdout
    assert "blueprints/carriers/" not in proc.stdout  # layers: checked through the shared grid

    break_northwind(repo)
    proc = try_repo()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "blueprints/carriers/northwind/grid.yaml" in proc.stdout and "error AG202" in proc.stdout
