"""Air-gapped mirrors with a login (issue 12, defect 6): the compiled output carries the
secret's reference only; the roles resolve it on the controller at bring-up and write it where
each tool documents it: apt's auth.conf.d (apt_auth.conf(5)), containerd's CRI registry auth
(containerd docs/cri/registry.md), and a missing value stops the run before any change,
naming the reference. The roles run for real (ansible-playbook, local connection) against
scratch directories."""

from __future__ import annotations

import json
import shutil
import stat
import tomllib
from pathlib import Path

import jinja2
import pytest
import yaml

from aigrid import layout
from aigrid.validate import validate_file
from conftest import BLUEPRINTS, ROOT, run_aigrid, run_local_playbook

MIRROR = "mirror.example.net/apt"
URI = f"https://{MIRROR}/kubernetes/v1.34/"
SECRET = "s3cr{{et-7Qx"  # a `{{` stays data, never a template
MIRRORS = """\
stack:
  mirrors:
    apt: https://mirror.example.net/apt
    containerRegistry: registry.example.net:5000/edge
    helm: https://mirror.example.net/helm
    credentials:
      username: aigrid
      token: {reference}
"""


def playbook(
    tmp_path: Path, role: str, tasks_from: str = "main.yml", facts: bool = False, secrets: str = ""
) -> Path:
    """A play running the role; `secrets` is the operator's vars file (docs/security.md)."""
    path = tmp_path / "play.yml"
    play: dict[str, object] = {
        "name": "One role",
        "hosts": "all",
        "gather_facts": facts,
        "tasks": [{"ansible.builtin.include_role": {"name": role, "tasks_from": tasks_from}}],
    }
    if secrets:
        (tmp_path / "secrets.yml").write_text(secrets)
        play["vars_files"] = [str(tmp_path / "secrets.yml")]
    path.write_text(yaml.safe_dump([play]))
    return path


def secrets_file(reference: str, value: str) -> str:
    """As docs/security.md has the operator write it: each value `!unsafe`, so Ansible never
    templates a secret that happens to hold `{{`."""
    return f"aigrid_secrets:\n  {json.dumps(reference)}: !unsafe {json.dumps(value)}\n"


def apt_dir(tmp_path: Path) -> Path:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "keyrings").mkdir()
    return apt


def apt_vars(apt: Path, reference: str) -> dict[str, object]:
    return {
        "apt_source_name": "aigrid-kubernetes",
        "apt_source_uri": URI,
        "apt_source_dir": str(apt),
        "apt_source_auth_mirror": MIRROR,
        "apt_source_auth_login": "aigrid",
        "apt_source_auth_secret_ref": reference,
    }


