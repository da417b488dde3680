"""The kubeadm v1beta4 and kubelet schemas in schema/kubeadm/ (through tests/kubeadm_schema.py), and the
Tigera operator CRD schemas in schema/crds/: valid documents pass, v1beta3 habits and typos fail."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import ROOT
from kubeadm_schema import SCHEMA_DIR, SCHEMAS, validate_kubeadm_documents

CA_HASH = "sha256:" + "0123456789abcdef" * 4
CERTIFICATE_KEY = "f" * 64
TOKEN = "abcdef.0123456789abcdef"

INIT_CONFIG = f"""
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: {TOKEN}
    ttl: 2h0m0s
    usages: [signing, authentication]
    groups: [system:bootstrappers:kubeadm:default-node-token]
certificateKey: {CERTIFICATE_KEY}
localAPIEndpoint:
  advertiseAddress: "2001:db8::10"
  bindPort: 6443
nodeRegistration:
  name: edge-cp-0
  criSocket: unix:///run/containerd/containerd.sock
  taints: []
  imagePullPolicy: IfNotPresent
  kubeletExtraArgs:
    - name: node-ip
      value: "2001:db8::10"
skipPhases: [addon/kube-proxy]
timeouts:
  controlPlaneComponentHealthCheck: 4m0s
  kubeletHealthCheck: 4m0s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.34.2
clusterName: edge
controlPlaneEndpoint: "[2001:db8::10]:6443"
networking:
  podSubnet: fd00:10:244::/56
  serviceSubnet: fd00:10:96::/112
  dnsDomain: cluster.local
etcd:
  local:
    dataDir: /var/lib/etcd
    extraArgs:
      - name: listen-metrics-urls
        value: http://[::1]:2381
apiServer:
  certSANs: ["2001:db8::10", edge-cp-0]
  extraArgs:
    - name: authorization-mode
      value: Node,RBAC
    - name: enable-admission-plugins
      value: NodeRestriction
  extraVolumes:
    - name: audit
      hostPath: /var/log/kubernetes
      mountPath: /var/log/kubernetes
      pathType: DirectoryOrCreate
  extraEnvs:
    - name: GODEBUG
      value: x509sha1=0
controllerManager:
  extraArgs:
    - name: node-cidr-mask-size-ipv6
      value: "64"
scheduler: {{}}
dns: {{disabled: false}}
proxy: {{disabled: true}}
encryptionAlgorithm: ECDSA-P384
certificateValidityPeriod: 8760h0m0s
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
serverTLSBootstrap: true
failSwapOn: true
rotateCertificates: true
clusterDNS: ["fd00:10:96::a"]
clusterDomain: cluster.local
maxPods: 110
evictionHard: {{memory.available: 200Mi}}
shutdownGracePeriod: 30s
authentication:
  anonymous: {{enabled: false}}
"""

JOIN_CONFIG = f"""
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
nodeRegistration:
  name: edge-cp-1
  criSocket: unix:///run/containerd/containerd.sock
discovery:
  bootstrapToken:
    apiServerEndpoint: "[2001:db8::10]:6443"
    token: {TOKEN}
    caCertHashes: [{CA_HASH}]
controlPlane:
  certificateKey: {CERTIFICATE_KEY}
  localAPIEndpoint:
    advertiseAddress: "2001:db8::11"
