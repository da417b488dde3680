"""Options of the generated verification suite (aigrid verify passes them)."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--aigrid-inventory", required=True, help="The inventory to reach the nodes")
    parser.addoption("--aigrid-site", default=None, help="Only this site's nodes")
    parser.addoption(
        "--aigrid-no-hardware-checks", action="store_true", help="Skip the GPU checks (hosts without GPUs)"
    )
