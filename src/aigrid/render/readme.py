"""The README written into every compiled directory: what is there and how to use it."""

from __future__ import annotations

from aigrid import __version__, layout
from aigrid.layout import group_name
from aigrid.plan import Plan
from aigrid.render import templates


def render(plan: Plan) -> dict[str, bytes]:
    first = plan.sites[0].name if plan.sites else "SITE"
    paths = {
        "ansible": layout.ANSIBLE,
        "playbook_name": layout.relative_to(layout.PLAYBOOK, layout.ANSIBLE),
        "manifests": layout.MANIFESTS,
        "pulumi": layout.PULUMI,
        "verify": layout.VERIFY,
        "lock": layout.LOCK,
    }
    text = templates.render(
        "README.md.j2",
        blueprint=plan.name,
        version=__version__,
        sites=plan.sites,
        node_count=len(plan.nodes),
        paths=paths,
        first_site=first,
        first_site_group=group_name("site", first),
    )
    return {layout.README: text}
