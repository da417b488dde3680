"""Pulumi stacks under Pulumi's own mocks (no Pulumi engine runs in CI), and the policies.

Every shipped site is built as an EdgeSite; the test checks the resources and their inputs,
that each Kubernetes resource uses the site's explicit provider, that the inputs are the
manifests' objects (one builder), and runs every policy against every mocked resource.
"""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
)

from aigrid import layout, stack_keys
from aigrid.catalog import catalog
from aigrid.plan import Plan, build_plan
from aigrid.policies import POLICIES
from aigrid.pulumi_site import EdgeSite, SiteError, resource_name
from aigrid.render.k8s_objects import K8sObject, site_objects
from aigrid.render.pulumi import site_resources
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, ROOT, run_aigrid

EXAMPLES = [
    BLUEPRINTS / "examples" / "multi-carrier-grid.yaml",
    BLUEPRINTS / "examples" / "lab-edge-site.yaml",
]


class Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.created: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.created.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def plan_of(path: Path) -> Plan:
    result = validate_file(path)
    assert result.blueprint is not None
    return build_plan(result.blueprint, catalog())


# What the operator set as the stack's aigrid:helmPassword secret.
HELM_PASSWORD = "helm-mirror-token-0b7f"
CASES = [(path, site.name) for path in EXAMPLES for site in plan_of(path).sites]


def build(plan: Plan, site: str) -> dict[str, pulumi.runtime.MockResourceArgs]:
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="aigrid-edge-site", stack=site, preview=False)
    site_plan = plan.site(site)
    assert site_plan is not None
    resources = json.loads(json.dumps(site_resources(plan, site_plan)))["resources"]  # as the file has them
    edge = EdgeSite(
        site,
        site,
        resources,
        kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"),
        helm_password=pulumi.Output.secret(HELM_PASSWORD),
    )

    @pulumi.runtime.test
    def settle() -> pulumi.Output[list[str]]:
        return pulumi.Output.all(*[resource.urn for resource in edge.resources.values()])

    settle()
    return {args.name: args for args in mocks.created}


@pytest.fixture(scope="module", params=CASES, ids=[f"{p.stem}:{s}" for p, s in CASES])
def built(request: pytest.FixtureRequest) -> tuple[Plan, str, dict[str, pulumi.runtime.MockResourceArgs]]:
    path, site = request.param
    plan = plan_of(path)
    return plan, site, build(plan, site)


def test_every_kubernetes_resource_uses_the_site_provider(built: Any) -> None:
    _, site, created = built
    providers = [a for a in created.values() if a.typ == "pulumi:providers:kubernetes"]
    assert [p.name for p in providers] == [f"{site}-k8s"]
    for args in created.values():
        if args.typ.startswith("kubernetes:"):
            assert args.provider and f"::{site}-k8s::" in args.provider, args.name


def inputs_for(obj: K8sObject) -> dict[str, Any]:
    """What the program should pass to the resource for `obj`: the manifest's fields."""
    if obj.helm is not None:
        return dict(obj.helm["values"])
    return {k: v for k, v in obj.body.items() if k not in ("apiVersion", "kind")}


def test_resources_are_the_manifest_objects(built: Any) -> None:
    plan, site, created = built
    for obj in site_objects(plan, site):
        name = resource_name(site, obj.key)
        if obj.gitops_only:
            assert name not in created
            continue
        args = created[name]
        expected = inputs_for(obj)
        if obj.helm is not None:
            assert args.typ == "kubernetes:helm.sh/v3:Release"
            assert args.inputs["values"] == expected and args.inputs["version"] == obj.helm["version"]
            continue
        for field, value in expected.items():
            assert args.inputs[field] == value, (name, field)


