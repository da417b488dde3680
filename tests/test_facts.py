"""GPU facts from real captures (and variants of them), compared with blueprints."""

from __future__ import annotations

import ctypes
import json
import shutil
from pathlib import Path

import pytest

from aigrid.catalog import catalog
from aigrid.diagnostics import Code
from aigrid.facts import parse
from aigrid.facts.gather import CaptureSource, NoDriver, gather
from aigrid.facts.verify import verify_node
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, run_aigrid

H100 = Path(__file__).resolve().parent / "fixtures" / "gpu-node-h100"
H200 = Path(__file__).resolve().parent / "fixtures" / "gpu-node-h200"  # saved by `aigrid facts --save`


def test_xml_capture() -> None:
    data = parse.parse_smi_xml((H100 / "nvidia-smi-q.xml").read_text())
    assert data["driver_version"] == "580.159.04" and data["cuda_driver_version"] == "13.0"
    [gpu] = data["gpus"]
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["pci_device_id"] == "2330" and gpu["pci_bus_id"] == "00000000:00:06.0"
    assert gpu["memory_mib"] == 81559
    assert (gpu["mig_mode"], gpu["mig_pending"], gpu["persistence_mode"]) == ("disabled", "disabled", True)


def test_csv_capture() -> None:
    [row] = parse.parse_smi_csv((H100 / "nvidia-smi-query.csv").read_text())
    assert (
        row["compute_cap"] == "9.0"
        and row["memory.total"] == "81559 MiB"
        and row["power.limit"] == "700.00 W"
    )
    [gpu] = parse.gpus_from_csv([row])
    assert gpu["memory_mib"] == 81559 and gpu["mig_mode"] == "disabled"


def test_nvml_capture() -> None:
    data = parse.parse_nvml_json((H100 / "nvml.json").read_text())
    assert data["cuda_driver_version"] == "13.0"
    [gpu] = data["gpus"]
    assert gpu["compute_capability"] == "9.0" and gpu["memory_mib"] == 81559


def test_text_captures() -> None:
    misc = parse.sections((H100 / "misc.txt").read_text())
    host = parse.sections((H100 / "host.txt").read_text())
    assert parse.parse_mig_lgip(misc["mig -lgip"]) == {
        0: {
            "1g.10gb": 7,
            "1g.10gb+me": 1,
            "1g.20gb": 4,
            "2g.20gb": 3,
            "3g.40gb": 2,
            "4g.40gb": 1,
            "7g.80gb": 1,
        }
    }
    assert parse.parse_proc_version(misc["modinfo"]) == ("open", "580.159.04")
    assert parse.parse_nvcc(misc["nvcc"]) == "13.0.88"
    assert parse.parse_os_release(host["os-release"]) == ("ubuntu", "24.04")


@pytest.mark.parametrize(("capture", "family"), [(H100, "gh100-80gb"), (H200, "gh100-141gb")])
def test_lgip_matches_the_catalog_mig_geometry(capture: Path, family: str) -> None:
    """The catalog's MIG family must offer exactly what the real GPU offers."""
    offered = parse.parse_mig_lgip(parse.sections((capture / "misc.txt").read_text())["mig -lgip"])[0]
    profiles = catalog().mig_families[family].profiles
    assert {name: profile.max for name, profile in profiles.items()} == offered


@pytest.mark.parametrize("use_nvml", [True, False])
def test_the_real_h200_capture_maps_to_the_catalog(use_nvml: bool) -> None:
    facts = gather(CaptureSource(H200), use_nvml=use_nvml)
    [gpu] = facts.gpus
    assert (gpu.name, gpu.pci_device_id, gpu.catalog_model) == ("NVIDIA H200", "2335", "H200-141GB")
    assert gpu.memory_mib == 143771 and gpu.mig_mode == "disabled"
    assert gpu.persistence_mode is True  # NVML's and nvidia-smi -q -x's answer alike
    observed = (facts.driver_version, facts.kernel_modules, facts.cuda_toolkit)
    assert observed == ("580.159.04", "open", "13.0.88")
    proc = run_aigrid(
        "verify-node", "blueprints/examples/gpu-node-h200.yaml", "--node", "h200-node-01", "--from", str(H200)
    )
    assert proc.returncode == 0, proc.stdout  # matches; the newer 580 patch is a warning (AG509)
    assert "AG509" in proc.stdout


def test_persistence_mode_from_the_csv_where_nvml_gave_none(tmp_path: Path) -> None:
    """A capture saved before NVML was asked for persistence mode: the CSV answers, and a CSV
    without the column leaves it unknown, not off."""
    capture = tmp_path / "capture"
    shutil.copytree(H200, capture)
    nvml = json.loads((capture / "nvml.json").read_text())
    del nvml["gpus"][0]["persistence_mode"]
    (capture / "nvml.json").write_text(json.dumps(nvml))
    assert gather(CaptureSource(capture)).gpus[0].persistence_mode is True
    csv = (capture / "nvidia-smi-query.csv").read_text().replace("Enabled", "Disabled")
    (capture / "nvidia-smi-query.csv").write_text(csv)
    assert gather(CaptureSource(capture)).gpus[0].persistence_mode is False
    assert gather(CaptureSource(H100)).gpus[0].persistence_mode is None  # neither has it


