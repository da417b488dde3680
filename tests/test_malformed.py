"""Hostile and broken inputs: one coded error, exit 1, never a traceback."""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aigrid.load.layers import MAX_EXTENDS_DEPTH, load_document
from aigrid.load.yamlsrc import MAX_FILE_BYTES
from aigrid.report import FORMATS
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, DATA, ROOT, run_aigrid

# A hang in the loader fails the test (60 s alarm; subprocesses carry their own timeout).
pytestmark = pytest.mark.usefixtures("deadline")

EXPECTED = {
    "alias-bomb.yaml": "AG003",
    "binary-garbage.yaml": "AG004",
    "comment-only.yaml": "AG010",
    "cycle-a.yaml": "AG007",
    "cycle-b.yaml": "AG007",
    "deep-nesting.yaml": "AG005",
    "duplicate-key.yaml": "AG002",
    "empty.yaml": "AG010",
    "merge-key.yaml": "AG005",
    "non-string-key.yaml": "AG005",
    "not-utf8.yaml": "AG004",
    "scalar-document.yaml": "AG010",
    "syntax-error.yaml": "AG001",
    "two-documents.yaml": "AG005",
    "unknown-key.yaml": "AG012",
    "wrong-api-version.yaml": "AG010",
    "wrong-type.yaml": "AG011",
}
MALFORMED = DATA / "malformed"


def test_every_malformed_file_has_an_expectation() -> None:
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_input_gives_one_coded_error(name: str) -> None:
    proc = run_aigrid("validate", "--format", "json", str(MALFORMED / name))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    assert report["valid"] is False
    [diagnostic] = report["diagnostics"]
    assert diagnostic["code"] == EXPECTED[name]
    assert diagnostic["line"] >= 1
    # A cycle is reported at the extends entry that closes it, which may be in the other file.
    assert diagnostic["file"].endswith(name) or name.startswith("cycle-")


def test_text_output_first_line_is_file_line_code(tmp_path: Path) -> None:
    proc = run_aigrid("validate", str(MALFORMED / "duplicate-key.yaml"))
    lines = proc.stdout.splitlines()
    assert lines[1].startswith(
        "tests/data/malformed/duplicate-key.yaml:3:1: error AG002: duplicate key 'kind'"
    )


def test_cycle_message_names_the_cycle() -> None:
    [diagnostic] = validate_file(MALFORMED / "cycle-a.yaml").diagnostics
    assert "cycle-a.yaml -> " in diagnostic.message and "cycle-b.yaml -> " in diagnostic.message


def test_alias_bomb_is_rejected_quickly() -> None:
    start = time.perf_counter()
    [diagnostic] = validate_file(MALFORMED / "alias-bomb.yaml").diagnostics
    assert diagnostic.code == "AG003"
    assert time.perf_counter() - start < 5, "the bomb must be refused before it is expanded"


def test_huge_file_is_refused_by_size_without_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: costs no disk, only its size is checked
        handle.truncate(MAX_FILE_BYTES + 1)
    proc = run_aigrid("validate", str(huge))
    assert proc.returncode == 1
    assert "AG004" in proc.stdout and "over the 64 MiB limit" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_missing_file_is_misuse() -> None:
    proc = run_aigrid("validate", "no/such/file.yaml")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_flag_is_misuse() -> None:
    proc = run_aigrid("validate", "--no-such-flag", str(MALFORMED / "empty.yaml"))
    assert proc.returncode == 2
    assert "No such option" in proc.stderr


