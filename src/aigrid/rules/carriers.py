"""Per-carrier stack choices (AG022): a carrier's mirrors must reach the sites they are for.

A `carriers` entry applies to the sites whose carrier has its name; a misspelt name applies
to none, and those sites would go on pulling from the grid's mirrors (or the public
repositories) with nothing said.
"""

from __future__ import annotations

from collections.abc import Iterable

from aigrid.model.blueprint import site_carrier
from aigrid.rules.codes import Code
from aigrid.rules.registry import Context, Finding, rule
from aigrid.rules.schema import suggest


@rule(
    Code.CARRIER_WITHOUT_SITES,
    "A carrier's stack applies to no site",
    bad="carriers:\n  - name: aurora-telecom  # the sites say carrier: aurora\n    stack:\n"
    "      mirrors: {apt: https://packages.aurora.example/apt}",
    good="carriers:\n  - name: aurora\n    stack:\n      mirrors: {apt: https://packages.aurora.example/apt}",
)
def carriers_without_sites(ctx: Context) -> Iterable[Finding]:
    """An entry of `carriers` gives its stack choices (its own mirrors, registry and their
    login) to the sites of the carrier it names: sites with that `carrier`, and sites with
    none where it is the blueprint's `metadata.carrier`. An entry that matches no site
    changes nothing, so the sites it was written for keep the grid's mirrors. Name a carrier
    the sites use, or remove the entry."""
    bp = ctx.blueprint
    carriers = {site_carrier(bp, site) for site in bp.sites}
    for index, carrier in enumerate(bp.carriers):
        if carrier.name not in carriers:
            yield Finding(
                ("carriers", index, "name"),
                f"carrier {carrier.name!r} has no site, so its stack applies nowhere",
                suggest(carrier.name, carriers, "the sites' carriers"),
            )
