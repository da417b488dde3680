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
        ("ga100-24gb", {"2g.12gb": 1, "1g.6gb": 2}, True),
        ("ga100-24gb", {"2g.12gb": 2, "1g.6gb": 1}, False),
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
        "    network: {sliceInterface: eno1}\n"
        "    nodes:\n      - {hostname: edge-02-gpu, role: control-plane, address: 192.0.2.20,"
        " gpus: {model: L4, count: 1}}\n"
        "workloads:\n",
    )
    assert codes(variant(write, "AG301-latency-slo-unreachable.yaml", closer)) == []


def test_site_without_the_requested_gpu_is_not_eligible_for_latency(write) -> None:  # type: ignore[no-untyped-def]
    closer_without_gpu = (
        "workloads:\n",
        "  - name: edge-02\n    tier: far-edge\n    region: lab\n    rtt: 1ms\n    slices: [embb]\n"
        "    network: {sliceInterface: eno1}\n"
        "    nodes:\n      - {hostname: edge-02-cp, role: control-plane, address: 192.0.2.20}\nworkloads:\n",
    )
    assert codes(variant(write, "AG301-latency-slo-unreachable.yaml", closer_without_gpu)) == ["AG301"]


def test_secret_references_are_accepted(write) -> None:  # type: ignore[no-untyped-def]
    for ref in ("secret://team/api-token", "env://API_TOKEN", "vault://kv/api"):
        path = variant(write, "AG401-plaintext-secret.yaml", ("API_TOKEN: hunter2", f"API_TOKEN: {ref}"))
        assert codes(path) == []


def test_credentials_in_a_mirror_url_are_refused(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG402-insecure-mirror.yaml",
        ("apt: http://mirror.example.net/ubuntu", "apt: https://bob:hunter2@mirror.example.net/ubuntu"),
    )
    [diagnostic] = validate_file(path).diagnostics
    assert diagnostic.code == "AG011" and diagnostic.path == "stack.mirrors.apt"
    assert "embeds credentials" in diagnostic.message and "stack.mirrors.credentials" in diagnostic.message


def test_password_in_an_env_url_is_a_plaintext_secret(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG401-plaintext-secret.yaml",
        ("API_TOKEN: hunter2", "DATABASE_URL: postgres://app:hunter2@db.example.net/app"),
    )
    [diagnostic] = validate_file(path).diagnostics
    assert diagnostic.code == "AG401" and "embeds a password in a URL" in diagnostic.message
    safe = variant(
        write,
        "AG401-plaintext-secret.yaml",
        ("API_TOKEN: hunter2", "DATABASE_URL: postgres://app@db.example.net/app"),
    )
    assert codes(safe) == []


def test_strict_layout_name_all_profile(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG304-mig-capacity-exceeded.yaml",
        ("mig: {layout: all-balanced}", "mig: {layout: all-3g.40gb}"),
    )
    assert codes(path) == []


@pytest.mark.parametrize("qi", [10, 87, 88, 89, 90])
def test_release_17_five_qis_are_standardized(write, qi: int) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG206-unknown-5qi.yaml",
        ("5qi: 11  # <- AG206", f"5qi: {qi}"),
        ("bitrate: {maximum: 100Mbps}", "bitrate: {guaranteed: 50Mbps, maximum: 100Mbps}"),
        ("slo: 150ms", "slo: 2s"),
    )
    assert codes(path) == []


def test_five_qi_rows_keep_the_table_columns() -> None:
    rows = catalog().five_qi
    assert (rows[10].type, rows[10].priority, rows[10].pdb_ms, rows[10].per) == ("Non-GBR", 90, 1100, "1e-6")
    assert [
        (rows[qi].type, rows[qi].priority, rows[qi].pdb_ms, rows[qi].per, rows[qi].max_data_burst_bytes)
        for qi in (87, 88, 89, 90)
    ] == [
        ("Delay-critical GBR", 25, 5, "1e-3", 500),
        ("Delay-critical GBR", 25, 10, "1e-3", 1125),
        ("Delay-critical GBR", 25, 15, "1e-4", 17000),
        ("Delay-critical GBR", 25, 20, "1e-4", 63000),
    ]
    for row in rows.values():
        assert (row.max_data_burst_bytes is not None) == (row.type == "Delay-critical GBR")
        assert (row.averaging_window_ms == 2000) == row.guaranteed


