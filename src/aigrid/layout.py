"""Every path inside a compiled directory, named once.

Renderers return files keyed by these relative POSIX paths; the commands that read a
compiled directory (bringup, verify, preview/up) find their inputs through the same names.
Moving a file of the output is a change here and nowhere else.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

LOCK = "aigrid.lock.json"
README = "README.md"

ANSIBLE = "ansible"
ANSIBLE_CFG = f"{ANSIBLE}/ansible.cfg"
# The variables sit beside the inventory file, not the playbook, so every Ansible entry point
# that is given the inventory finds them: ansible-playbook, ad-hoc ansible, ansible-inventory
# and an AWX/AAP inventory source alike.
INVENTORY_DIR = f"{ANSIBLE}/inventory"
INVENTORY = f"{INVENTORY_DIR}/hosts.yml"
PLAYBOOK = f"{ANSIBLE}/site.yml"
TEARDOWN = f"{ANSIBLE}/teardown.yml"
# aigrid upgrade, per batch of nodes: drain them and apply the revision (site.yml), then, once
# they pass their checks, put them back in service.
UPGRADE = f"{ANSIBLE}/upgrade.yml"
UNCORDON = f"{ANSIBLE}/uncordon.yml"
ROLES = f"{ANSIBLE}/roles"
FACT_CACHE = ".facts"  # relative to ANSIBLE, where ansible.cfg points it

MANIFESTS = "manifests"

PULUMI = "pulumi"
PULUMI_PROJECT = f"{PULUMI}/Pulumi.yaml"
PULUMI_PROGRAM = f"{PULUMI}/__main__.py"
PULUMI_REQUIREMENTS = f"{PULUMI}/requirements.txt"
PULUMI_SITE_MODULE = f"{PULUMI}/edge_site.py"
PLAN = f"{PULUMI}/plan.json"
PULUMI_SITES = f"{PULUMI}/sites"
PULUMI_SITE_PLANS = f"{PULUMI}/plan"
# What a compile owns in PULUMI besides the stack configs (which it merges): everything else
# there (the virtualenv, Pulumi's state, the user's files) is the user's and survives recompiles.
PULUMI_OWNED = (PULUMI_PROJECT, PULUMI_PROGRAM, PULUMI_REQUIREMENTS, PULUMI_SITE_MODULE, PLAN)

VERIFY = "verify"
VERIFY_SUITE = f"{VERIFY}/test_nodes.py"
VERIFY_CONFTEST = f"{VERIFY}/conftest.py"
VERIFY_PYTEST_INI = f"{VERIFY}/pytest.ini"
# One file per site, so a change at one site rewrites that site's expectations only.
EXPECTATIONS = f"{VERIFY}/expectations"

# What a compile writes at the top of DIR, as the success line names it.
TOP_LEVEL = (f"{ANSIBLE}/", f"{MANIFESTS}/", f"{PULUMI}/", f"{VERIFY}/", README, ".gitignore", LOCK)


def site_inventory(site: str) -> str:
    """One site's hosts and groups, beside the grid's inventory so they share its variables:
    bring-up of one site then loads its hosts only, not every site's (`--site`)."""
    return f"{INVENTORY_DIR}/site-{site}.yml"


def group_name(kind: str, value: str) -> str:
    """Ansible group names are identifiers: site nw-nyc-fe-01 -> site_nw_nyc_fe_01."""
    return f"{kind}_{re.sub(r'[^A-Za-z0-9]+', '_', value).strip('_').lower()}"


def group_vars(group: str) -> str:
    return f"{INVENTORY_DIR}/group_vars/{group}.yml"


def host_vars(hostname: str) -> str:
    return f"{INVENTORY_DIR}/host_vars/{hostname}.yml"


def role_file(relative: str) -> str:
    return f"{ROLES}/{relative}"


def manifest(site: str, file_name: str) -> str:
    return f"{MANIFESTS}/{site}/{file_name}"


def kustomization(site: str) -> str:
    return manifest(site, "kustomization.yaml")


def stack_config(site: str) -> str:
    return f"{PULUMI}/{stack_config_name(site)}"


def stack_config_name(site: str) -> str:
    return f"Pulumi.{site}.yaml"


def site_resources(site: str) -> str:
    return f"{PULUMI_SITES}/{site}.json"


def user_owned(path: str) -> bool:
    """Whether `path` of an existing compiled directory is the user's, kept by a recompile:
    anything in PULUMI that aigrid does not own (a stack config that a recompile would write is
    merged instead; one for a site the blueprint no longer has is kept whole), the
    kubeconfigs bring-up fetched into CREDENTIALS and aigrid upgrade's progress."""
    if any(_inside(path, folder) for folder in _USER_FOLDERS):
        return True
    if not _inside(path, PULUMI):
        return False
    return path not in PULUMI_OWNED and not _in_owned_pulumi_folder(path)


def may_hold_user_files(folder: str) -> bool:
    """Whether `folder` ("." for the top) can hold anything `user_owned`: where a recompile looks
    for the user's files. Walking the whole previous output instead (about 440,000 files at
    10,000 sites) cost more than the rest of a one-site recompile."""
    if folder == "." or any(_at_or_inside(folder, user) for user in _USER_FOLDERS):
        return True
    return _at_or_inside(folder, PULUMI) and not _in_owned_pulumi_folder(folder)


def _in_owned_pulumi_folder(path: str) -> bool:
    return any(_at_or_inside(path, folder) for folder in _OWNED_IN_PULUMI)


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder + "/")


def _at_or_inside(path: str, folder: str) -> bool:
    return path == folder or _inside(path, folder)


def site_plan(site: str) -> str:
    return f"{PULUMI_SITE_PLANS}/{site}.json"


def expectations(site: str) -> str:
    return f"{EXPECTATIONS}/{site}.json"


def relative_to(path: str, directory: str) -> str:
    """`path` as seen from `directory`, both layout paths (for references inside the output)."""
    return str(PurePosixPath(path).relative_to(directory))


# Cluster formation inputs per site (kubeadm configuration, add-on kustomizations), read by the
# kubernetes_cluster role from beside the playbook.
CLUSTER = f"{ANSIBLE}/cluster"
# Where bring-up fetches each site's admin kubeconfig: the operator's, never aigrid's output
# (a recompile keeps it, DIR/.gitignore keeps it out of commits).
CREDENTIALS = "credentials"
# Where aigrid upgrade records which nodes it has finished, so a stopped upgrade resumes there
# (the operator's, like CREDENTIALS: a recompile keeps it, DIR/.gitignore keeps it out of commits).
UPGRADE_STATE = "upgrade"
UPGRADE_PROGRESS = f"{UPGRADE_STATE}/progress.json"
GITIGNORE = ".gitignore"
# The folders whose every file is the user's, and those aigrid owns whole inside PULUMI.
_USER_FOLDERS = (CREDENTIALS, UPGRADE_STATE)
_OWNED_IN_PULUMI = (PULUMI_SITES, PULUMI_SITE_PLANS)


def cluster_file(site: str, relative: str) -> str:
    """A file of one site's cluster formation (the role reads cluster/sites/<site>/)."""
    return f"{CLUSTER}/sites/{site}/{relative}"


def addon_file(addon: str, relative: str) -> str:
    """A file of an add-on that is the same on every site (the role reads cluster/addons/<addon>/)."""
    return f"{CLUSTER}/addons/{addon}/{relative}"


def site_kubeconfig(site: str) -> str:
    return f"{CREDENTIALS}/{site}.kubeconfig"