@pytest.mark.parametrize(
    "reference", ["env://MIRROR_TOKEN", "secret://mirrors/token", "vault://aurora/mirrors/token"]
)
def test_apt_gets_the_mirror_login_root_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: str
) -> None:
    if reference.startswith("env://"):
        monkeypatch.setenv("MIRROR_TOKEN", SECRET)
    secrets = "" if reference.startswith("env://") else secrets_file(reference, SECRET)
    apt = apt_dir(tmp_path)
    proc = run_local_playbook(playbook(tmp_path, "apt_source", secrets=secrets), apt_vars(apt, reference))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    login = apt / "auth.conf.d" / "aigrid-kubernetes.conf"
    # apt_auth.conf(5): machine without protocol (https only), login, password.
    lines = [line for line in login.read_text().splitlines() if not line.startswith("#")]
    assert lines == [f"machine {MIRROR}/kubernetes/v1.34/", "login aigrid", f"password {SECRET}"]
    mode = login.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o600 and mode.st_uid == 0
    assert SECRET not in proc.stdout + proc.stderr  # no_log: never in Ansible's output
    # The sources file stays world-readable and holds no login.
    assert SECRET not in (apt / "sources.list.d" / "aigrid-kubernetes.sources").read_text()

    # Credentials gone from the blueprint: the login goes too.
    extra = apt_vars(apt, "")
    proc = run_local_playbook(playbook(tmp_path, "apt_source"), extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not login.exists()


def test_apt_login_is_only_for_repositories_on_the_mirror(tmp_path: Path) -> None:
    apt = apt_dir(tmp_path)
    extra = apt_vars(apt, "secret://mirrors/token") | {
        "apt_source_uri": "https://pkgs.k8s.io/core:/stable:/v1.34/deb/"
    }
    secrets = secrets_file("secret://mirrors/token", SECRET)
    proc = run_local_playbook(playbook(tmp_path, "apt_source", secrets=secrets), extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (apt / "auth.conf.d").exists()


def test_a_missing_secret_stops_the_role_before_it_writes_anything(tmp_path: Path) -> None:
    apt = apt_dir(tmp_path)
    proc = run_local_playbook(playbook(tmp_path, "apt_source"), apt_vars(apt, "secret://mirrors/token"))
    assert proc.returncode != 0
    assert "the mirror secret secret://mirrors/token has no value" in proc.stdout
    assert not list((apt / "sources.list.d").iterdir()) and not (apt / "auth.conf.d").exists()


@pytest.mark.parametrize(
    ("config_version", "version", "table"),
    [(3, "2.0.7", "io.containerd.cri.v1.images"), (3, "2.3.1", "io.containerd.cri.v1.images")],
)
def test_containerd_gets_the_registry_login_from_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_version: int, version: str, table: str
) -> None:
    monkeypatch.setenv("MIRROR_TOKEN", SECRET)
    conf = tmp_path / "conf.d"
    conf.mkdir()
    extra = {
        "container_runtime_version": version,
        "container_runtime_config_version": config_version,
        "container_runtime_packages": ["containerd.io"],
        "container_runtime_package_version": f"{version}-*",
        "container_runtime_registry_mirror": "registry.example.net:5000/edge",
        "container_runtime_registry_login": "aigrid",
        "container_runtime_registry_secret_ref": "env://MIRROR_TOKEN",
        "container_runtime_conf_dir": str(conf),
    }
    proc = run_local_playbook(playbook(tmp_path, "container_runtime", "registry_auth.yml", facts=True), extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    drop_in = conf / "10-aigrid-registry-auth.toml"
    config = tomllib.loads(drop_in.read_text())
    assert config["version"] == config_version
    # The CRI plugin looks the login up by the mirror's host[:port] (docs/cri/registry.md).
    auth = config["plugins"][table]["registry"]["configs"]["registry.example.net:5000"]["auth"]
    assert auth == {"username": "aigrid", "password": SECRET}
    assert stat.S_IMODE(drop_in.stat().st_mode) == 0o600 and drop_in.stat().st_uid == 0
    assert SECRET not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("release", "refusal"),
    [
        ("2.4.0", "no longer reads registry.configs auth"),
        # 1.x: the login's drop-in would replace the whole CRI table (mergeConfig).
        ("1.7.28", "replaces the CRI plugin's whole configuration"),
    ],
)
def test_containerd_releases_without_registry_auth_are_refused(
    tmp_path: Path, release: str, refusal: str
) -> None:
    extra = {
        "container_runtime_version": release,
        "container_runtime_packages": ["containerd.io"],
        "container_runtime_package_version": f"{release}-*",
        "container_runtime_registry_mirror": "registry.example.net",
        "container_runtime_registry_login": "aigrid",
        "container_runtime_registry_secret_ref": "secret://mirrors/token",
        "container_runtime_conf_dir": str(tmp_path),
    }
    secrets = secrets_file("secret://mirrors/token", SECRET)
    proc = run_local_playbook(
        playbook(tmp_path, "container_runtime", "registry_auth.yml", facts=True, secrets=secrets), extra
    )
    assert proc.returncode != 0 and refusal in proc.stdout
    assert not (tmp_path / "10-aigrid-registry-auth.toml").exists()


@pytest.mark.parametrize(
    ("reference", "hint"),
    [
        (
            "vault://aurora/mirrors/token",
            "add it under aigrid_secrets in the file given to aigrid bringup --secrets",
        ),
        ("env://AIGRID_TEST_UNSET_TOKEN", "set the environment variable AIGRID_TEST_UNSET_TOKEN"),
    ],
)
def test_preflight_stops_on_a_missing_secret_before_any_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: str, hint: str
) -> None:
    """Preflight is the first play: its first task names the field, the reference and what to do."""
    monkeypatch.delenv("AIGRID_TEST_UNSET_TOKEN", raising=False)
    extra = {
        "preflight_mirror_secret_ref": reference,
        "preflight_mirror_secret_field": "stack.mirrors.credentials.token",
        "preflight_os_check": False,
        "preflight_hardware_checks": False,
    }
    proc = run_local_playbook(playbook(tmp_path, "preflight", facts=True), extra)
    assert proc.returncode != 0
    assert (
        f"blueprint field stack.mirrors.credentials.token is {reference}, which has no value" in proc.stdout
    )
    assert hint in proc.stdout
    # The first task after the facts and the role's argument check: nothing ran before it.
    assert "Check the operating system" not in proc.stdout and "ok=2 " in proc.stdout


