"""Cluster formation as compiled: each site's kubeadm configuration and join configurations
(against kubeadm's v1beta4 types), the Calico Installation (against the operator's CRD), the
add-on kustomizations (images pinned), the order of the plays, and no secret in the output.
The lab's converge runs the same inputs through STAND-IN kubeadm/kubectl (tests/test_lab.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from aigrid import layout
from aigrid.catalog import catalog
from aigrid.render import ansible as ansible_render
from aigrid.render.cluster import kustomization
from conftest import BLUEPRINTS, run_aigrid
from kubeadm_schema import validate_kubeadm_documents
from test_manifests import crd_validator

# A kubeadm bootstrap token, [a-z0-9]{6}.[a-z0-9]{16} (kubeadm token reference).
BOOTSTRAP_TOKEN = re.compile(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b")

SHIPPED = [
    BLUEPRINTS / "examples" / "lab-edge-site.yaml",
    BLUEPRINTS / "examples" / "multi-carrier-grid.yaml",
]


@pytest.fixture(scope="module", params=SHIPPED, ids=lambda p: p.stem)
def compiled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out") / "out"
    proc = run_aigrid("compile", str(request.param), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return Path(out)


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def sites(out: Path) -> list[str]:
    return sorted(p.name for p in (out / layout.CLUSTER / "sites").iterdir())


def host_vars(out: Path, host: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((out / layout.host_vars(host)).read_text())
    return data


def test_kubeadm_configuration_is_valid_v1beta4(compiled: Path) -> None:
    for site in sites(compiled):
        config = docs(compiled / layout.cluster_file(site, "kubeadm-config.yaml"))
        assert validate_kubeadm_documents(config) == [], site
        assert [d["kind"] for d in config] == [
            "InitConfiguration",
            "ClusterConfiguration",
            "KubeletConfiguration",
        ]
        # Only the init token's lifetime: kubeadm generates the token itself.
        assert config[0]["bootstrapTokens"] == [{"ttl": "15m0s"}] and "certificateKey" not in config[0]


def test_join_configurations_are_valid_once_the_role_adds_discovery(compiled: Path) -> None:
    """The compiled part holds no secret; with what the role adds at bring-up it is a valid
    JoinConfiguration (control planes with their certificate key)."""
    inventory = yaml.safe_load((compiled / layout.INVENTORY).read_text())
    hosts = [h for g in inventory["all"]["children"].values() for h in (g or {}).get("hosts") or {}]
    firsts = set(inventory["all"]["children"]["first_control_plane"]["hosts"])
    assert firsts and firsts <= set(hosts)
    for host in sorted(set(hosts) - firsts):
        join = host_vars(compiled, host)["kubernetes_cluster_join_config"]
        assert "discovery" not in join
        secrets = {
            "discovery": {
                "bootstrapToken": {
                    "apiServerEndpoint": "[2001:db8::10]:6443",
                    "token": "abcdef.0123456789abcdef",
                    "caCertHashes": ["sha256:" + "0" * 64],
                }
            }
        }
        if "controlPlane" in join:
            join["controlPlane"]["certificateKey"] = "f" * 64
        assert validate_kubeadm_documents([{**join, **secrets}]) == [], host


def test_pod_network_pool_is_the_kubeadm_pod_range(compiled: Path) -> None:
    """The operator refuses pools outside kubeadm's podSubnet; the node addresses it
    detects are the blueprint's own."""
    for site in sites(compiled):
        cluster = next(
            d
            for d in docs(compiled / layout.cluster_file(site, "kubeadm-config.yaml"))
            if d["kind"] == "ClusterConfiguration"
        )
        installation, api_server = docs(
            compiled / layout.cluster_file(site, "addons/calico/installation.yaml")
        )
        for obj in (installation, api_server):
            errors = [e.message for e in crd_validator(obj).iter_errors(obj)]
            assert errors == [], (site, obj["kind"], errors)
        network = installation["spec"]["calicoNetwork"]
        assert [pool["cidr"] for pool in network["ipPools"]] == [cluster["networking"]["podSubnet"]]
        detection = network.get("nodeAddressAutodetectionV4") or network["nodeAddressAutodetectionV6"]
        first = docs(compiled / layout.cluster_file(site, "kubeadm-config.yaml"))[0]
        assert any(
            c.startswith(first["localAPIEndpoint"]["advertiseAddress"] + "/") for c in detection["cidrs"]
        )


def test_addon_kustomizations_pin_every_moving_image() -> None:
    for addon in catalog().addons:
        body = kustomization(addon)
        assert {i["name"]: i["newTag"] for i in body["images"]} == addon.images
        assert all(tag not in ("latest", "snapshot-thick") for tag in addon.images.values())
        assert body["resources"] == [m.url.rsplit("/", 1)[1] for m in addon.manifests]
    for row in [*catalog().cni, *catalog().addons]:
        assert all(m.sha256 and len(m.sha256) == 64 for m in row.manifests), row.version


def test_plays_form_the_cluster_before_anything_joins() -> None:
    order = [
        (p.hosts, p.tasks_from, p.serial) for p in ansible_render.PLAYS if p.role == "kubernetes_cluster"
    ]
    assert order == [
        ("first_control_plane", "init", None),
        ("role_control_plane:!first_control_plane", "join", 1),
        ("role_worker", "join", None),
    ]
    titles = [p.role for p in ansible_render.PLAYS]
    assert titles.index("kubernetes_node") < titles.index("kubernetes_cluster")


