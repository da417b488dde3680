"""One edge site's cluster layer: reads the stack config and builds an EdgeSite."""

import pulumi

from aigrid.pulumi_site import EdgeSite, load_plan

config = pulumi.Config("aigrid")
site = config.require("site")
plan = load_plan(blueprint=config.get("blueprint"), plan_file=config.get("plan"))
EdgeSite(site, plan, site, kubeconfig=config.require_secret("kubeconfig"))