"""


def documents(text: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(text))


def edited(text: str, kind: str, edit: Any) -> list[dict[str, Any]]:
    docs = documents(text)
    for doc in docs:
        if doc["kind"] == kind:
            edit(doc)
    return docs


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert sorted(path.name for path in SCHEMA_DIR.glob("*.json")) == sorted(SCHEMAS.values())
    for name in SCHEMAS.values():
        schema = json.loads((SCHEMA_DIR / name).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_valid_init_cluster_and_kubelet_configuration_passes() -> None:
    assert validate_kubeadm_documents(documents(INIT_CONFIG)) == []


def test_join_with_bootstrap_token_discovery_and_certificate_key_passes() -> None:
    assert validate_kubeadm_documents(documents(JOIN_CONFIG)) == []


def test_v1beta3_style_extra_args_map_fails() -> None:
    docs = edited(
        INIT_CONFIG,
        "ClusterConfiguration",
        lambda d: d["apiServer"].update(extraArgs={"authorization-mode": "Node,RBAC"}),
    )
    errors = validate_kubeadm_documents(docs)
    assert len(errors) == 1
    assert "document 1 (ClusterConfiguration) at apiServer/extraArgs" in errors[0]
    assert "is not of type 'array'" in errors[0]


def test_v1beta3_kubelet_extra_args_map_fails() -> None:
    docs = edited(
        INIT_CONFIG,
        "InitConfiguration",
        lambda d: d["nodeRegistration"].update(kubeletExtraArgs={"node-ip": "2001:db8::10"}),
    )
    assert any("nodeRegistration/kubeletExtraArgs" in e for e in validate_kubeadm_documents(docs))


@pytest.mark.parametrize(
    ("kind", "edit", "where"),
    [
        ("ClusterConfiguration", lambda d: d["networking"].update(podSubnett="10.0.0.0/16"), "networking"),
        ("InitConfiguration", lambda d: d.update(nodeRegistraton=d.pop("nodeRegistration")), "(top level)"),
        # v1beta3's apiServer.timeoutForControlPlane is gone from v1beta4 (timeouts.* replaced it).
        ("ClusterConfiguration", lambda d: d["apiServer"].update(timeoutForControlPlane="4m0s"), "apiServer"),
        ("InitConfiguration", lambda d: d["timeouts"].update(kubeletHealthcheck="4m0s"), "timeouts"),
    ],
)
def test_misspelt_or_removed_field_fails(kind: str, edit: Any, where: str) -> None:
    errors = validate_kubeadm_documents(edited(INIT_CONFIG, kind, edit))
    assert len(errors) == 1, errors
    assert f"({kind}) at {where}: Additional properties are not allowed" in errors[0]


@pytest.mark.parametrize(
    ("kind", "edit"),
    [
        ("KubeletConfiguration", lambda d: d.update(cgroupDriver="systemD")),
        ("KubeletConfiguration", lambda d: d.update(failSwapOn="false")),
        ("ClusterConfiguration", lambda d: d.update(encryptionAlgorithm="ECDSA")),
        ("ClusterConfiguration", lambda d: d["etcd"].update(external={"endpoints": ["https://e:2379"]})),
        ("InitConfiguration", lambda d: d.update(certificateKey="abc")),
        ("InitConfiguration", lambda d: d["bootstrapTokens"][0].update(token="ABCDEF.0123456789abcdef")),
        ("InitConfiguration", lambda d: d["timeouts"].update(kubeletHealthCheck=240)),
        ("InitConfiguration", lambda d: d["nodeRegistration"]["kubeletExtraArgs"][0].pop("name")),
        ("InitConfiguration", lambda d: d.update(apiVersion="kubeadm.k8s.io/v1beta3")),
        ("ClusterConfiguration", lambda d: d.update(certificatesDir="pki")),
        ("ClusterConfiguration", lambda d: d["etcd"]["local"].update(dataDir="var/lib/etcd")),
    ],
)
def test_wrong_value_fails(kind: str, edit: Any) -> None:
    assert validate_kubeadm_documents(edited(INIT_CONFIG, kind, edit))


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["discovery"].update(file={"kubeConfigPath": "/etc/kubernetes/discovery.conf"}),
        lambda d: d["discovery"].pop("bootstrapToken"),
        lambda d: d["discovery"]["bootstrapToken"].pop("caCertHashes"),
        lambda d: d["discovery"]["bootstrapToken"].pop("apiServerEndpoint"),
        lambda d: d["controlPlane"].update(certificateKey="f" * 63),
        lambda d: d.pop("discovery"),
        lambda d: d.update(caCertPath="/etc/kubernetes/pki/ca.pem"),
    ],
)
def test_invalid_join_configuration_fails(edit: Any) -> None:
    assert validate_kubeadm_documents(edited(JOIN_CONFIG, "JoinConfiguration", edit))


def test_unsafe_skip_ca_verification_replaces_ca_cert_hashes() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["discovery"]["bootstrapToken"].pop("caCertHashes")
        doc["discovery"]["bootstrapToken"]["unsafeSkipCAVerification"] = True

    assert validate_kubeadm_documents(edited(JOIN_CONFIG, "JoinConfiguration", edit)) == []


def test_kubelet_schema_allows_fields_it_does_not_list() -> None:
    docs = edited(
        INIT_CONFIG, "KubeletConfiguration", lambda d: d.update(imagePullCredentialsVerificationPolicy="x")
    )
    assert validate_kubeadm_documents(docs) == []


def test_unknown_kind_and_non_mapping_are_reported() -> None:
    errors = validate_kubeadm_documents(
        [{"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration"}, "x"]  # type: ignore[list-item]
    )
    assert [e.split(":")[0] for e in errors] == ["document 0", "document 1"]


# The Tigera operator CRD schemas in schema/crds/, loaded as tests/test_manifests.py loads them.
INSTALLATION = {
    "apiVersion": "operator.tigera.io/v1",
    "kind": "Installation",
    "metadata": {"name": "default"},
    "spec": {
        "cni": {"type": "Calico", "ipam": {"type": "Calico"}},
        "calicoNetwork": {
            "bgp": "Enabled",
            "linuxDataplane": "Iptables",
            "ipPools": [
                {
                    "name": "default-ipv6-ippool",
                    "cidr": "fd00:10:244::/56",
                    "encapsulation": "None",
                    "natOutgoing": "Disabled",
                    "blockSize": 122,
                    "nodeSelector": "all()",
                }
            ],
            "nodeAddressAutodetectionV6": {"interface": "eth0"},
        },
    },
}


@cache
def crd_validator(name: str) -> Any:
    schema = json.loads((ROOT / "schema" / "crds" / name).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def test_tigera_installation_and_apiserver_validate() -> None:
    crd_validator("installation-operator.tigera.io-v1.json").validate(INSTALLATION)
    crd_validator("apiserver-operator.tigera.io-v1.json").validate(
        {
            "apiVersion": "operator.tigera.io/v1",
            "kind": "APIServer",
            "metadata": {"name": "default"},
            "spec": {},
        }
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda pool, net: pool.update(natOutGoing="Enabled"),
        lambda pool, net: pool.update(encapsulation="vxlan"),
        lambda pool, net: pool.update(blockSize="122"),
        lambda pool, net: pool.pop("cidr"),
        lambda pool, net: net["nodeAddressAutodetectionV6"].update(iface="eth0"),
        lambda pool, net: net.update(multiInterfaceMode="multus"),
    ],
)
def test_invalid_tigera_installation_fails(edit: Any) -> None:
    document = copy.deepcopy(INSTALLATION)
    network = document["spec"]["calicoNetwork"]
    edit(network["ipPools"][0], network)
    with pytest.raises(jsonschema.ValidationError):
        crd_validator("installation-operator.tigera.io-v1.json").validate(document)
