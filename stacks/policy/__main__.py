"""The aigrid policy pack: `pulumi preview --policy-pack stacks/policy`."""

from pulumi_policy import PolicyPack

from aigrid.policies import POLICIES

PolicyPack(name="aigrid", policies=POLICIES)