def test_gpu_operator_values_follow_the_blueprint() -> None:
    plan = plan_of(EXAMPLES[0])
    created = build(plan, "nw-ash-rdc-01")
    release = created["nw-ash-rdc-01-helmrelease-gpu-operator-gpu-operator"]
    values = release.inputs["values"]
    assert release.inputs["version"] == "v26.3.2" and release.inputs["chart"] == "gpu-operator"
    assert values["driver"] == {
        "enabled": True,
        "version": "580.126.20",
        "kernelModuleType": "open",
        "repository": "registry.northwind.example/nvidia",
        "manager": {"repository": "registry.northwind.example/nvidia/cloud-native"},
    }  # the site's carrier's registry mirror, with the chart's paths
    assert values["mig"] == {"strategy": "mixed"} and values["migManager"]["enabled"] is True
    assert values["toolkit"] == {"enabled": False}
    data = created["nw-ash-rdc-01-configmap-gpu-operator-aigrid-mig-parted-config"].inputs["data"]
    config = yaml.safe_load(data["config.yaml"])
    assert config["mig-configs"]["all-balanced"] == [
        {
            "device-filter": ["0x233010DE"],  # H100 SXM5 80GB
            "devices": "all",
            "mig-enabled": True,
            "mig-devices": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1},
        }
    ]
    assert config["mig-configs"]["all-disabled"] == [{"devices": "all", "mig-enabled": False}]


def test_workload_requests_and_slices() -> None:
    created = build(plan_of(EXAMPLES[0]), "nw-ash-rdc-01")
    meter = created["nw-ash-rdc-01-deployment-slice-nw-miot-meters-meter-anomaly"].inputs
    container = meter["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == "1"
    assert meter["spec"]["template"]["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"] == (
        "slice-nw-miot-meters/nw-miot-meters"
    )
    nad = created["nw-ash-rdc-01-networkattachmentdefinition-slice-nw-miot-meters-nw-miot-meters"]
    assert nad.typ == "kubernetes:k8s.cni.cncf.io/v1:NetworkAttachmentDefinition"
    assert '"master": "vlan230"' in nad.inputs["spec"]["config"]
    quota = created["nw-ash-rdc-01-resourcequota-slice-nw-miot-meters-gpu"].inputs
    assert quota["spec"]["hard"] == {"requests.nvidia.com/mig-1g.10gb": "2"}
    urllc = build(plan_of(EXAMPLES[0]), "nw-nyc-fe-01")[
        "nw-nyc-fe-01-priorityclass-slice-nw-urllc-robots"
    ].inputs
    video = build(plan_of(EXAMPLES[0]), "nw-nyc-fe-01")[
        "nw-nyc-fe-01-priorityclass-slice-nw-embb-video"
    ].inputs
    assert urllc["value"] > video["value"]  # 5QI 82 (priority 19) before 5QI 7 (priority 70)


def policy_args(args: pulumi.runtime.MockResourceArgs, provider: str | None) -> ResourceValidationArgs:
    provider_resource = (
        PolicyProviderResource("pulumi:providers:kubernetes", {}, f"urn:{provider}", provider)
        if provider
        else None
    )
    return ResourceValidationArgs(
        args.typ,
        args.inputs,
        f"urn:{args.name}",
        args.name,
        PolicyResourceOptions(False, [], False, [], PolicyCustomTimeouts(0, 0, 0), []),
        provider_resource,
    )


def violations(args: ResourceValidationArgs) -> list[str]:
    found: list[str] = []
    for policy in POLICIES:
        policy.validate(args, lambda message, urn=None, name=policy.name: found.append(f"{name}: {message}"))
    return found


def test_policies_pass_on_every_mocked_resource(built: Any) -> None:
    _, site, created = built
    for args in created.values():
        assert violations(policy_args(args, f"{site}-k8s")) == [], args.name


def test_policies_fire_on_violating_resources() -> None:
    created = build(plan_of(EXAMPLES[0]), "nw-ash-rdc-01")
    good = created["nw-ash-rdc-01-deployment-slice-nw-miot-meters-meter-anomaly"]
    inputs = dict(good.inputs)
    spec = dict(inputs["spec"])
    template = dict(spec["template"])
    pod = dict(template["spec"])
    container = dict(pod["containers"][0])
    container["resources"] = {"requests": {"nvidia.com/gpu": "1"}}
    container["securityContext"] = {"allowPrivilegeEscalation": True}
    pod.update(containers=[container], securityContext={}, priorityClassName=None)
    template["spec"] = pod
    spec["template"] = template
    inputs.update(spec=spec, metadata={"name": "rogue", "namespace": "default"})
    bad = pulumi.runtime.MockResourceArgs(good.typ, "rogue", inputs)
    found = violations(policy_args(bad, None))
    assert {f.split(":")[0] for f in found} == {
        "gpu-workload-limits",
        "gpu-workload-non-root",
        "gpu-workload-priority-class",
        "gpu-workload-slice-namespace",
        "explicit-kubernetes-provider",
    }


TEMPLATES = ("Pulumi.yaml", "__main__.py", "requirements.txt")


def test_repository_stack_program_is_the_compiled_one(tmp_path: Path) -> None:
    """stacks/ links to the templates the compile renders: one source, no copy to drift."""
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[1]), "--out", str(out)).returncode == 0
    sources = {name: ROOT / "src" / "aigrid" / "templates" / "pulumi" / name for name in TEMPLATES}
    sources["edge_site.py"] = ROOT / "src" / "aigrid" / "pulumi_site.py"
    for name, source in sources.items():
        repository = ROOT / "stacks" / name
        assert repository.is_symlink()
        assert repository.resolve() == source.resolve()
        assert (out / "pulumi" / name).read_bytes() == repository.read_bytes()


