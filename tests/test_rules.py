"""Rule behaviour beyond the one-file-per-rule examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigrid.catalog import catalog
from aigrid.validate import validate_file
from conftest import BLUEPRINTS

INVALID = BLUEPRINTS / "examples" / "invalid"


def variant(write, source: str, *edits: tuple[str, str]) -> Path:  # type: ignore[no-untyped-def]
    text = (INVALID / source).read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    return write("variant.yaml", text)  # type: ignore[no-any-return]


def codes(path: Path) -> list[str]:
    return [d.code for d in validate_file(path).diagnostics]


@pytest.mark.parametrize(
    ("family", "layout", "fits"),
    [
        ("gh100-80gb", {"1g.10gb": 7}, True),
        ("gh100-80gb", {"2g.20gb": 3, "1g.10gb": 1}, True),
        ("gh100-80gb", {"4g.40gb": 1, "3g.40gb": 1}, True),
        ("gh100-80gb", {"3g.40gb": 2, "1g.10gb": 1}, False),
        ("gh100-80gb", {"1g.10gb+me": 2}, False),
        ("gh100-80gb", {"7g.80gb": 1, "1g.10gb": 1}, False),
        ("a30-24gb", {"2g.12gb": 1, "1g.6gb": 2}, True),
        ("a30-24gb", {"2g.12gb": 2, "1g.6gb": 1}, False),
    ],
)
def test_mig_layouts_are_placed_not_summed(family: str, layout: dict[str, int], fits: bool) -> None:
    assert catalog().mig_families[family].fits(layout) is fits


def test_every_catalog_row_cites_a_source() -> None:
    cat = catalog()
    rows = [
        *cat.gpus.values(),
        *cat.mig_families.values(),
        *cat.cuda_toolkits,
        *cat.cuda_majors.values(),
        *cat.tensorrt,
        *cat.gpu_operator.values(),
        *cat.architecture_drops,
    ]
    assert rows and all(row.source.strip() for row in rows)
    for gpu in cat.gpus.values():
        assert gpu.mig_family is None or gpu.mig_family in cat.mig_families


def test_issue_gpu_list_is_in_the_catalog() -> None:
    required = [
        "T4",
        "A10",
        "A30",
        "A100-40GB",
        "A100-80GB",
        "L4",
        "L40S",
        "H100-PCIe-80GB",
        "H100-SXM-80GB",
        "H100-NVL-94GB",
        "H200-141GB",
        "GH200-96GB",
        "B200",
        "RTX-PRO-6000",
    ]
    assert set(required) <= set(catalog().gpus)


def test_sd_forms_are_normalised(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(write, "AG205-invalid-sd.yaml", ("sd: 178}", "sd: '0xb2'}"))
    result = validate_file(path)
    assert result.diagnostics == []
    assert result.blueprint is not None and result.blueprint.slices[0].snssai.sd == "0000B2"


def test_cidr_overlap_in_ipv6(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG201-cidr-overlap.yaml",
        ("    ipv4: 198.51.100.0/26  # <- AG201\n", "    ipv4: 198.51.100.128/26\n    ipv6: 2001:db8::/48\n"),
        ("    ipv4: 198.51.100.0/25\n", "    ipv4: 198.51.100.0/25\n    ipv6: 2001:db8:0:1::/64\n"),
    )
    assert codes(path) == ["AG201"]


def test_latency_uses_the_best_eligible_site(write) -> None:  # type: ignore[no-untyped-def]
    closer = (
        "workloads:\n",
        "  - name: edge-02\n    tier: far-edge\n    region: lab\n    rtt: 1ms\n    slices: [embb]\n"
        "    nodes:\n      - {hostname: edge-02-gpu, address: 192.0.2.20, gpus: {model: L4, count: 1}}\n"
        "workloads:\n",
    )
    assert codes(variant(write, "AG301-latency-slo-unreachable.yaml", closer)) == []


def test_site_without_the_requested_gpu_is_not_eligible_for_latency(write) -> None:  # type: ignore[no-untyped-def]
    closer_without_gpu = (
        "workloads:\n",
        "  - name: edge-02\n    tier: far-edge\n    region: lab\n    rtt: 1ms\n    slices: [embb]\n"
        "    nodes:\n      - {hostname: edge-02-cp, address: 192.0.2.20}\nworkloads:\n",
    )
    assert codes(variant(write, "AG301-latency-slo-unreachable.yaml", closer_without_gpu)) == ["AG301"]


def test_secret_references_are_accepted(write) -> None:  # type: ignore[no-untyped-def]
    for ref in ("secret://team/api-token", "env://API_TOKEN", "vault://kv/api"):
        path = variant(write, "AG401-plaintext-secret.yaml", ("API_TOKEN: hunter2", f"API_TOKEN: {ref}"))
        assert codes(path) == []


def test_password_in_a_url_is_a_plaintext_secret(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG402-insecure-mirror.yaml",
        ("apt: http://mirror.example.net/ubuntu", "apt: https://bob:hunter2@mirror.example.net/ubuntu"),
    )
    assert codes(path) == ["AG401"]


def test_strict_layout_name_all_profile(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG304-mig-capacity-exceeded.yaml",
        ("mig: {layout: all-balanced}", "mig: {layout: all-3g.40gb}"),
    )
    assert codes(path) == []