def test_the_compiled_directory_holds_references_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The value is in the compiling process' environment, yet nowhere in DIR: the roles,
    the Pulumi program and Flux get the reference and resolve it at bring-up."""
    monkeypatch.setenv("MIRROR_TOKEN", SECRET)
    shutil.copytree(BLUEPRINTS / "base", tmp_path / "base")
    (tmp_path / "examples").mkdir()
    source = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_text()
    blueprint = tmp_path / "examples" / "lab.yaml"
    blueprint.write_text(source + MIRRORS.format(reference="env://MIRROR_TOKEN"))
    out = tmp_path / "out"
    proc = run_aigrid("compile", str(blueprint), "--out", str(out), "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    shared = yaml.safe_load((out / layout.group_vars("all")).read_text())
    assert shared["apt_source_auth_secret_ref"] == "env://MIRROR_TOKEN"
    assert shared["container_runtime_registry_secret_ref"] == "env://MIRROR_TOKEN"
    assert shared["preflight_mirror_secret_ref"] == "env://MIRROR_TOKEN"
    assert shared["apt_source_auth_mirror"] == MIRROR
    repository = yaml.safe_load(
        (out / layout.MANIFESTS / "lab-edge-01" / "helmrepository-gpu-operator-nvidia.yaml").read_text()
    )
    assert repository["spec"]["secretRef"] == {"name": "aigrid-helm-mirror"}
    site = json.loads((out / layout.site_resources("lab-edge-01")).read_text())
    helm = next(entry["helm"] for entry in site["resources"] if "helm" in entry)
    assert helm["login"] == {"username": "aigrid", "secretRef": "env://MIRROR_TOKEN"}


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ("{token: secret://m/t}", "`username` is needed"),
        ("{username: aigrid}", "give a `password` or a `token`"),
    ],
)
def test_mirror_credentials_are_one_login(tmp_path: Path, credentials: str, message: str) -> None:
    shutil.copytree(BLUEPRINTS / "base", tmp_path / "base")
    (tmp_path / "examples").mkdir()
    source = (BLUEPRINTS / "examples" / "lab-edge-site.yaml").read_text()
    blueprint = tmp_path / "examples" / "lab.yaml"
    blueprint.write_text(
        source
        + f"stack:\n  mirrors:\n    apt: https://mirror.example.net/apt\n    credentials: {credentials}\n"
    )
    result = validate_file(blueprint, root=tmp_path)
    assert any(message in d.message and "credentials" in d.path for d in result.diagnostics), [
        (d.path, d.message) for d in result.diagnostics
    ]


@pytest.mark.parametrize(
    ("registry", "upstream"),
    [("docker.io", "https://registry-1.docker.io"), ("nvcr.io", "https://nvcr.io")],
)
def test_a_mirrored_registry_falls_back_to_its_real_registry_host(registry: str, upstream: str) -> None:
    """hosts.toml's `server` is where the pulls the mirror misses go: for docker.io that is
    registry-1.docker.io (containerd docs/hosts.md), substituted by containerd only where
    server is unset; https://docker.io serves no registry."""
    template = ROOT / "roles" / "container_runtime" / "templates" / "hosts.toml.j2"
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.filters["to_json"] = json.dumps  # Ansible's filter, for these plain strings
    text = environment.from_string(template.read_text()).render(
        item=registry, container_runtime_registry_mirror="registry.example.net:5000/edge"
    )
    hosts = tomllib.loads(text)
    assert hosts["server"] == upstream
    assert hosts["host"]["https://registry.example.net:5000/edge"]["capabilities"] == ["pull", "resolve"]