@pytest.mark.skipif(
    shutil.which("pulumi") is not None,
    reason="the Pulumi CLI is installed here; this checks the message users get without it",
)
def test_preview_without_the_pulumi_cli_says_how_to_get_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[1]), "--out", str(out)).returncode == 0
    proc = run_aigrid("preview", str(out), "--stack", "lab-edge-01")
    assert proc.returncode == 2
    assert "the Pulumi CLI is not installed" in proc.stderr
    assert f"cd {out}/pulumi && pulumi preview -s lab-edge-01" in proc.stderr.replace("\n", "")


def test_a_stack_the_compile_did_not_write_is_refused_before_pulumi_runs(tmp_path: Path) -> None:
    from aigrid import pulumi_run

    with pytest.raises(pulumi_run.PulumiError, match="has no stack nope; compile the blueprint first"):
        pulumi_run.up(tmp_path, "nope", on_output=print)
    proc = run_aigrid("preview", str(tmp_path), "--stack", "nope")
    assert proc.returncode == 2
    assert f"aigrid: {tmp_path}/pulumi has no stack nope" in proc.stderr.replace("\n", "")


def secret(value: Any) -> Any:
    """The plain value of a Pulumi secret as a mocked resource receives it; fails if not secret."""
    assert value[rpc._special_sig_key] == rpc._special_secret_sig, value
    return value["value"]


def run_program(
    out: Path, site: str, secrets: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, pulumi.runtime.MockResourceArgs], set[str]]:
    """Run the compiled program (out/pulumi/__main__.py) as `pulumi up -s SITE` would, under
    mocks: the config is the compiled Pulumi.<site>.yaml plus `secrets`. Returns the resources
    and every config key the program asked for."""
    written = yaml.safe_load((out / layout.stack_config(site)).read_text())["config"]
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in written.items()} | secrets
    asked: set[str] = set()
    for method in ("get", "require", "get_secret", "require_secret"):
        original = getattr(pulumi.Config, method)

        def spy(self: pulumi.Config, key: str, *args: Any, _original: Any = original) -> Any:
            asked.add(f"{self.name}:{key}")
            return _original(self, key, *args)

        monkeypatch.setattr(pulumi.Config, method, spy)
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="aigrid-edge-site", stack=site, preview=False)
    pulumi.runtime.set_all_config(config, list(secrets))
    monkeypatch.chdir(out / layout.PULUMI)
    # The compiled project installs pulumi and pulumi-kubernetes only: aigrid is not there.
    for name in [m for m in sys.modules if m == "aigrid" or m.startswith("aigrid.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "edge_site", raising=False)

    @pulumi.runtime.test
    def program() -> None:
        # As Pulumi's Python host runs it: the project folder, its own folder on sys.path.
        runpy.run_path(".", run_name="__main__")

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
        sys.modules.pop("edge_site", None)
    return {args.name: args for args in mocks.created}, asked


def test_the_program_reads_every_key_the_stack_config_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[0]), "--out", str(out)).returncode == 0
    text = (out / layout.stack_config("nw-nyc-fe-01")).read_text()
    # The key the stack file tells the operator to set is the one the program reads.
    command = next(line for line in text.splitlines() if "pulumi config set --secret" in line)
    key = command.split("--secret ")[1].split()[0]
    helm_key = stack_keys.qualified(stack_keys.HELM_PASSWORD)
    assert f"pulumi config set --secret {helm_key} -s nw-nyc-fe-01" in text
    secrets = {key: "apiVersion: v1\nkind: Config\n", helm_key: HELM_PASSWORD}
    created, asked = run_program(out, "nw-nyc-fe-01", secrets, monkeypatch)
    assert helm_key in asked
    written = {k for k in yaml.safe_load(text)["config"] if k.startswith(f"{stack_keys.NAMESPACE}:")}
    assert written and written <= asked, f"written but never read: {written - asked}"
    assert secret(created["nw-nyc-fe-01-k8s"].inputs["kubeconfig"]) == "apiVersion: v1\nkind: Config\n"
    assert "secret://northwind/clusters/nw-nyc-fe-01/kubeconfig" in text  # the reference, named
    assert len(created) > 10


