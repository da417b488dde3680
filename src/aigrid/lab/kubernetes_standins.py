"""STAND-IN kubeadm and kubectl, and stand-ins of the upstream add-on manifests, for the lab
and the converge tests only. The lab cannot run a kubelet or an API server, so these check
what the kubernetes_cluster role asks of the real tools and keep a small file of what a
cluster would hold. They behave like the real ones where the role's procedure depends on it:

kubeadm (kubernetes cmd/kubeadm; Kubernetes docs "kubeadm init", "kubeadm join", "kubeadm token"):
- `init --config F`: only the flags kubeadm allows beside --config; refuses a second init
  (preflight FileAvailable on the kube-apiserver manifest); reads v1beta4 documents strictly
  (an unknown field is an error here, a warning in kubeadm); the kubernetesVersion's minor
  must be kubeadm's; the API server's rule that the service range's family is the advertise
  address's; writes admin.conf, kubelet.conf, the CA and the static pod manifests;
- `token create --print-join-command [--ttl D]`: needs the admin kubeconfig; prints
  `kubeadm join ENDPOINT --token T --discovery-token-ca-cert-hash sha256:H`;
- `init phase upload-certs --upload-certs`: prints the certificate key on its last line;
- `upgrade apply vX.Y.Z --yes`: needs the admin kubeconfig; runs the CreateJob health check
  (a Pod that tolerates only the control-plane taint must find a schedulable node: it fails
  when the control plane is cordoned and every other node has a taint such as the GPU
  nodes'; skipped when no node is schedulable); refuses a version above kubeadm's
  own ("Upgrade kubeadm first"), more than one minor above the cluster's, or below it; without
  --yes it asks, and with no answer it does not proceed; moves the cluster's version;
- `upgrade node`: needs kubelet.conf (a joined node); writes the kubelet's configuration for
  kubeadm's version;
- `version -o short`: kubeadm's version;
- `reset --force`: removes the node's kubeconfigs, static pod manifests and certificates and,
  on the control plane, the cluster's state;
- `join --config F`: refuses a second join (preflight FileAvailable on kubelet.conf); needs a
  JoinConfiguration with a bootstrap token of kubeadm's form, a sha256 CA hash and, with
  `controlPlane`, a 64-hex certificate key; writes kubelet.conf.
Every call is logged to /var/log/aigrid-standins/kubeadm.log (JSON lines) with secrets only
as sha256 digests, so tests can match each join to a token the control plane issued.

kubectl (kubernetes/kubectl; kustomize for -k):
- needs --kubeconfig naming a stand-in kubeconfig;
- `apply --server-side -k DIR | -f FILE`: a kind other than the built-in ones needs its CRD
  applied first ("no matches for kind"); kustomize's resources, images (newTag/newName) and
  patches (strategic merge by container name; a patch without a target fails);
- `diff --server-side -k DIR`: exit 0 when the cluster holds the objects as rendered, 1 when
  not (like `kubectl diff`); an object in a namespace the cluster does not have yet fails the
  diff with exit 2 and `Error from server (NotFound): namespaces "NS" not found`, even where
  the same manifests create that namespace (the server-side dry run does not create it:
  kubernetes/kubernetes#114141); `apply` of such an object fails the same way unless the
  namespace is applied with it;
- `wait --for=condition=Established crd/NAME`: only for an applied CRD;
  `wait --for=condition=Ready node/NAME`: a node is NotReady until a Calico Installation
  with a pool inside kubeadm's podSubnet is applied (the operator rejects pools outside it);
- `label node NAME KEY=VALUE... KEY-... [--overwrite]`: sets the labels on the node and
  removes those given as KEY- (a missing one is reported, not an error); without --overwrite a
  key that has another value is refused; prints "labeled", "unlabeled" or "not labeled" as
  kubectl does. The lab runs no kubelet to register a joined node: the first call that labels
  a node (the join's, right after kubeadm join) stands for its registration;
- `get node NAME -o jsonpath=...` (the taints as KEY=VALUE:EFFECT lines) and
  `taint node NAME [--overwrite] KEY[=VALUE]:EFFECT... KEY:EFFECT-...`: as kubectl's, an
  existing key and effect needs --overwrite, a taint to remove must be there, and one command
  may not both set and remove a key and effect. kubeadm init gives the control plane its
  configuration's taints (kubeadm's control-plane taint for an unset list); a node registered
  by its first label has none (the lab's joins run on the node, where the cluster's state is
  not: a real kubelet registers with the join's taints);
- `drain NAME`, `uncordon NAME`: a node that is not registered is NotFound; drain marks it
  unschedulable, uncordon clears that;
- `delete node NAME [--ignore-not-found]`: the node leaves the cluster's node list.
Every call is logged to /var/log/aigrid-standins/kubectl.log.
"""

