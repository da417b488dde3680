"""`aigrid validate` on folders (their top-level blueprints, layers through them) and on `-`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aigrid.inputs import InputError, expand
from conftest import BLUEPRINTS, ROOT, run_aigrid


def validate_stdin(text: bytes, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`aigrid validate ARGS` with `text` on standard input."""
    proc = subprocess.run(
        [sys.executable, "-m", "aigrid", "validate", *args],
        input=text,
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def checked_files(stdout: str) -> list[str]:
    """The files a text report names, in its order ('FILE: valid' or 'FILE: N finding(s)')."""
    return [
        line.split(": ", 1)[0]
        for line in stdout.splitlines()
        if line.endswith(": valid") or line.endswith("(invalid)") or line.endswith("(valid)")
    ]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A blueprint repository: the base, a partial region layer and a site on both."""
    (tmp_path / ".git").mkdir()
    folder = tmp_path / "blueprints"
    (folder / "base").mkdir(parents=True)
    (folder / "sites").mkdir()
    shutil.copy(BLUEPRINTS / "base" / "stack.yaml", folder / "base" / "stack.yaml")
    (folder / "sites" / "region.yaml").write_text("metadata:\n  description: the region's layer\n")
    site = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_text()
    site = site.replace("  - ../base/stack.yaml\n", "  - ../base/stack.yaml\n  - region.yaml\n", 1)
    (folder / "sites" / "lab.yaml").write_text(site)
    return tmp_path


def test_a_folder_is_its_top_level_blueprints_layers_checked_through_them(repo: Path) -> None:
    proc = run_aigrid("validate", "blueprints", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert checked_files(proc.stdout) == ["blueprints/sites/lab.yaml"]
    assert "1 file checked" in proc.stdout
    # The region layer is not a complete blueprint: named on its own, it is checked as given.
    alone = run_aigrid("validate", "blueprints/sites/region.yaml", cwd=repo)
    assert alone.returncode == 1 and "error AG010" in alone.stdout


def test_a_broken_layer_fails_the_folder_at_its_own_line(repo: Path) -> None:
    region = repo / "blueprints" / "sites" / "region.yaml"
    region.write_text(region.read_text() + "stack:\n  driver:\n    install: by-hand\n")
    proc = run_aigrid("validate", "--format", "json", "blueprints", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert (diagnostic["file"], diagnostic["line"], diagnostic["code"]) == (
        "blueprints/sites/region.yaml",
        5,
        "AG011",
    )


def test_shipped_folder_checks_examples_not_the_layers_they_extend() -> None:
    found = expand(["blueprints"])
    names = {str(path) for path in found if path is not None}
    assert "blueprints/examples/multi-carrier-grid.yaml" in names
    assert "blueprints/examples/invalid/AG007-extends-cycle.yaml" in names  # extends only itself
    # The base and the carriers are layers of the shared grid: checked through it.
    assert not any(name.startswith(("blueprints/base/", "blueprints/carriers/")) for name in names)
    # Named on their own, the carriers are the top of their folder.
    carriers = [f"blueprints/carriers/{name}/grid.yaml" for name in ("aurora", "meridian", "northwind")]
    assert [str(path) for path in expand(["blueprints/carriers"])] == carriers


def test_files_only_extending_one_another_are_each_checked(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\nextends: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\nextends: [a.yaml]\n")
    proc = run_aigrid("validate", "--format", "json", str(tmp_path))
    assert proc.returncode == 1
    codes = {(Path(d["file"]).name, d["code"]) for d in json.loads(proc.stdout)["diagnostics"]}
    assert codes == {("a.yaml", "AG007"), ("b.yaml", "AG007")}


def test_folder_walk_skips_hidden_entries_and_other_files(tmp_path: Path) -> None:
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("")
    (tmp_path / ".dot.yaml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "grid.yml").write_text("")
    assert expand([str(tmp_path)]) == [tmp_path / "grid.yml"]


def test_a_file_named_twice_is_checked_once() -> None:
    file = "blueprints/examples/multi-carrier-grid.yaml"  # a blueprint no other one extends
    assert expand([file, "blueprints/examples", f"./{file}"]).count(Path(file)) == 1
    assert len(expand([file, "blueprints/examples", f"./{file}"])) == len(expand(["blueprints/examples"]))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no/such/folder"], "no/such/folder does not exist"),
        (["-", "-"], "standard input (-) can be named once"),
    ],
)
def test_arguments_that_name_no_blueprint_are_misuse(arguments: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        expand(arguments)


def test_an_empty_folder_is_misuse(tmp_path: Path) -> None:
    proc = run_aigrid("validate", str(tmp_path))
    assert proc.returncode == 2
    assert f"aigrid: {tmp_path} holds no blueprint files (.yaml, .yml)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stdin_is_named_stdin_and_extends_from_the_working_directory() -> None:
    text = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_bytes()
    proc = validate_stdin(text, "-", cwd=BLUEPRINTS / "examples")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert checked_files(proc.stdout) == ["<stdin>"]


def test_stdin_diagnostics_point_at_stdin_lines() -> None:
    text = (BLUEPRINTS / "examples" / "invalid" / "AG202-vlan-out-of-range.yaml").read_bytes()
    proc = validate_stdin(text, "--format", "json", "-", cwd=BLUEPRINTS / "examples" / "invalid")
    assert proc.returncode == 1
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert (diagnostic["file"], diagnostic["code"], diagnostic["line"]) == ("<stdin>", "AG202", 21)
    shown = validate_stdin(text, "-", cwd=BLUEPRINTS / "examples" / "invalid")
    assert "<stdin>:21:11: error AG202" in shown.stdout and "vlan: 4095" in shown.stdout


def test_stdin_extends_stay_inside_the_working_directorys_repository(tmp_path: Path) -> None:
    """From the repository root, the example's `../base/stack.yaml` leaves the repository."""
    text = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_bytes()
    proc = validate_stdin(text, "--format", "json", "-", cwd=ROOT)
    assert proc.returncode == 1
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert (diagnostic["file"], diagnostic["code"]) == ("<stdin>", "AG019")
    # With no repository around it, the working directory itself is the root.
    (tmp_path / "base.yaml").write_bytes((BLUEPRINTS / "base" / "stack.yaml").read_bytes())
    leaf = text.replace(b"../base/stack.yaml", b"base.yaml")
    assert validate_stdin(leaf, "-", cwd=tmp_path).returncode == 0


def test_stdin_alongside_files() -> None:
    text = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_bytes()
    proc = validate_stdin(text, "blueprints/base/stack.yaml", "-", "--root", ".", cwd=ROOT)
    # --root . does not move where `-` resolves its extends: the working directory.
    assert checked_files(proc.stdout) == ["blueprints/base/stack.yaml", "<stdin>"]


def test_stdin_that_is_not_utf8_is_refused_as_a_finding() -> None:
    proc = validate_stdin(b"metadata:\n  name: \xff\n", "--format", "json", "-")
    assert proc.returncode == 1, proc.stderr
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert (diagnostic["file"], diagnostic["code"], diagnostic["line"]) == ("<stdin>", "AG004", 2)