def test_an_env_reference_is_read_from_the_environment_of_pulumi_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(BLUEPRINTS / "base", tmp_path / "base")
    (tmp_path / "examples").mkdir()
    blueprint = tmp_path / "examples" / "lab.yaml"
    source = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_text()
    blueprint.write_text(
        source.replace("    rtt: 4ms\n", "    rtt: 4ms\n    kubeconfig: env://LAB_KUBECONFIG\n")
    )
    out = tmp_path / "out"
    proc = run_aigrid("compile", str(blueprint), "--out", str(out), "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    monkeypatch.setenv("LAB_KUBECONFIG", "apiVersion: v1\nkind: Config\nclusters: []\n")
    created, _ = run_program(out, "lab-edge-01", {}, monkeypatch)
    assert (
        secret(created["lab-edge-01-k8s"].inputs["kubeconfig"])
        == "apiVersion: v1\nkind: Config\nclusters: []\n"
    )


def test_a_missing_kubeconfig_names_the_reference_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[0]), "--out", str(out)).returncode == 0
    with pytest.raises(Exception, match="secret://northwind/clusters/nw-nyc-fe-01/kubeconfig") as raised:
        run_program(out, "nw-nyc-fe-01", {}, monkeypatch)
    assert f"pulumi config set --secret {stack_keys.qualified(stack_keys.KUBECONFIG)}" in str(raised.value)
    assert f"aigrid bringup, which fetches it to ../{layout.site_kubeconfig('nw-nyc-fe-01')}" in str(
        raised.value
    )