from __future__ import annotations

import hashlib

COMMON = r"""
import fcntl, hashlib, ipaddress, json, os, re, secrets, sys, time
import yaml

# A directory standing for / when the tests run a stand-in outside a lab host; "" on the hosts.
ROOT = os.environ.get("AIGRID_STANDIN_ROOT", "")
KUBE = ROOT + "/etc/kubernetes"
STATE = ROOT + "/var/lib/aigrid-standins/kubernetes.json"
LOGDIR = ROOT + "/var/log/aigrid-standins"
MARKER = "# STAND-IN kubeconfig (aigrid lab): not a real cluster's\n"

def log(tool, record):
    os.makedirs(LOGDIR, exist_ok=True)
    record = {"time": time.time(), **record}
    with open(f"{LOGDIR}/{tool}.log", "a") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")

def die(message, code=1):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)

def load_state():
    try:
        with open(STATE) as f:
            return json.load(f)
    except FileNotFoundError:
        return None

def save_state(state):
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    with open(STATE + ".new", "w") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(STATE + ".new", STATE)

def serialised():
    # The API server serialises writes: the workers' joins ask the first control plane for
    # their tokens at the same time, and each token must be kept. One stand-in call at a time
    # per host, held until the call exits.
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    lock = open(STATE + ".lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock

def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()

def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)

def docs_of(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

LOCK = serialised()
"""

