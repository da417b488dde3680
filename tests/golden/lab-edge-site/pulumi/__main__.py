"""One edge site's cluster layer: reads the stack config and builds an EdgeSite."""

import pulumi

from aigrid import stack_keys
from aigrid.pulumi_site import EdgeSite, load_plan, site_kubeconfig

config = pulumi.Config(stack_keys.NAMESPACE)
site = config.require(stack_keys.SITE)
plan = load_plan(blueprint=config.get(stack_keys.BLUEPRINT), plan_file=config.get(stack_keys.PLAN))
EdgeSite(site, plan, site, kubeconfig=site_kubeconfig(config, plan, site))