def test_the_kubeconfig_bringup_fetched_is_used_when_the_stack_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `aigrid bringup` formed the cluster, `pulumi up` needs no extra step: the program
    reads DIR/credentials/<site>.kubeconfig, as a secret."""
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[0]), "--out", str(out)).returncode == 0
    fetched = out / layout.site_kubeconfig("nw-nyc-fe-01")
    fetched.parent.mkdir()
    fetched.write_text("apiVersion: v1\nkind: Config\nclusters: [fetched]\n")
    helm = {stack_keys.qualified(stack_keys.HELM_PASSWORD): HELM_PASSWORD}
    created, _ = run_program(out, "nw-nyc-fe-01", helm, monkeypatch)
    kubeconfig = created["nw-nyc-fe-01-k8s"].inputs["kubeconfig"]
    assert secret(kubeconfig) == "apiVersion: v1\nkind: Config\nclusters: [fetched]\n"


SALT = "v1:Pq7dLZ0kOMU=:v1:4w1rXp3Gk2c5bX9a:8nQ2mKcA0vXzQwJm7lX4YzVb0o8="
SECRET = "v1:Jk2hTq9xZP4mC1sB:2Wc7Xf3VYpLq0mHn5R8aT1uK9dEo6gSj4bNz"


def test_a_recompile_keeps_the_stack_secrets_the_venv_and_the_users_files(tmp_path: Path) -> None:
    """What `pulumi config set --secret` and the docs' setup leave in DIR/pulumi survives a
    recompile, also of a changed blueprint; aigrid's own keys and files are updated."""
    shutil.copytree(BLUEPRINTS / "base", tmp_path / "base")
    (tmp_path / "examples").mkdir()
    blueprint = tmp_path / "examples" / "lab.yaml"
    source = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_text()
    blueprint.write_text(source)
    out = tmp_path / "out"

    def compile_it() -> None:
        proc = run_aigrid("compile", str(blueprint), "--out", str(out), "--root", str(tmp_path))
        assert proc.returncode == 0, proc.stdout + proc.stderr

    compile_it()
    project = out / layout.PULUMI
    stack = out / layout.stack_config("lab-edge-01")
    # As the Pulumi CLI leaves the file after `pulumi stack init` (salt first) and
    # `pulumi config set --secret aigrid:kubeconfig` plus a plain key of the user's:
    config = yaml.safe_load(stack.read_text())["config"]
    config |= {"aigrid:kubeconfig": {"secure": SECRET}, "team:owner": "edge-ops", "aigrid:plan": "plan.json"}
    stack.write_text(yaml.safe_dump({"encryptionsalt": SALT, "config": config}, sort_keys=False))
    (project / "venv" / "bin").mkdir(parents=True)
    (project / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (project / "venv" / "bin" / "python").symlink_to("/usr/bin/python3")
    (project / "notes.md").write_text("ours\n")
    (project / "sites" / "stray.json").write_text("{}\n")  # aigrid's folder: not kept
    (out / layout.MANIFESTS / "extra.yaml").write_text("x: 1\n")  # outside pulumi/: aigrid's

    blueprint.write_text(source.replace("name: lab-edge-site", "name: lab-edge-site-renamed", 1))
    compile_it()
    compile_it()  # twice: a merged file merges again to the same bytes

    text = stack.read_text()
    document = yaml.safe_load(text)
    assert document["encryptionsalt"] == SALT and f"encryptionsalt: {SALT}\n" in text
    assert document["config"]["aigrid:kubeconfig"] == {"secure": SECRET} and SECRET in text
    assert document["config"]["team:owner"] == "edge-ops"
    assert "aigrid:plan" not in document["config"]  # retired aigrid key, dropped
    assert document["config"]["aigrid:site"] == "lab-edge-01"
    assert document["config"]["aigrid:resources"] == "sites/lab-edge-01.json"
    assert "lab-edge-site-renamed" in text  # the header follows the blueprint
    assert (project / "venv" / "pyvenv.cfg").read_text() == "home = /usr/bin\n"
    assert (project / "venv" / "bin" / "python").readlink() == Path("/usr/bin/python3")
    assert (project / "notes.md").read_text() == "ours\n"
    assert not (project / "sites" / "stray.json").exists()
    assert not (out / layout.MANIFESTS / "extra.yaml").exists()
    assert json.loads((project / "plan.json").read_text())["name"] == "lab-edge-site-renamed"


def test_an_unreadable_stack_config_stops_the_compile_and_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[1]), "--out", str(out)).returncode == 0
    stack = out / layout.stack_config("lab-edge-01")
    stack.write_text(f"encryptionsalt: {SALT}\nconfig: [unclosed\n")
    proc = run_aigrid("compile", str(EXAMPLES[1]), "--out", str(out))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{stack} is not valid YAML" in proc.stderr.replace("\n", "")
    assert stack.read_text() == f"encryptionsalt: {SALT}\nconfig: [unclosed\n"


def test_the_project_settings_name_the_venv_and_pin_installable_requirements(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[1]), "--out", str(out)).returncode == 0
    project = yaml.safe_load((out / layout.PULUMI_PROJECT).read_text())
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    requirements = (out / layout.PULUMI_REQUIREMENTS).read_text().split()
    assert [line.split("==")[0] for line in requirements] == ["pulumi", "pulumi-kubernetes"]
    # Pinned to the versions the program is tested with here.
    assert requirements == [f"{name}=={version(name)}" for name in ("pulumi", "pulumi-kubernetes")]


def pypi_reachable() -> bool:
    import urllib.request

    try:
        urllib.request.urlopen("https://pypi.org/simple/pulumi/", timeout=10).close()
    except OSError:
        return False
    return True


def test_the_requirements_resolve_on_pypi_alone(tmp_path: Path) -> None:
    """`pip install -r requirements.txt` on a fresh machine: PyPI only, no local wheels."""
    import subprocess

    if not pypi_reachable():
        pytest.skip("PyPI is not reachable from here")
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[1]), "--out", str(out)).returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed",
         "--index-url", "https://pypi.org/simple", "-r", str(out / layout.PULUMI_REQUIREMENTS)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Would install" in proc.stdout, proc.stdout
    assert f"pulumi_kubernetes-{version('pulumi-kubernetes')}" in proc.stdout


