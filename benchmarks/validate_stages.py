"""Where validate's time goes: each stage of one validation timed in-process, in CPU seconds.

Stages: imports (the command line's), load (read, parse into positioned nodes, layering),
plain values for the models, the pydantic models, the placement (candidate sites, then the
solver, shared by the placement rules) and each rule. The aigrid that runs is the one on
PYTHONPATH, so two trees compare by running this once with each:

    PYTHONPATH=/tmp/base/src python3 benchmarks/validate_stages.py --sites 10000
    PYTHONPATH=src python3 benchmarks/validate_stages.py --sites 10000
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from pathlib import Path
from typing import Any

from gen_grid import write_grid


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=10000)
    parser.add_argument("--workloads", type=int, default=50)
    args = parser.parse_args()
    path = write_grid(
        Path(__file__).resolve().parent / ".data" / f"grid-{args.sites}.yaml",
        args.sites,
        workloads=args.workloads,
    )
    clock = time.process_time
    start = clock()
    import aigrid.cli  # noqa: F401  (what `aigrid validate` imports before it starts)
    from aigrid.catalog import catalog
    from aigrid.load.layers import load_document
    from aigrid.model.blueprint import Blueprint
    from aigrid.rules import registry

    try:
        from aigrid.load.nodes import plain
    except ImportError:  # an older tree (e149210 and before): the nodes cache their plain values

        def plain(node: Any) -> Any:
            return node.plain

    stages = {"imports": clock() - start}
    # As validate_file does: the trees are acyclic and the collector would only rescan them.
    gc.disable()
    start = clock()
    document = load_document(path)
    stages["load"] = clock() - start
    start = clock()
    values = plain(document.root)
    stages["plain values"] = clock() - start
    # What build_model does after the plain values: they are not kept on the nodes.
    start = clock()
    blueprint = Blueprint.model_validate(values)
    stages["models"] = clock() - start
    del values
    context = registry.Context(blueprint, catalog())
    start = clock()
    context.placements  # noqa: B018
    stages["placement: candidates"] = clock() - start
    start = clock()
    context.placement_solution  # noqa: B018
    stages["placement: solver"] = clock() - start
    rules = 0.0
    for rule in registry.all_rules():
        if rule.check is not None:
            start = clock()
            for _finding in rule.check(context):
                pass
            rules += clock() - start
    stages["rules"] = rules
    for stage, seconds in stages.items():
        print(f"{stage:<24} {seconds:6.2f}")
    print(f"{'total':<24} {sum(stages.values()):6.2f}")
    print(f"peak MiB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