def run_bounded(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line with 30 s and 1 GiB of address space: a file that never ends
    (a FIFO, /dev/zero) must be refused, not read until time or memory runs out."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    return subprocess.run(
        [sys.executable, "-m", "aigrid", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        preexec_fn=limit,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int = 1) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, output
    assert "Traceback" not in output and "internal error" not in output


@pytest.fixture
def special(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Files that are not regular files: a FIFO with no writer, a device, a socket."""
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    with monkeypatch.context() as here:  # bound by a short relative name: socket paths are limited
        here.chdir(tmp_path)
        server.bind("sock.yaml")
    try:
        yield {"fifo": fifo, "device": Path("/dev/zero"), "socket": tmp_path / "sock.yaml"}
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["fifo", "device", "socket"])
def test_only_regular_files_are_read(special: dict[str, Path], kind: str) -> None:
    proc = run_bounded("validate", "--format", "json", str(special[kind]))
    assert_clean_failure(proc)
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert diagnostic["code"] == "AG004" and "not a regular file" in diagnostic["message"]
    text = run_bounded("validate", str(special[kind]))  # the text report must not re-open it
    assert_clean_failure(text)
    [diagnostic] = validate_file(special[kind]).diagnostics
    assert diagnostic.code == "AG004"


@pytest.mark.parametrize("kind", ["fifo", "device", "socket"])
def test_extends_refuses_what_is_not_a_regular_file(
    special: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    link = tmp_path / "layer.yaml"
    link.symlink_to(special[kind])
    top = tmp_path / "top.yaml"
    top.write_text("extends: [layer.yaml]\n")
    proc = run_bounded("validate", "--root", "/", "--format", "json", str(top))
    assert_clean_failure(proc)
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert diagnostic["code"] == "AG004" and diagnostic["file"].endswith("top.yaml")


def test_extends_symlink_loop_is_an_error(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "loop-a.yaml").symlink_to("loop-b.yaml")
    (tmp_path / "loop-b.yaml").symlink_to("loop-a.yaml")
    top = write("top.yaml", "apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\nextends: [loop-a.yaml]\n")
    proc = run_aigrid("validate", "--format", "json", str(top), timeout=60)
    assert_clean_failure(proc)
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert diagnostic["code"] == "AG006" and "symbolic link loop" in diagnostic["message"]
    assert diagnostic["line"] == 3


def test_very_deep_extends_chain_is_refused(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    layers = 2000  # deeper than Python's recursion limit
    for number in range(layers):
        write(f"layer-{number:04d}.yaml", f"extends: [layer-{number + 1:04d}.yaml]\n")
    write(f"layer-{layers:04d}.yaml", "metadata: {name: bottom}\n")
    proc = run_aigrid("validate", "--format", "json", str(tmp_path / "layer-0000.yaml"), timeout=60)
    assert_clean_failure(proc)
    [diagnostic] = json.loads(proc.stdout)["diagnostics"]
    assert diagnostic["code"] == "AG007"
    assert f"more than {MAX_EXTENDS_DEPTH} files" in diagnostic["message"]


def test_extends_chain_at_the_depth_limit_is_fine(write) -> None:  # type: ignore[no-untyped-def]
    for number in range(MAX_EXTENDS_DEPTH - 1):
        write(f"layer-{number:02d}.yaml", f"extends: [layer-{number + 1:02d}.yaml]\nlocks: [l{number}]\n")
    last = write(f"layer-{MAX_EXTENDS_DEPTH - 1:02d}.yaml", "metadata: {name: bottom}\n")
    document = load_document(last.parent / "layer-00.yaml")
    assert document.root.plain["metadata"] == {"name": "bottom"}
    assert len(document.sources) == MAX_EXTENDS_DEPTH


SECRET = "hunter2-s3cr3t-value"
# How each blueprint reaches a secret, and the code that refuses it.
EXTENDS = {
    "dotdot": ("../credentials", "AG019"),
    "absolute": ("{outside}", "AG019"),
    "etc-passwd": ("/etc/passwd", "AG019"),
    "mapping": ("creds.yaml", "AG010"),
    "ini": ("creds.ini", "AG001"),
    "netrc": ("netrc", "AG010"),
}


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, Path]:
    """A repository with blueprints that extend secrets: outside it, and inside it as non-blueprints."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    outside = tmp_path / "credentials"
    outside.write_text(f"password={SECRET}\n")
    (repo / "creds.yaml").write_text(f"token: {SECRET}\nuser: {SECRET}\n")
    (repo / "creds.ini").write_text(f"[default]\naws_secret_access_key = {SECRET}\n")
    (repo / "netrc").write_text(f"machine example.com login me password {SECRET}\n")
    head = "apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\nmetadata: {name: x}\n"
    made = {}
    for name, (extends, _) in EXTENDS.items():
        made[name] = repo / f"{name}.yaml"
        made[name].write_text(head + f"extends: [{extends.format(outside=outside)}]\n")
    return made


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(EXTENDS))
def test_extends_never_reads_outside_the_root_nor_echoes_a_non_blueprint(
    secrets: dict[str, Path], name: str, fmt: str
) -> None:
    proc = run_aigrid("validate", "--format", fmt, str(secrets[name]), timeout=60)
    assert_clean_failure(proc)
    output = proc.stdout + proc.stderr
    assert SECRET not in output and "root:x:" not in output  # nor a line of /etc/passwd
    assert EXTENDS[name][1] in output


def test_absolute_extends_inside_the_root_is_fine(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    base = tmp_path / "base" / "stack.yaml"
    base.parent.mkdir()
    shutil.copy(BLUEPRINTS / "base" / "stack.yaml", base)
    grid = (BLUEPRINTS / "carriers" / "northwind" / "grid.yaml").read_text()
    top = tmp_path / "grid.yaml"
    top.write_text(grid.replace("../../base/stack.yaml", str(base)))
    proc = run_aigrid("validate", str(top), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_root_option_widens_where_extends_may_reach(tmp_path: Path) -> None:
    """Without a repository the root is the file's own folder; --root names a wider one."""
    for part in ("base/stack.yaml", "carriers/northwind/grid.yaml"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(BLUEPRINTS / part, tmp_path / part)
    grid = tmp_path / "carriers" / "northwind" / "grid.yaml"
    narrow = run_aigrid("validate", "--format", "json", str(grid), timeout=60)
    assert_clean_failure(narrow)
    [diagnostic] = json.loads(narrow.stdout)["diagnostics"]
    assert diagnostic["code"] == "AG019" and "--root" in diagnostic["hint"]
    wide = run_aigrid("validate", "--root", str(tmp_path), str(grid), timeout=60)
    assert wide.returncode == 0, wide.stdout + wide.stderr
    out = tmp_path / "out"
    refused = run_aigrid("compile", str(grid), "--out", str(out), timeout=120)
    assert_clean_failure(refused)
    assert not out.exists()
    compiled = run_aigrid("compile", "--root", str(tmp_path), str(grid), "--out", str(out), timeout=120)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