def test_the_gpu_operator_chart_comes_from_the_helm_mirror_with_its_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12, defect 6: the Helm mirror's login reaches the Release's repositoryOpts, the
    password as a Pulumi secret from the stack's aigrid:helmPassword; the compiled files hold
    only the reference."""
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[0]), "--out", str(out)).returncode == 0
    secrets = {
        stack_keys.qualified(stack_keys.KUBECONFIG): "apiVersion: v1\nkind: Config\n",
        stack_keys.qualified(stack_keys.HELM_PASSWORD): HELM_PASSWORD,
    }
    created, _ = run_program(out, "nw-nyc-fe-01", secrets, monkeypatch)
    release = created["nw-nyc-fe-01-helmrelease-gpu-operator-gpu-operator"].inputs
    # The password makes the whole repositoryOpts a secret (kept encrypted in the state).
    options = secret(release["repositoryOpts"])
    assert options == {
        "repo": "https://mirror.northwind.example/helm",
        "username": "aigrid-bringup",
        "password": HELM_PASSWORD,
    }  # Northwind's mirror and login at Northwind's site, in a grid shared with Aurora
    site = json.loads((out / layout.site_resources("nw-nyc-fe-01")).read_text())
    helm = next(entry["helm"] for entry in site["resources"] if "helm" in entry)
    assert helm["login"] == {"username": "aigrid-bringup", "secretRef": "secret://northwind/mirror/password"}


def test_a_dependency_the_site_does_not_declare_is_refused() -> None:
    """A dependency missing from the resource file was dropped in silence: the object was then
    created with no ordering against what it needs."""
    plan = plan_of(EXAMPLES[0])
    site_plan = plan.sites[0]
    resources = json.loads(json.dumps(site_resources(plan, site_plan)))["resources"]
    assert not [k for e in resources for k in e["dependsOn"] if k.startswith("HelmRepository/")]
    resources[-1]["dependsOn"].append("Namespace/nosuch")
    pulumi.runtime.set_mocks(Mocks(), project="aigrid-edge-site", stack=site_plan.name, preview=False)
    with pytest.raises(SiteError, match="depends on Namespace/nosuch"):
        EdgeSite(
            site_plan.name,
            site_plan.name,
            resources,
            kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"),
            helm_password=pulumi.Output.secret(HELM_PASSWORD),
        )


def test_a_missing_helm_password_stops_before_any_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_aigrid("compile", str(EXAMPLES[0]), "--out", str(out)).returncode == 0
    kubeconfig = {stack_keys.qualified(stack_keys.KUBECONFIG): "apiVersion: v1\nkind: Config\n"}
    with pytest.raises(Exception, match="secret://northwind/mirror/password") as raised:
        run_program(out, "nw-nyc-fe-01", kubeconfig, monkeypatch)
    assert f"pulumi config set --secret {stack_keys.qualified(stack_keys.HELM_PASSWORD)}" in str(raised.value)


def test_the_operands_come_from_the_mirror_under_the_charts_own_paths() -> None:
    """The mirror keeps each image's path after the registry, as the chart's values.yaml
    names it (NVIDIA/gpu-operator deployments/gpu-operator/values.yaml at v26.3.2:
    dcgmExporter nvcr.io/nvidia/k8s, migManager and driver.manager nvcr.io/nvidia/cloud-native,
    the operator, validator, driver, device plugin and GFD nvcr.io/nvidia)."""
    plan = plan_of(EXAMPLES[0])
    assert plan.stack.gpu_operator.version == "26.3.2"
    values = inputs_for(next(o for o in site_objects(plan, "nw-ash-rdc-01") if o.helm is not None))
    mirror = "registry.northwind.example"
    expected = {
        ("dcgmExporter",): f"{mirror}/nvidia/k8s",
        ("migManager",): f"{mirror}/nvidia/cloud-native",
        ("driver", "manager"): f"{mirror}/nvidia/cloud-native",
        ("driver",): f"{mirror}/nvidia",
        ("devicePlugin",): f"{mirror}/nvidia",
        ("gfd",): f"{mirror}/nvidia",
        ("operator",): f"{mirror}/nvidia",
        ("validator",): f"{mirror}/nvidia",
    }
    for path, repository in expected.items():
        node = values
        for part in path:
            node = node[part]
        assert node["repository"] == repository, path
