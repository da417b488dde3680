"""What applying a change takes, from least to most disruptive.

The order is the order of the members: a change set is as disruptive as its most disruptive
change, and `aigrid diff` exits with that class's code so CI can ask for an approval above a
threshold (`[ $? -ge 4 ]`: anything that drains a node).
"""

from __future__ import annotations

from enum import IntEnum


class Disruption(IntEnum):
    NONE = 0
    ROLLING_RESTART = 1
    NODE_DRAIN = 2
    NODE_REBOOT = 3
    CONTROL_PLANE_FIRST = 4
    SITE_WIDE = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def title(self) -> str:
        return TITLES[self]

    @property
    def exit_code(self) -> int:
        """0 for nothing disruptive; 1 and 2 stay the usual invalid input and misuse."""
        return 0 if self is Disruption.NONE else self + 2


TITLES = {
    Disruption.NONE: "none",
    Disruption.ROLLING_RESTART: "rolling pod restart",
    Disruption.NODE_DRAIN: "node drain",
    Disruption.NODE_REBOOT: "node reboot",
    Disruption.CONTROL_PLANE_FIRST: "control plane first",
    Disruption.SITE_WIDE: "site-wide disruption",
}