@pytest.mark.parametrize(
    ("first", "second", "found"),
    [
        ('sd: "0000B2"', "sd: '0xb2'", ["AG211"]),
        ('sd: "0000B2"', 'sd: "0000b2"', ["AG211"]),
        ('sd: "0000B2"', 'sd: "0000B3"', []),
    ],
)
def test_duplicate_snssai_compares_normalised_sds(write, first: str, second: str, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG211-duplicate-snssai.yaml",
        ('sd: "0000B2"', first),
        ("sd: '0xb2'}  # <- AG211", f"{second}}}"),
    )
    assert codes(path) == found


def test_duplicate_snssai_without_sd(write) -> None:  # type: ignore[no-untyped-def]
    same = variant(
        write,
        "AG211-duplicate-snssai.yaml",
        ('{sst: 1, sd: "0000B2"}', "{sst: 1}"),
        ("{sst: 1, sd: '0xb2'}", "{sst: 1}"),
    )
    assert codes(same) == ["AG211"]
    other = variant(
        write,
        "AG211-duplicate-snssai.yaml",
        ('{sst: 1, sd: "0000B2"}', "{sst: 1}"),
        ("{sst: 1, sd: '0xb2'}", "{sst: 2}"),
    )
    assert codes(other) == []


def test_reserved_sd_in_any_spelling(write) -> None:  # type: ignore[no-untyped-def]
    assert codes(variant(write, "AG212-reserved-sd.yaml", ('sd: "FFFFFF"', "sd: '0xffffff'"))) == ["AG212"]


def test_slice_network_room_is_counted_from_the_first_node_host(write) -> None:  # type: ignore[no-untyped-def]
    # A /28 has hosts .10 to .14 before the broadcast .15: five nodes fit, six do not.
    five = variant(
        write,
        "AG214-slice-network-too-small.yaml",
        ("      - hostname: edge-01-gpu05\n        address: 192.0.2.15\n", "      - hostname: gone\n"),
        ("      - hostname: gone\n        gpus: {model: L40S, count: 2}\n", ""),
    )
    assert codes(five) == []
    ipv6 = variant(
        write, "AG214-slice-network-too-small.yaml", ("ipv4: 198.51.100.0/28", "ipv6: 2001:db8::/125")
    )
    assert codes(ipv6) == ["AG214"]


def test_slice_network_contains_an_ipv6_node_address(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG201-cidr-overlap.yaml",
        ("    ipv4: 198.51.100.0/26  # <- AG201\n", "    ipv6: 2001:db8:ed::/64\n"),
        ("address: 192.0.2.11", "address: 2001:db8:ed::11"),
    )
    assert codes(path) == ["AG215"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "0.0.0.0",
        "::1",
        "::",
        "224.0.0.1",
        "ff02::1",
        "169.254.1.1",
        "fe80::1",
        "::ffff:127.0.0.1",
    ],
)
def test_unusable_node_addresses(write, address: str) -> None:  # type: ignore[no-untyped-def]
    path = variant(write, "AG216-unusable-node-address.yaml", ("address: 127.0.0.1", f"address: '{address}'"))
    assert codes(path) == ["AG216"]