def test_no_secret_and_no_kubeconfig_in_the_output(compiled: Path) -> None:
    for path in compiled.rglob("*"):
        if path.is_file() and layout.ROLES not in str(path.relative_to(compiled)):
            text = path.read_text(errors="replace")
            assert "certificateKey:" not in text and "bootstrapToken:" not in text, path
            assert not BOOTSTRAP_TOKEN.search(text), path
    assert (compiled / layout.GITIGNORE).read_text() == f"{layout.CREDENTIALS}/\n{layout.UPGRADE_STATE}/\n"
    assert not (compiled / layout.CREDENTIALS).exists()


def test_recompile_keeps_fetched_kubeconfigs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    blueprint = SHIPPED[0]
    assert run_aigrid("compile", str(blueprint), "--out", str(out)).returncode == 0
    fetched = out / layout.site_kubeconfig("lab-edge-01")
    fetched.parent.mkdir()
    fetched.write_text("apiVersion: v1\nkind: Config\n")
    fetched.chmod(0o600)
    # An upgrade's record of the nodes it finished is the operator's too (aigrid upgrade resumes from it).
    progress = out / layout.UPGRADE_PROGRESS
    progress.parent.mkdir()
    progress.write_text('{"plan": "p", "done": ["lab-gpu01"]}\n')
    assert run_aigrid("compile", str(blueprint), "--out", str(out)).returncode == 0
    assert fetched.read_text() == "apiVersion: v1\nkind: Config\n"
    assert fetched.stat().st_mode & 0o777 == 0o600
    assert progress.read_text() == '{"plan": "p", "done": ["lab-gpu01"]}\n'


@pytest.mark.parametrize(
    ("address", "pod", "service"),
    [
        ("192.0.2.10", "192.168.0.0/16", "10.96.0.0/12"),
        ("2001:db8::10", "fd00:10:244::/56", "fd00:10:96::/112"),
    ],
)
def test_default_ranges_follow_the_control_plane_family(
    tmp_path: Path, address: str, pod: str, service: str
) -> None:
    blueprint = tmp_path / "bp.yaml"
    text = (BLUEPRINTS / "examples" / "invalid" / "AG307-no-control-plane.yaml").read_text()
    text = text.replace(
        "      - hostname: edge-01-cp\n        address: 192.0.2.10",
        f"      - hostname: edge-01-cp\n        role: control-plane\n        address: {address}",
    )
    text = text.replace("  # <- AG307", "")
    blueprint.write_text(text)
    out = tmp_path / "out"
    proc = run_aigrid("compile", str(blueprint), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = docs(out / layout.cluster_file("edge-01", "kubeadm-config.yaml"))
    assert config[1]["networking"] == {
        "podSubnet": pod,
        "serviceSubnet": service,
        "dnsDomain": "cluster.local",
    }


def _tolerates(tolerations: list[dict[str, str]], taint: dict[str, str]) -> bool:
    """Kubernetes' matching (core/v1 Toleration.ToleratesTaint): an empty key with Exists
    tolerates every key, an empty effect every effect; Equal needs the value too."""
    for toleration in tolerations:
        effect_ok = toleration.get("effect", "") in ("", taint["effect"])
        if toleration.get("operator", "Equal") == "Exists":
            matches = toleration.get("key", "") in ("", taint["key"])
        else:
            matches = toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get(
                "value", ""
            )
        if matches and effect_ok:
            return True
    return False


@pytest.mark.parametrize("blueprint", sorted((BLUEPRINTS / "examples").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_addon_deployment_has_a_node_it_tolerates(blueprint: Path) -> None:
    """Each Deployment the add-ons run (upstream's tolerations, as the stand-in copies of their
    manifests keep them, plus aigrid's patches) fits some node of every site, given the taints
    aigrid gives the nodes: whereabouts' reconciler, which upstream leaves without
    tolerations, stayed Pending on a site of GPU workers and a tainted control plane."""
    from aigrid.lab.kubernetes_standins import UPSTREAM
    from aigrid.plan import build_plan
    from aigrid.render.cluster import node_taints, toleration_patches
    from aigrid.validate import validate_file

    result = validate_file(blueprint)
    assert result.blueprint is not None
    plan = build_plan(result.blueprint, catalog())
    kubernetes = plan.stack.kubernetes
    for addon in [kubernetes.cni, *kubernetes.addons]:
        patched = {
            p["metadata"]["name"]: p["spec"]["template"]["spec"]["tolerations"]
            for p in toleration_patches(addon)
        }
        for manifest in addon.manifests:
            for doc in yaml.safe_load_all(UPSTREAM[manifest.url.rsplit("/", 1)[1]]):
                if not doc or doc["kind"] != "Deployment":
                    continue
                name = doc["metadata"]["name"]
                tolerations = patched.get(name, doc["spec"]["template"]["spec"].get("tolerations", []))
                for site in plan.sites:
                    fits = [
                        node.hostname
                        for node in site.nodes
                        if all(_tolerates(tolerations, taint) for taint in node_taints(site, node))
                    ]
                    assert fits, f"{name} fits no node of site {site.name}"