KUBEADM = (
    "#!/usr/bin/python3\n"
    '"""STAND-IN for kubeadm (aigrid lab and tests): not Kubernetes\' tool. See aigrid.lab.kubernetes_standins."""\n'
    + COMMON
    + r"""
VERSION = "@VERSION@"
API = "kubeadm.k8s.io/v1beta4"
TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
HEX64 = re.compile(r"^[a-f0-9]{64}$")
# Fields of the v1beta4 kinds the stand-in knows (kubeadm/app/apis/kubeadm/v1beta4/types.go).
FIELDS = {
    "InitConfiguration": {"apiVersion", "kind", "bootstrapTokens", "dryRun", "nodeRegistration",
                          "localAPIEndpoint", "certificateKey", "skipPhases", "patches", "timeouts"},
    "ClusterConfiguration": {"apiVersion", "kind", "etcd", "networking", "kubernetesVersion",
                             "controlPlaneEndpoint", "apiServer", "controllerManager", "scheduler", "dns",
                             "proxy", "certificatesDir", "imageRepository", "featureGates", "clusterName",
                             "encryptionAlgorithm", "certificateValidityPeriod", "caCertificateValidityPeriod"},
    "JoinConfiguration": {"apiVersion", "kind", "dryRun", "nodeRegistration", "caCertPath", "discovery",
                          "controlPlane", "skipPhases", "patches", "timeouts"},
}
REGISTRATION = {"name", "criSocket", "taints", "kubeletExtraArgs", "ignorePreflightErrors",
                "imagePullPolicy", "imagePullSerial"}
# Flags kubeadm accepts beside --config (cmd/kubeadm/app/cmd/options isAllowedFlag).
WITH_CONFIG = {"--config", "--skip-token-print", "--skip-certificate-key-print", "--upload-certs",
               "--ignore-preflight-errors", "--dry-run", "--v", "--skip-phases"}

args = sys.argv[1:]
log("kubeadm", {"argv": args})

def flag(name):
    for a in args:
        if a == name:
            return ""
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None

def strict(doc, kind):
    unknown = sorted(set(doc) - FIELDS[kind])
    if unknown:
        die(f"error: strict decoding error: unknown field \"{unknown[0]}\" in {kind}")
    registration = doc.get("nodeRegistration") or {}
    unknown = sorted(set(registration) - REGISTRATION)
    if unknown:
        die(f"error: strict decoding error: unknown field \"nodeRegistration.{unknown[0]}\"")
    extra = registration.get("kubeletExtraArgs", [])
    if not isinstance(extra, list) or any(set(a) != {"name", "value"} for a in extra):
        die("error: v1beta4 kubeletExtraArgs is a list of {name, value}")
    socket = registration.get("criSocket", "")
    if socket and not socket.startswith("unix://"):
        die(f"error: criSocket {socket} is not a unix:// URL")

def config_docs(kinds):
    path = flag("--config")
    if not path:
        die("error: this stand-in needs --config (aigrid passes one)")
    bad = [a.split("=")[0] for a in args if a.startswith("--") and a.split("=")[0] not in WITH_CONFIG]
    if bad:
        die(f"error: can not mix '--config' with arguments {bad}")
    docs = {}
    for doc in docs_of(path):
        kind = doc.get("kind")
        if doc.get("apiVersion") == API and kind in FIELDS:
            strict(doc, kind)
            docs[kind] = doc
        elif doc.get("apiVersion", "").startswith("kubeadm.k8s.io/"):
            die(f"error: {doc.get('apiVersion')} {kind}: this stand-in reads kubeadm.k8s.io/v1beta4 only")
    for kind in kinds:
        if kind not in docs:
            die(f"error: {path} has no {API} {kind}")
    return path, docs

def minor(version):
    return ".".join(version.lstrip("v").split(".")[:2])

def init():
    if os.path.exists(f"{KUBE}/manifests/kube-apiserver.yaml"):
        die("[preflight] Some fatal errors occurred:\n"
            "\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: "
            "/etc/kubernetes/manifests/kube-apiserver.yaml already exists")
    path, docs = config_docs(["InitConfiguration", "ClusterConfiguration"])
    init_doc, cluster = docs["InitConfiguration"], docs["ClusterConfiguration"]
    version = cluster.get("kubernetesVersion", "")
    if minor(version) != minor(VERSION):
        die(f"error: kubernetesVersion {version!r}: this kubeadm ({VERSION}) forms {minor(VERSION)} clusters")
    endpoint = init_doc.get("localAPIEndpoint", {})
    advertise = ipaddress.ip_address(endpoint["advertiseAddress"])
    networking = cluster.get("networking", {})
    service = ipaddress.ip_network(networking.get("serviceSubnet", "10.96.0.0/12"))
    pod = ipaddress.ip_network(networking["podSubnet"])
    if service.version != advertise.version:
        die("[wait-control-plane] kube-apiserver exited: the service IP range and the advertise "
            "address must be of the same IP family")
    port = endpoint.get("bindPort", 6443)
    host = f"[{advertise}]" if advertise.version == 6 else str(advertise)
    api = cluster.get("controlPlaneEndpoint") or f"{host}:{port}"
    name = init_doc["nodeRegistration"]["name"]
    ca = "-----BEGIN CERTIFICATE-----\nSTAND-IN " + secrets.token_hex(32) + "\n-----END CERTIFICATE-----\n"
    write(f"{KUBE}/pki/ca.crt", ca, 0o644)
    kubeconfig = MARKER + yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [
        {"name": cluster.get("clusterName", "kubernetes"), "cluster": {"server": f"https://{api}"}}]})
    for conf in ("admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"):
        write(f"{KUBE}/{conf}", kubeconfig)
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        write(f"{KUBE}/manifests/{component}.yaml", f"# STAND-IN static pod {component}\n")
    token = secrets.token_hex(3) + "." + secrets.token_hex(8)
    # kubeadm taints the control plane it forms: its own taint for an unset list (v1beta4).
    registration = init_doc["nodeRegistration"]
    taints = registration.get("taints", [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    state = {"endpoint": api, "version": version, "pod_subnet": str(pod), "service_subnet": str(service),
             "ca_hash": "sha256:" + digest(ca), "tokens": [digest(token)], "certificate_keys": [],
             "nodes": [name], "objects": {}, "config": docs, "taints": {name: taints or []}}
    save_state(state)
    log("kubeadm", {"init": {"config_sha256": digest(open(path).read()), "node": name}})
    print("Your Kubernetes control-plane has initialized successfully! (STAND-IN)")
    if flag("--skip-token-print") is None:
        print(f"kubeadm join {api} --token {token} --discovery-token-ca-cert-hash {state['ca_hash']}")

def formed():
    state = load_state()
    if state is None or not os.path.exists(f"{KUBE}/admin.conf"):
        die("failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory")
    return state

def token_create():
    state = formed()
    token = secrets.token_hex(3) + "." + secrets.token_hex(8)
    state["tokens"].append(digest(token))
    save_state(state)
    if flag("--print-join-command") is not None:
        print(f"kubeadm join {state['endpoint']} --token {token} --discovery-token-ca-cert-hash {state['ca_hash']} ")
    else:
        print(token)

def upload_certs():
    state = formed()
    key = secrets.token_hex(32)
    state["certificate_keys"].append(digest(key))
    save_state(state)
    print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    print("[upload-certs] Using certificate key:")
    print(key)

def join():
    if os.path.exists(f"{KUBE}/kubelet.conf"):
        die("[preflight] Some fatal errors occurred:\n"
            "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists")
    path, docs = config_docs(["JoinConfiguration"])
    doc = docs["JoinConfiguration"]
    token = doc.get("discovery", {}).get("bootstrapToken", {})
    if not TOKEN.match(str(token.get("token", ""))):
        die("error: discovery.bootstrapToken.token is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})")
    hashes = token.get("caCertHashes") or []
    if not hashes or not all(re.match(r"^sha256:[a-f0-9]{64}$", h) for h in hashes):
        die("error: discovery.bootstrapToken.caCertHashes must pin the CA (sha256:<hex>)")
    plane = doc.get("controlPlane")
    if plane is not None and not HEX64.match(str(plane.get("certificateKey", ""))):
        die("error: controlPlane.certificateKey must be the 64-hex key upload-certs printed")
    server = token["apiServerEndpoint"]
    write(f"{KUBE}/kubelet.conf", MARKER + f"# server: https://{server}\n")
    write(f"{KUBE}/pki/ca.crt", "# STAND-IN: the CA is fetched from cluster-info at join\n", 0o644)
    log("kubeadm", {"join": {
        "node": doc["nodeRegistration"]["name"], "endpoint": server, "ca_hashes": hashes,
        "token_sha256": digest(token["token"]), "control_plane": plane is not None,
        "certificate_key_sha256": digest(plane["certificateKey"]) if plane else None,
        "mode": oct(os.stat(path).st_mode & 0o777),
    }})
    print("This node has joined the cluster (STAND-IN)")

def reset():
    # kubeadm reset: the node's kubeconfigs, static pods and certificates go; on the control
    # plane, its etcd (here: the cluster's state). /etc/cni/net.d is left, as kubeadm does.
    if "--force" not in args and "-f" not in args:
        die("STAND-IN kubeadm: reset asks for confirmation; aigrid passes --force")
    for conf in ("admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"):
        if os.path.exists(f"{KUBE}/{conf}"):
            os.remove(f"{KUBE}/{conf}")
    for folder in ("manifests", "pki"):
        for name in os.listdir(f"{KUBE}/{folder}") if os.path.isdir(f"{KUBE}/{folder}") else []:
            os.remove(f"{KUBE}/{folder}/{name}")
    if os.path.exists(STATE):
        os.remove(STATE)
    log("kubeadm", {"reset": {}})
    print("[reset] (STAND-IN) the node's Kubernetes configuration is removed")

def release(version):
    return tuple(int(part) for part in version.lstrip("v").split("-")[0].split(".")[:3])

def create_job_check(state):
    # kubeadm upgrade's CreateJob health check (cmd/kubeadm/app/phases/upgrade/health.go): a
    # Job whose Pod tolerates only the control-plane NoSchedule taint must complete within
    # 15 s on a node that is not unschedulable; with no such node at all the check is skipped
    # (kubernetes/kubeadm#3050). A cordoned control plane beside tainted GPU workers fails it.
    cordoned = set(state.get("unschedulable", []))
    schedulable = [node for node in state.get("nodes", []) if node not in cordoned]
    if not schedulable:
        print('W [upgrade/health] The preflight check "CreateJob" was skipped because there are no '
              "schedulable Nodes in the cluster. (STAND-IN)", file=sys.stderr)
        return
    def tolerated(taint):
        return taint.get("effect") == "PreferNoSchedule" or (
            taint.get("key") == "node-role.kubernetes.io/control-plane" and taint.get("effect") == "NoSchedule")
    if not any(all(tolerated(t) for t in state.get("taints", {}).get(node, [])) for node in schedulable):
        die('[upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n\t[ERROR CreateJob]: Job '
            '"upgrade-health-check-stand" in the namespace "kube-system" did not complete in 15s: no '
            "condition of type Complete (STAND-IN: no schedulable node without an untolerated taint: "
            + ", ".join(schedulable) + ")")

def upgrade_apply(target):
    # kubeadm upgrade apply (cmd/kubeadm/app/phases/upgrade/policy.go EnforceVersionPolicies):
    # never past kubeadm's own version, one minor at a time, no downgrade; asks first.
    state = formed()
    create_job_check(state)
    if "--yes" not in args and "-y" not in args and "--force" not in args:
        die("[upgrade/confirm] Are you sure you want to proceed? [y/N]: "
            "won't proceed; the user didn't answer (Y|y) in order to continue")
    if not re.match(r"^v?\d+\.\d+\.\d+$", target):
        die(f"[upgrade/version] FATAL: unable to parse version {target!r}")
    cluster = state["version"]
    problems = []
    if release(target) > release(VERSION):
        problems.append(f'Specified version to upgrade to "{target}" is higher than the kubeadm version '
                        f'"{VERSION}". Upgrade kubeadm first using the tool you used to install kubeadm')
    if release(target)[:2] > (release(cluster)[0], release(cluster)[1] + 1):
        problems.append(f'Specified version to upgrade to "{target}" is too high; kubeadm can upgrade only '
                        '1 minor version at a time')
    if release(target) < release(cluster):
        problems.append(f'Specified version to upgrade to "{target}" is lower than the cluster version '
                        f'"{cluster}". Downgrades are not supported yet')
    if problems:
        die("[upgrade/version] FATAL: the version argument is invalid due to these errors:\n\n\t- "
            + "\n\t- ".join(problems))
    state["version"] = "v" + target.lstrip("v")
    state["config"]["ClusterConfiguration"]["kubernetesVersion"] = state["version"]
    save_state(state)
    for component in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        write(f"{KUBE}/manifests/{component}.yaml", f"# STAND-IN static pod {component} {state['version']}\n")
    log("kubeadm", {"upgrade_apply": {"from": cluster, "to": state["version"], "kubeadm": VERSION}})
    print(f'[upgrade/successful] SUCCESS! Your cluster was upgraded to "{state["version"]}". Enjoy! (STAND-IN)')

def upgrade_node():
    # kubeadm upgrade node: a joined node only; its kubelet configuration comes from the
    # cluster, written for the kubelet that kubeadm's version goes with.
    if not os.path.exists(f"{KUBE}/kubelet.conf"):
        die("couldn't create a Kubernetes client from file \"/etc/kubernetes/kubelet.conf\": "
            "open /etc/kubernetes/kubelet.conf: no such file or directory")
    write(ROOT + "/var/lib/kubelet/config.yaml", f"# STAND-IN kubelet configuration, kubeadm {VERSION}\n", 0o644)
    log("kubeadm", {"upgrade_node": {"kubeadm": VERSION}})
    print("[upgrade] The configuration for this node was successfully upgraded! (STAND-IN)")

words = [a for a in args if not a.startswith("-")]
if words[:2] == ["upgrade", "apply"] and len(words) == 3:
    upgrade_apply(words[2])
elif words[:2] == ["upgrade", "node"]:
    upgrade_node()
elif words[:1] == ["version"]:
    print(VERSION)
elif words[:1] == ["reset"]:
    reset()
elif words[:1] == ["init"] and words[1:3] == ["phase", "upload-certs"]:
    upload_certs()
elif words[:1] == ["init"]:
    init()
elif words[:2] == ["token", "create"]:
    token_create()
elif words[:1] == ["join"]:
    join()
else:
    die(f"STAND-IN kubeadm: {' '.join(args)} is not something the aigrid roles run")
"""
)