def test_facts_table_shows_persistence_mode() -> None:
    proc = run_aigrid("facts", "--from", str(H200), columns=200)
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "persistence" in line)
    row = next(line for line in proc.stdout.splitlines() if "NVIDIA H200" in line)
    cells = [cell.strip() for cell in row.split("│")]
    assert cells[[cell.strip() for cell in header.split("┃")].index("persistence")] == "on"


def test_proprietary_banner() -> None:
    banner = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.144.03  Thu Oct 10 2024\n"
    assert parse.parse_proc_version(banner) == ("proprietary", "550.144.03")


@pytest.mark.parametrize("use_nvml", [True, False])
def test_gather_from_capture(use_nvml: bool) -> None:
    facts = gather(CaptureSource(H100), use_nvml=use_nvml)
    assert facts.source.startswith("nvml" if use_nvml else "nvidia-smi -q -x")
    assert (facts.driver_version, facts.cuda_driver_version, facts.kernel_modules) == (
        "580.159.04",
        "13.0",
        "open",
    )
    assert (facts.cuda_toolkit, facts.os_id, facts.os_version) == ("13.0.88", "ubuntu", "24.04")
    [gpu] = facts.gpus
    assert gpu.catalog_model == "H100-SXM-80GB" and gpu.compute_capability == "9.0"
    assert gpu.mig_profiles["1g.10gb"] == 7


def variant(
    tmp_path: Path, xml_edit: tuple[str, str] | None = None, gpus: int = 1, drop: tuple[str, ...] = ()
) -> Path:
    """A copy of the H100 capture with the XML edited: several GPUs, MIG on, fields N/A."""
    target = tmp_path / "capture"
    shutil.copytree(H100, target)
    for name in ("nvml.json", *drop):
        (target / name).unlink()
    if "nvidia-smi-q.xml" in drop:
        return target
    xml = (target / "nvidia-smi-q.xml").read_text()
    if xml_edit:
        xml = xml.replace(*xml_edit)
    if gpus > 1:
        start, end = xml.index("\t<gpu id="), xml.index("</gpu>") + len("</gpu>\n")
        block = xml[start:end]
        copies = [
            block.replace("00000000:00:06.0", f"00000000:00:0{6 + i}.0").replace("d545fd9a", f"d545fd{i:02x}")
            for i in range(gpus)
        ]
        xml = xml[:start] + "".join(copies) + xml[end:]
        csv = (target / "nvidia-smi-query.csv").read_text().splitlines()
        rows = [csv[1].replace("0, GPU-", f"{i}, GPU-", 1) for i in range(gpus)]
        (target / "nvidia-smi-query.csv").write_text("\n".join([csv[0], *rows]) + "\n")
    (target / "nvidia-smi-q.xml").write_text(xml)
    return target


def test_several_gpus(tmp_path: Path) -> None:
    facts = gather(CaptureSource(variant(tmp_path, gpus=4)))
    assert [gpu.index for gpu in facts.gpus] == [0, 1, 2, 3]
    assert len({gpu.pci_bus_id for gpu in facts.gpus}) == 4
    assert all(gpu.compute_capability == "9.0" for gpu in facts.gpus)


def test_mig_enabled_variant(tmp_path: Path) -> None:
    capture = variant(tmp_path, ("<current_mig>Disabled</current_mig>", "<current_mig>Enabled</current_mig>"))
    assert gather(CaptureSource(capture)).gpus[0].mig_mode == "enabled"


def test_na_field_is_none_not_an_error(tmp_path: Path) -> None:
    capture = variant(tmp_path, ("<total>81559 MiB</total>", "<total>N/A</total>"))
    assert gather(CaptureSource(capture)).gpus[0].memory_mib is None


def test_csv_only_when_xml_is_missing(tmp_path: Path) -> None:
    facts = gather(CaptureSource(variant(tmp_path, drop=("nvidia-smi-q.xml",))))
    assert facts.source.startswith("nvidia-smi --query-gpu")
    assert facts.gpus[0].catalog_model == "H100-SXM-80GB" and facts.driver_version == "580.159.04"


def test_no_gpu_at_all(tmp_path: Path) -> None:
    with pytest.raises(NoDriver):
        gather(CaptureSource(tmp_path))
    # The command line's message for an empty capture: tests/test_cli_messages.py.


def _verify(blueprint: str, node: str, capture: Path = H100) -> list[str]:
    result = validate_file(BLUEPRINTS / "examples" / blueprint)
    assert result.blueprint is not None
    return [m.code for m in verify_node(result.blueprint, node, gather(CaptureSource(capture)), catalog())]