def test_default_route_in_ipv6(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(write, "AG217-default-route-slice-network.yaml", ("ipv4: 0.0.0.0/0", "ipv6: ::/0"))
    assert codes(path) == ["AG217"]


def test_joint_capacity_counts_gpus_per_node_not_per_site(write) -> None:  # type: ignore[no-untyped-def]
    # Two nodes with 3 GPUs each: 6 GPUs, but only two replicas of 2 GPUs fit, not three.
    path = variant(
        write,
        "AG306-site-gpus-oversubscribed.yaml",
        (
            "        gpus: {model: L40S, count: 2}\n",
            "        gpus: {model: L40S, count: 3}\n      - hostname: edge-01-gpu02\n"
            "        address: 192.0.2.12\n        gpus: {model: L40S, count: 3}\n",
        ),
        ("    gpu: {count: 1}\n    replicas: 2\n", "    gpu: {count: 2}\n    replicas: 2\n"),
        ("    gpu: {count: 1}\n    replicas: 1\n", "    gpu: {count: 2}\n    replicas: 1\n"),
    )
    assert codes(path) == ["AG306"]


def test_joint_capacity_of_mig_instances(write) -> None:  # type: ignore[no-untyped-def]
    # all-balanced on one H100 gives two 1g.10gb instances; the workloads ask for three.
    path = variant(
        write,
        "AG304-mig-capacity-exceeded.yaml",
        (
            "    gpu: {mig: 3g.40gb}\n    replicas: 2  # <- AG304\n",
            "    gpu: {mig: 1g.10gb}\n    replicas: 2\n",
        ),
        (
            "    slice: embb\n",
            "    slice: embb\n  - name: tracker\n    runtime: triton\n    model: {name: tracker}\n"
            "    gpu: {mig: 1g.10gb}\n    replicas: 1\n    latency: {slo: 150ms, inference: 20ms}\n"
            "    slice: embb\n",
        ),
    )
    assert codes(path) == ["AG306"]
    assert "MIG 1g.10gb" in validate_file(path).diagnostics[0].message


def test_replicas_fill_the_closer_site_before_the_next(write) -> None:  # type: ignore[no-untyped-def]
    # One workload alone: 3 replicas for 3 GPUs. The old even spread gave the closer site,
    # with one GPU, two replicas (AG306); the solver puts one there and two on edge-01.
    path = variant(
        write,
        "AG303-gpu-capacity-exceeded.yaml",
        ("    replicas: 3  # <- AG303\n", "    replicas: 3\n"),
        (
            "workloads:\n",
            "  - name: edge-02\n    tier: edge\n    region: lab\n    rtt: 2ms\n    slices: [embb]\n"
            "    network: {sliceInterface: eno1}\n"
            "    nodes:\n      - {hostname: edge-02-gpu, role: control-plane, address: 192.0.2.20,"
            " gpus: {model: L4, count: 1}}\nworkloads:\n",
        ),
    )
    assert codes(path) == []
    from aigrid.catalog import catalog
    from aigrid.plan import build_plan

    result = validate_file(path)
    assert result.blueprint is not None
    plan = build_plan(result.blueprint, catalog())
    assert plan.workloads[0].placement == {"edge-02": 1, "edge-01": 2}


def test_three_control_planes_are_fine(write) -> None:  # type: ignore[no-untyped-def]
    third = "      - hostname: edge-01-cp3\n        role: control-plane\n        address: 192.0.2.13\n"
    path = variant(
        write,
        "AG308-even-control-plane-count.yaml",
        ("      - hostname: edge-01-gpu01\n", third + "      - hostname: edge-01-gpu01\n"),
    )
    assert codes(path) == []


@pytest.mark.parametrize(
    ("model", "count", "found"), [("L40S", 16, []), ("H100-SXM-80GB", 8, []), ("GB200", 8, ["AG114"])]
)
def test_gpus_per_node_by_form_factor(write, model: str, count: int, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG114-too-many-gpus-per-node.yaml",
        ("{model: H100-SXM-80GB, count: 16}", f"{{model: {model}, count: {count}}}"),
    )
    assert codes(path) == found


def test_every_gpu_form_factor_is_in_the_catalog() -> None:
    cat = catalog()
    assert {gpu.form_factor for gpu in cat.gpus.values()} <= set(cat.form_factors)
    assert all(row.source for row in cat.form_factors.values())


@pytest.mark.parametrize("distribution", ["k3s", "rke2"])
def test_distributions_no_role_installs(write, distribution: str) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG115-kubernetes-distribution-not-installed.yaml",
        ("distribution: k3s", f"distribution: {distribution}"),
    )
    assert codes(path) == ["AG115"]
    assert "use distribution: kubeadm" in validate_file(path).diagnostics[0].hint