KUBECTL = (
    "#!/usr/bin/python3\n"
    '"""STAND-IN for kubectl (aigrid lab and tests): not Kubernetes\' tool. See aigrid.lab.kubernetes_standins."""\n'
    + COMMON
    + r"""
import copy
BUILTIN = {"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "apiextensions.k8s.io/v1", "policy/v1",
           "scheduling.k8s.io/v1", "networking.k8s.io/v1", "admissionregistration.k8s.io/v1",
           "batch/v1", "coordination.k8s.io/v1", "storage.k8s.io/v1"}

args = sys.argv[1:]
log("kubectl", {"argv": args})
config = next((a.split("=", 1)[1] for a in args if a.startswith("--kubeconfig=")), None)
words = [a for a in args if not a.startswith("-")]
if config is None or not os.path.exists(config) or MARKER not in open(config).read():
    die("error: no kubeconfig of a cluster (the stand-in needs --kubeconfig naming admin.conf)")
state = load_state()
if state is None:
    die("The connection to the server was refused - did you specify the right host or port?")

def key(obj):
    meta = obj.get("metadata", {})
    return f"{obj['apiVersion']}/{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"

def merge(base, patch):
    for k, v in patch.items():
        if k == "containers" and isinstance(v, list):
            by_name = {c["name"]: c for c in base.get(k, [])}
            for c in v:
                if c["name"] not in by_name:
                    die(f"error: patch names container {c['name']}, which is not there")
                merge(by_name[c["name"]], c)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = copy.deepcopy(v)

def kustomize(directory):
    spec = docs_of(os.path.join(directory, "kustomization.yaml"))[0]
    objects = []
    for resource in spec.get("resources", []):
        objects += docs_of(os.path.join(directory, resource))
    for image in spec.get("images", []):
        for obj in objects:
            pod = obj.get("spec", {}).get("template", {}).get("spec", {})
            for c in pod.get("containers", []) + pod.get("initContainers", []):
                name = c["image"].rsplit(":", 1)[0] if ":" in c["image"].rsplit("/", 1)[-1] else c["image"]
                if name == image["name"]:
                    c["image"] = image.get("newName", name) + ":" + image.get("newTag", "latest")
    for patch in spec.get("patches", []):
        bodies = docs_of(os.path.join(directory, patch["path"])) if "path" in patch else [yaml.safe_load(patch["patch"])]
        for body in bodies:
            target = [o for o in objects if o["kind"] == body["kind"] and o["metadata"]["name"] == body["metadata"]["name"]]
            if len(target) != 1:
                die(f"error: no matches for Id {body['kind']}.{body['metadata']['name']}; failed to find unique target for patch")
            merge(target[0], body)
    return objects

def rendered():
    if "-k" in args:
        return kustomize(args[args.index("-k") + 1])
    if "-f" in args:
        return docs_of(args[args.index("-f") + 1])
    die("error: must specify one of -f and -k")

def known(obj, pending):
    if obj["apiVersion"] in BUILTIN:
        return True
    group = obj["apiVersion"].split("/")[0]
    for crd in list(state["objects"].values()) + pending:
        if crd["kind"] == "CustomResourceDefinition" and crd["spec"]["group"] == group \
                and crd["spec"]["names"]["kind"] == obj["kind"]:
            return True
    return False

def namespaces(objects):
    # The namespaces the cluster has, with those `objects` create; Kubernetes' own first.
    have = {"default", "kube-system", "kube-public", "kube-node-lease"}
    return have | {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}

def missing_namespace(objects, created):
    wanted = sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")})
    return next((ns for ns in wanted if ns not in namespaces(created)), None)

if words[:1] == ["apply"]:
    if "--server-side" not in args:
        die("STAND-IN kubectl: aigrid applies server-side")
    objects = rendered()
    missing = missing_namespace(objects, list(state["objects"].values()) + objects)
    if missing:
        die(f'Error from server (NotFound): namespaces "{missing}" not found')
    for obj in objects:
        if not known(obj, [o for o in objects if o["kind"] == "CustomResourceDefinition"]):
            die(f"error: resource mapping not found for name: \"{obj['metadata']['name']}\": no matches for kind "
                f"\"{obj['kind']}\" in version \"{obj['apiVersion']}\"\nensure CRDs are installed first")
    for obj in objects:
        state["objects"][key(obj)] = obj
        print(f"{obj['kind'].lower()}/{obj['metadata']['name']} serverside-applied")
    save_state(state)
elif words[:1] == ["diff"]:
    objects = rendered()
    missing = missing_namespace(objects, list(state["objects"].values()))
    if missing:  # kubectl diff: above 1 is an error
        sys.stderr.write(f'Error from server (NotFound): namespaces "{missing}" not found\n')
        sys.exit(2)
    differ = [key(o) for o in objects if state["objects"].get(key(o)) != o]
    for k in differ:
        print(f"diff -u -N /tmp/LIVE/{k} /tmp/MERGED/{k}")
    sys.exit(1 if differ else 0)
elif words[:2] == ["label", "node"]:
    name = words[2]
    removed = [w[:-1] for w in words[3:] if w.endswith("-") and "=" not in w]
    pairs = [w.split("=", 1) for w in words[3:] if not (w.endswith("-") and "=" not in w)]
    if any(len(p) != 2 for p in pairs):
        die("error: STAND-IN kubectl: aigrid sets labels as KEY=VALUE and removes them as KEY-")
    if name not in state["nodes"]:
        state["nodes"].append(name)  # stands for the kubelet registering the joined node
    labels = state.setdefault("labels", {}).setdefault(name, {})
    for k, v in pairs:
        if k in labels and labels[k] != v and "--overwrite" not in args:
            die(f"error: '{k}' already has a value ({labels[k]}), and --overwrite is false")
    for k in removed:
        if k not in labels:
            sys.stderr.write(f'label "{k}" not found.\n')
    changed = any(labels.get(k) != v for k, v in pairs) or any(k in labels for k in removed)
    labels.update(dict(pairs))
    for k in removed:
        labels.pop(k, None)
    save_state(state)
    verb = "unlabeled" if removed and not pairs else "labeled"
    print(f"node/{name} {verb if changed else 'not labeled'}")
elif words[:2] == ["get", "node"]:
    name = words[2]
    if name not in state["nodes"]:
        die(f'Error from server (NotFound): nodes "{name}" not found')
    output = args[args.index("-o") + 1] if "-o" in args else ""
    if not output.startswith("jsonpath={range .spec.taints[*]}{.key}={.value}:{.effect}"):
        die("STAND-IN kubectl: get node answers only the taints' jsonpath aigrid asks")
    for t in state.get("taints", {}).get(name, []):
        print(f"{t['key']}={t.get('value', '')}:{t['effect']}")
elif words[:2] == ["taint", "node"]:
    name = words[2]
    if name not in state["nodes"]:
        die(f'Error from server (NotFound): nodes "{name}" not found')
    taints = state.setdefault("taints", {}).setdefault(name, [])
    items = [(w.endswith("-"), w[:-1] if w.endswith("-") else w) for w in words[3:]]
    touched = [spec.split("=")[0].split(":")[0] + ":" + spec.rpartition(":")[2] for _, spec in items]
    if len(set(touched)) != len(touched):
        die("error: can not both modify and remove the following taint(s) in the same command")
    for remove, spec in items:
        keyval, colon, effect = spec.rpartition(":")
        key, _, value = (keyval if colon else spec).partition("=")
        same = [t for t in taints if t["key"] == key and (t["effect"] == effect or not colon)]
        if remove:
            if not same:
                die(f'error: taint "{spec}" not found')
            taints[:] = [t for t in taints if t not in same]
        else:
            if same and "--overwrite" not in args:
                die(f"error: node {name} already has {key} taint(s) with same effect(s) and --overwrite is false")
            taints[:] = [t for t in taints if t not in same] + [{"key": key, **({"value": value} if value else {}), "effect": effect}]
    save_state(state)
    print(f"node/{name} {'untainted' if all(r for r, _ in items) else 'tainted'}")
elif words[:1] in (["drain"], ["uncordon"]):
    name = words[1]
    if name not in state["nodes"]:
        die(f'Error from server (NotFound): nodes "{name}" not found')
    cordoned = set(state.get("unschedulable", []))
    if words[0] == "drain":
        cordoned.add(name)
        print(f"node/{name} cordoned\nnode/{name} drained")
    else:
        print(f"node/{name} {'uncordoned' if name in cordoned else 'already uncordoned'}")
        cordoned.discard(name)
    state["unschedulable"] = sorted(cordoned)
    save_state(state)
elif words[:2] == ["delete", "node"]:
    name = words[2]
    if name in state["nodes"]:
        state["nodes"].remove(name)
        save_state(state)
        print(f'node "{name}" deleted')
    elif "--ignore-not-found" not in args:
        die(f'Error from server (NotFound): nodes "{name}" not found')
elif words[:1] == ["wait"]:
    target = words[1]
    kind, _, name = target.partition("/")
    if kind == "crd":
        if not any(o["kind"] == "CustomResourceDefinition" and o["metadata"]["name"] == name
                   for o in state["objects"].values()):
            die(f"error: customresourcedefinitions.apiextensions.k8s.io \"{name}\" not found")
        print(f"customresourcedefinition.apiextensions.k8s.io/{name} condition met")
    elif kind == "node":
        if name not in state["nodes"]:
            die(f"error: nodes \"{name}\" not found")
        # The operator creates no pool outside kubeadm's podSubnet (TigeraStatus Degraded), and
        # without a pool the pod network never comes up.
        pod = ipaddress.ip_network(state["pod_subnet"])
        pools = [ipaddress.ip_network(p["cidr"]) for o in state["objects"].values() if o["kind"] == "Installation"
                 for p in o["spec"].get("calicoNetwork", {}).get("ipPools", [])]
        if not any(p.version == pod.version and p.subnet_of(pod) for p in pools):
            die(f"error: timed out waiting for the condition on nodes/{name}")
        print(f"node/{name} condition met")
    else:
        die(f"STAND-IN kubectl: cannot wait for {target}")
else:
    die(f"STAND-IN kubectl: {' '.join(args)} is not something the aigrid roles run")
"""
)