def test_verify_node_matches_the_declared_h100() -> None:
    assert _verify("gpu-node-h100.yaml", "h100-node-01") == ["AG509"]  # driver newer than pinned: a warning


def test_verify_node_reports_a_wrong_declaration() -> None:
    assert _verify("gpu-node-declares-a100.yaml", "a100-node-01") == ["AG501", "AG504", "AG505"]


def test_verify_node_count_and_mig(tmp_path: Path) -> None:
    capture = variant(tmp_path, gpus=2)
    assert _verify("gpu-node-h100.yaml", "h100-node-01", capture) == ["AG502", "AG509"]
    mig_on = variant(
        tmp_path / "mig", ("<current_mig>Disabled</current_mig>", "<current_mig>Enabled</current_mig>")
    )
    assert _verify("gpu-node-h100.yaml", "h100-node-01", mig_on) == ["AG509", "AG507"]


def test_verify_node_cli_exit_codes(tmp_path: Path) -> None:
    good = run_aigrid(
        "verify-node",
        "blueprints/examples/gpu-node-h100.yaml",
        "--node",
        "h100-node-01",
        "--from",
        str(H100),
        "--json",
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["match"] is True
    bad = run_aigrid(
        "verify-node",
        "blueprints/examples/gpu-node-declares-a100.yaml",
        "--node",
        "a100-node-01",
        "--from",
        str(H100),
        "--json",
    )
    assert bad.returncode == 1
    paths = {m["code"]: m["path"] for m in json.loads(bad.stdout)["mismatches"]}
    assert paths["AG501"] == "sites[lab-a100].nodes[a100-node-01].gpus.model"
    assert paths["AG504"] == "stack.driver.version"
    none = run_aigrid(
        "verify-node",
        "blueprints/examples/gpu-node-h100.yaml",
        "--node",
        "h100-node-01",
        "--from",
        str(tmp_path),
    )
    assert none.returncode == 2


def test_a_saved_capture_reads_back_as_the_same_facts(tmp_path: Path) -> None:
    saved = tmp_path / "capture"
    proc = run_aigrid("facts", "--from", str(H100), "--save", str(saved), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "capture written to" in proc.stderr
    original, again = gather(CaptureSource(H100)), gather(CaptureSource(saved))
    assert again.model_dump(exclude={"source"}) == original.model_dump(exclude={"source"})
    assert again.gpus[0].mig_profiles and again.kernel_modules == "open" and again.cuda_toolkit


def test_a_capture_never_overwrites_another(tmp_path: Path) -> None:
    (tmp_path / "nvml.json").write_text("{}")
    proc = run_aigrid("facts", "--from", str(H100), "--save", str(tmp_path))
    assert proc.returncode == 2 and "not empty" in proc.stderr
    assert (tmp_path / "nvml.json").read_text() == "{}"


def test_node_commands_run_without_ansible_installed() -> None:
    """GPU nodes run facts/verify-node/smoke with only aigrid's light dependencies: the CLI
    must not import Ansible before a command needs it."""
    import subprocess
    import sys

    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('ansible', 'ansible_runner'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "sys.argv = ['aigrid', 'verify-node', sys.argv[1], '--node', 'h100-node-01', '--from', sys.argv[2]]\n"
        "from aigrid.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", blocker, str(BLUEPRINTS / "examples/gpu-node-h100.yaml"), str(H100)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "matches" in proc.stdout


def _driver_present() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def test_smoke_check_runs_or_says_why_not() -> None:
    """On a GPU node the smoke check must pass; elsewhere it must say there is no driver."""
    proc = run_aigrid("smoke", "--json")
    if _driver_present():
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["ok"] is True
    else:
        assert proc.returncode == 2 and "libcuda.so.1" in proc.stderr


def test_mismatch_codes_are_documented_rules() -> None:
    from aigrid.docs import rules_markdown

    doc = rules_markdown()
    codes = [code for code in Code if code.startswith("AG5")]
    assert len(codes) == 17
    for code in codes:
        assert f"### {code}" in doc


def test_check_script_stops_cleanly_without_a_driver_or_passes_with_one() -> None:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        ["bash", "scripts/gpu-node-check.sh"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if _driver_present():
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "all checks behaved as expected" in proc.stdout
    else:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "no NVIDIA driver answered" in proc.stderr


def test_facts_and_their_saved_capture_come_from_one_reading(tmp_path: Path) -> None:
    """`aigrid facts --save` asks the node each question once: what it shows is what it saves."""
    from collections import Counter

    from aigrid.facts.gather import Recorded, save_capture

    asked: Counter[str] = Counter()
    capture = CaptureSource(H100)

    class Counting:
        name = "counting"

        def __getattr__(self, question: str) -> object:
            def answer() -> str | None:
                asked[question] += 1
                result: str | None = getattr(capture, question)()
                return result

            return answer

    recorded = Recorded(Counting())  # type: ignore[arg-type]
    gather(recorded)
    save_capture(recorded, tmp_path / "capture")
    assert asked and max(asked.values()) == 1, asked