@pytest.mark.parametrize(
    ("version", "found"), [("1.6.33", ["AG116"]), ("3.0.0", ["AG116"]), ("1.7.27", []), ("2.0.0", [])]
)
def test_containerd_releases_the_role_configures(write, version: str, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = variant(write, "AG116-containerd-not-installable.yaml", ("version: 1.6.33", f"version: {version}"))
    assert codes(path) == found


def test_credentials_over_http_replace_the_warning(write) -> None:  # type: ignore[no-untyped-def]
    anonymous = variant(
        write,
        "AG403-credentials-over-http.yaml",
        ("    credentials:\n      username: aigrid\n      password: secret://mirrors/apt-password\n", ""),
    )
    assert codes(anonymous) == ["AG402"]
    https = variant(write, "AG403-credentials-over-http.yaml", ("apt: http://", "apt: https://"))
    assert codes(https) == []


def test_a_lock_must_name_a_field(write) -> None:  # type: ignore[no-untyped-def]
    base = (BLUEPRINTS / "base" / "stack.yaml").resolve()
    text = (
        f"apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\nextends: [{base}]\nmetadata:\n  name: locks\n"
        "locks:\n  - stack.mirrors\n  - stack.drivr.version\n"
    )
    [diagnostic] = validate_file(write("locks.yaml", text), root=Path(BLUEPRINTS.anchor)).diagnostics
    assert diagnostic.code == "AG009" and diagnostic.line == 8
    assert "stack has no field 'drivr' (did you mean 'driver'?)" in diagnostic.message


def test_a_lock_must_name_an_item_that_exists(write) -> None:  # type: ignore[no-untyped-def]
    grid = (BLUEPRINTS / "carriers" / "northwind" / "grid.yaml").resolve()
    text = (
        f"apiVersion: aigrid.dev/v1alpha1\nkind: Blueprint\nextends: [{grid}]\nmetadata:\n  name: locks\n"
        "locks:\n  - sites[nw-nyc-fe-01].nodes[nw-nyc-fe-01-gpu01].gpus\n  - sites[nw-nyc-fe-99].nodes\n"
    )
    [diagnostic] = validate_file(write("locks.yaml", text), root=Path(BLUEPRINTS.anchor)).diagnostics
    assert diagnostic.code == "AG009" and "sites has no item [nw-nyc-fe-99]" in diagnostic.message


def test_a_node_may_name_its_own_slice_interface_where_the_site_names_none(write) -> None:  # type: ignore[no-untyped-def]
    """sliceInterface on a node overrides the site's; without the site's, every node needs one."""
    source = "AG218-slice-interface-missing.yaml"
    cp = "        address: 192.0.2.10\n"
    gpu = "        gpus: {model: L40S, count: 2}\n"
    own = "        network: {sliceInterface: ens1f0}\n"
    assert codes(variant(write, source, (cp, cp + own), (gpu, gpu + own))) == []
    path = variant(write, source, (cp, cp + own))
    [diagnostic] = validate_file(path).diagnostics
    assert diagnostic.code == "AG218" and diagnostic.path == "sites[edge-01].nodes[edge-01-gpu01]"
    assert "node edge-01-gpu01 of site edge-01 has no interface" in diagnostic.message


def test_a_site_without_slices_needs_no_slice_interface(write) -> None:  # type: ignore[no-untyped-def]
    path = variant(
        write,
        "AG218-slice-interface-missing.yaml",
        ("    slices: [embb]  # <- AG218\n", ""),
    )
    assert "AG218" not in codes(path)


def test_model_store_credentials_are_a_secret_reference(write) -> None:  # type: ignore[no-untyped-def]
    literal = variant(
        write,
        "AG401-plaintext-secret.yaml",
        ("API_TOKEN: hunter2", "LOG_LEVEL: info"),
        ("model: {name: detector}", "model: {name: detector, repository: s3://m/d, credentials: AKIA1234}"),
    )
    [diagnostic] = validate_file(literal).diagnostics
    assert diagnostic.code == "AG401" and diagnostic.path == "workloads[detector].model.credentials"
    reference = variant(
        write,
        "AG401-plaintext-secret.yaml",
        ("API_TOKEN: hunter2", "LOG_LEVEL: info"),
        (
            "model: {name: detector}",
            "model: {name: detector, repository: s3://m/d, credentials: secret://m/s}",
        ),
    )
    assert codes(reference) == []


def test_a_custom_image_may_read_an_https_repository(write) -> None:  # type: ignore[no-untyped-def]
    """AG119 is about what Triton reads; a custom image is given the URL and reads it itself."""
    path = variant(
        write,
        "AG119-model-repository-unreadable.yaml",
        ("    runtime: triton\n", "    runtime: custom\n    image: registry.example.net/ai/detector:1.0\n"),
        ("  # <- AG119", ""),
    )
    assert codes(path) == []


ROUTE_EXAMPLE = "      - to: 10.45.0.0/16\n        via: 198.51.100.20  # <- AG223\n"
WITH_IPV6 = ("    ipv4: 198.51.100.0/26\n", "    ipv4: 198.51.100.0/26\n    ipv6: 2001:db8:210::/64\n")


def routed(write, *routes: str, edit: tuple[str, str] | None = None) -> Path:  # type: ignore[no-untyped-def]
    """AG223's example with ROUTES on its slice instead of its own, and one more edit."""
    text = "".join(f"      - {route}\n" for route in routes)
    return variant(write, "AG223-slice-route-gateway.yaml", (ROUTE_EXAMPLE, text), *([edit] if edit else []))


@pytest.mark.parametrize(
    ("route", "found"),
    [
        ("{to: 10.45.0.0/16, via: 198.51.100.1}", []),  # host 1: a gateway's
        ("{to: 10.45.0.0/16, via: 198.51.100.9}", []),  # host 9: the last before the nodes'
        ("{to: 10.45.0.0/16, via: 198.51.100.10}", ["AG223"]),  # the first node's
        ("{to: 10.45.0.0/16, via: 198.51.100.0}", ["AG223"]),  # the network address
        ("{to: 10.45.0.0/16, via: 203.0.113.1}", ["AG223"]),  # outside the slice
        ("{to: 10.45.0.0/16, via: '2001:db8::1'}", ["AG223"]),  # another family
        ("{to: '2001:db8:45::/48', via: '2001:db8::1'}", ["AG223"]),  # outside the slice's IPv6 range
        ("{to: 198.51.100.0/28, via: 198.51.100.1}", ["AG224"]),  # inside the slice's own range
        ("{to: 192.168.128.0/20, via: 198.51.100.1}", ["AG224"]),  # inside the default pod range
        ("{to: 10.96.0.0/16, via: 198.51.100.1}", ["AG224"]),  # over the default service range
        ("{to: 169.254.0.0/16, via: 198.51.100.1}", ["AG224"]),  # link-local (node-local DNS)
        ("{to: 224.0.0.0/8, via: 198.51.100.1}", ["AG224"]),  # multicast
        ("{to: 192.0.2.0/24, via: 198.51.100.1}", ["AG224"]),  # the nodes' management addresses
        ("{to: 192.0.2.11/32, via: 198.51.100.1}", ["AG224"]),  # one node's
        ("{to: 192.0.2.128/25, via: 198.51.100.1}", []),  # beside them
        ("{to: '2001:db8:45::/48', via: '2001:db8:210::9'}", []),  # IPv6, gateway host 9
        ("{to: '2001:db8:45::/48', via: '2001:db8:210::a'}", ["AG223"]),  # host 10: the first node's
        ("{to: '2001:db8:45::/48', via: '::ffff:198.51.100.1'}", ["AG223"]),  # IPv4-mapped gateway
        ("{to: '::ffff:10.45.0.0/112', via: '2001:db8:210::1'}", ["AG224"]),  # IPv4-mapped destination
    ],
)
def test_slice_routes(write, route: str, found: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert codes(routed(write, route, edit=WITH_IPV6)) == found


def test_a_slice_route_over_a_declared_pod_range(write) -> None:  # type: ignore[no-untyped-def]
    pod_range = ("    version: 1.34.9\n", "    version: 1.34.9\n    podSubnet: 10.44.0.0/14\n")
    assert codes(routed(write, "{to: 10.45.0.0/16, via: 198.51.100.1}", edit=pod_range)) == ["AG224"]


def test_a_slice_route_given_twice(write) -> None:  # type: ignore[no-untyped-def]
    route = "{to: 10.45.0.0/16, via: 198.51.100.1}"
    assert codes(routed(write, route, route)) == ["AG224"]


def test_a_slice_route_of_a_family_the_slice_has_no_range_of(write) -> None:  # type: ignore[no-untyped-def]
    path = routed(write, "{to: '2001:db8:45::/48', via: '2001:db8::1'}")
    assert codes(path) == ["AG223"]
    assert "but the slice has no IPv6 range" in validate_file(path).diagnostics[0].message


@pytest.mark.parametrize(
    ("driver", "cuda", "found", "says"),
    [
        ("595.71.05", "13.4.2", ["AG101"], "older than R615, the minimum for CUDA 13.4.2"),
        ("615.71.09", "13.4.2", [], ""),
        ("615.71.09", "13.4", [], ""),
        ("600.10.01", "13.3.1", ["AG101"], "older than 610.43.02, the minimum for CUDA 13.3.1"),
        ("610.43.02", "13.3", [], ""),
        ("615.71.09", "13.4.0", ["AG113"], "CUDA 13.4.0 is not in the catalog"),
    ],
)
def test_cuda_minimums_after_13_2(write, driver: str, cuda: str, found: list[str], says: str) -> None:  # type: ignore[no-untyped-def]
    """13.3 names a driver version; 13.4 a branch (R615), whose GA is 13.4.1."""
    path = variant(
        write,
        "AG101-driver-below-cuda-minimum.yaml",
        ("version: 580.65.06", f"version: {driver}"),
        ("cuda: {version: 13.0.2}", f"cuda: {{version: {cuda}}}"),
        ("  tensorrt: {version: 10.14.1}\n", ""),
    )
    diagnostics = validate_file(path).diagnostics
    assert [d.code for d in diagnostics] == found
    assert all(says in d.message for d in diagnostics)