def kubeadm(version: str) -> str:
    return KUBEADM.replace("@VERSION@", "v" + version.split("-", 1)[0])


# STAND-INs of the upstream manifests the catalog names, with the objects, names and images
# the procedure depends on (the CRDs the operator's Installation needs; Multus' DaemonSet and
# container the memory patch targets; the moving image tags the kustomizations pin). Served
# to the lab's hosts from the kubectl stand-in package instead of the Internet.
UPSTREAM = {
    "operator-crds.yaml": """# STAND-IN of projectcalico/calico manifests/operator-crds.yaml (aigrid lab)
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: installations.operator.tigera.io}
spec: {group: operator.tigera.io, names: {kind: Installation, plural: installations}, scope: Cluster}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: apiservers.operator.tigera.io}
spec: {group: operator.tigera.io, names: {kind: APIServer, plural: apiservers}, scope: Cluster}
""",
    "tigera-operator.yaml": """# STAND-IN of projectcalico/calico manifests/tigera-operator.yaml (aigrid lab)
apiVersion: v1
kind: Namespace
metadata: {name: tigera-operator}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tigera-operator, namespace: tigera-operator}
spec:
  template:
    spec:
      hostNetwork: true
      tolerations: [{effect: NoExecute, operator: Exists}, {effect: NoSchedule, operator: Exists}]
      containers:
        - {name: tigera-operator, image: quay.io/tigera/operator:v1.42.3, args: [-manage-crds=true]}
""",
    "multus-daemonset-thick.yml": """# STAND-IN of k8snetworkplumbingwg/multus-cni deployments/multus-daemonset-thick.yml (aigrid lab)
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: network-attachment-definitions.k8s.cni.cncf.io}
spec: {group: k8s.cni.cncf.io, names: {kind: NetworkAttachmentDefinition, plural: network-attachment-definitions}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-multus-ds, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - name: kube-multus
          image: ghcr.io/k8snetworkplumbingwg/multus-cni:snapshot-thick
          resources:
            requests: {cpu: 100m, memory: 50Mi}
            limits: {cpu: 100m, memory: 50Mi}
""",
    "whereabouts.cni.cncf.io_ippools.yaml": """# STAND-IN of whereabouts doc/crds/whereabouts.cni.cncf.io_ippools.yaml (aigrid lab)
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ippools.whereabouts.cni.cncf.io}
spec: {group: whereabouts.cni.cncf.io, names: {kind: IPPool, plural: ippools}}
""",
    "whereabouts.cni.cncf.io_overlappingrangeipreservations.yaml": """# STAND-IN of whereabouts doc/crds/whereabouts.cni.cncf.io_overlappingrangeipreservations.yaml (aigrid lab)
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: overlappingrangeipreservations.whereabouts.cni.cncf.io}
spec: {group: whereabouts.cni.cncf.io, names: {kind: OverlappingRangeIPReservation, plural: overlappingrangeipreservations}}
""",
    "whereabouts.cni.cncf.io_nodeslicepools.yaml": """# STAND-IN of whereabouts doc/crds/whereabouts.cni.cncf.io_nodeslicepools.yaml (aigrid lab)
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: nodeslicepools.whereabouts.cni.cncf.io}
spec: {group: whereabouts.cni.cncf.io, names: {kind: NodeSlicePool, plural: nodeslicepools}}
""",
    "reconciler-deployment.yaml": """# STAND-IN of whereabouts doc/crds/reconciler-deployment.yaml (aigrid lab)
apiVersion: apps/v1
kind: Deployment
metadata: {name: whereabouts-reconciler, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - {name: whereabouts-reconciler, image: ghcr.io/k8snetworkplumbingwg/whereabouts:latest}
""",
    "daemonset-install.yaml": """# STAND-IN of whereabouts doc/crds/daemonset-install.yaml (aigrid lab)
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: whereabouts, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - {name: whereabouts, image: ghcr.io/k8snetworkplumbingwg/whereabouts:latest}
""",
}
UPSTREAM_DIR = "usr/share/aigrid-standins/upstream"


def manifest_sources(urls: list[str]) -> dict[str, dict[str, str]]:
    """kubernetes_cluster_manifest_sources for a lab host: each upstream URL served by its
    stand-in, with that stand-in's sha256 (so the role's checksum check runs)."""
    sources = {}
    for url in urls:
        name = url.rsplit("/", 1)[1]
        sources[url] = {
            "url": f"file:///{UPSTREAM_DIR}/{name}",
            "sha256": hashlib.sha256(UPSTREAM[name].encode()).hexdigest(),
        }
    return sources
