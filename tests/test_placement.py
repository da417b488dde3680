"""The placement solver: joint capacity, latency, demand, spread, N-1, determinism, and the
cases where the greedy placement it replaced fails."""

from __future__ import annotations

from pathlib import Path

from aigrid.catalog import catalog
from aigrid.placement import Placements
from aigrid.placement_compare import from_solution, greedy, measure
from aigrid.placement_solver import solve
from aigrid.resilience import site_losses
from aigrid.validate import validate_file

STACK = """apiVersion: aigrid.dev/v1alpha1
kind: Blueprint
metadata:
  name: placement-test
stack:
  os: ubuntu-24.04
  driver: {version: 580.126.20, install: host, kernelModules: open}
  cuda: {version: 13.0.2}
  tensorrt: {version: 10.14.1}
  containerRuntime: {version: 2.3.1}
  containerToolkit: {version: 1.19.1}
  kubernetes: {version: 1.34.9}
  gpuOperator: {version: 26.3.2, migStrategy: mixed}
slices:
  - name: embb
    snssai: {sst: 1, sd: "0000B2"}
    5qi: 80
    bitrate: {maximum: 100Mbps}
    vlan: 220
    ipv4: 198.51.100.0/26
"""


def site(name: str, rtt: str, gpus: int = 2, region: str = "lab", number: int = 1, nodes: int = 1) -> str:
    lines = [
        f"  - name: {name}",
        "    tier: edge",
        f"    region: {region}",
        f"    rtt: {rtt}",
        "    slices: [embb]",
        "    network: {sliceInterface: eno1}",
        "    nodes:",
        f"      - {{hostname: {name}-cp, role: control-plane, address: 192.0.2.{number * 10}}}",
    ]
    for node in range(nodes):
        lines.append(
            f"      - {{hostname: {name}-gpu{node}, address: 192.0.2.{number * 10 + node + 1}, "
            f"gpus: {{model: L40S, count: {gpus}}}}}"
        )
    return "\n".join(lines) + "\n"


def workload(name: str, slo: str, replicas: int = 1, extra: str = "") -> str:
    return (
        f"  - name: {name}\n    runtime: triton\n    model: {{name: {name}}}\n    gpu: {{count: 1}}\n"
        f"    replicas: {replicas}\n    latency: {{slo: {slo}, inference: 6ms}}\n    slice: embb\n{extra}"
    )


def grid(write, sites: list[str], workloads: list[str], top: str = "") -> Path:  # type: ignore[no-untyped-def]
    text = STACK + top + "sites:\n" + "".join(sites) + "workloads:\n" + "".join(workloads)
    return write("grid.yaml", text)  # type: ignore[no-any-return]


def placed(path: Path) -> tuple[Placements, dict[str, dict[str, int]]]:
    result = validate_file(path)
    assert result.blueprint is not None
    assert [d.code for d in result.errors] == [], [d.message for d in result.errors]
    placements = Placements(result.blueprint, catalog())
    solution = solve(placements)
    names = [s.name for s in result.blueprint.sites]
    return placements, {
        w: {names[i]: n for i, n in p.per_site().items()} for w, p in solution.workloads.items()
    }


def test_a_tight_slo_keeps_the_close_site_that_greedy_gives_away(write) -> None:  # type: ignore[no-untyped-def]
    # near (2ms) and far (8ms) have 2 GPUs each. tight (10ms SLO, 6ms inference) fits only
    # near; loose fits both. Greedy spreads loose over both and then puts tight's two on
    # near too: three replicas for two GPUs. The solver gives near to tight, far to loose.
    path = grid(
        write,
        [site("near", "2ms"), site("far", "8ms", number=2)],
        [workload("loose", "50ms", 2), workload("tight", "10ms", 2)],
    )
    placements, solved = placed(path)
    assert solved == {"loose": {"far": 2}, "tight": {"near": 2}}
    assert measure(placements, greedy(placements)).placed == 1
    assert measure(placements, from_solution(solve(placements))).placed == 2


def test_replicas_fill_nodes_not_even_shares(write) -> None:  # type: ignore[no-untyped-def]
    # 3 replicas, near has 1 GPU and far 2: the even spread gives near 2 (one Pending).
    path = grid(
        write, [site("near", "2ms", gpus=1), site("far", "4ms", number=2)], [workload("w", "50ms", 3)]
    )
    placements, solved = placed(path)
    assert solved == {"w": {"near": 1, "far": 2}}
    assert measure(placements, greedy(placements)).placed == 0


def test_demand_sizes_replicas_and_serves_each_region(write) -> None:  # type: ignore[no-untyped-def]
    # 250 requests/s from north and 100 from south at 100 per replica: 4 replicas, 3 in the
    # north. Greedy runs the one `replicas` at the closest site, in the south.
    demand = (
        "    demand:\n      perReplica: 100\n      sources:\n"
        "        - {region: north, rate: 250}\n        - {site: south-1, rate: 100}\n"
    )
    path = grid(
        write,
        [
            site("south-1", "1ms", gpus=4, region="south"),
            site("north-1", "4ms", gpus=4, region="north", number=2),
        ],
        [workload("w", "30ms", 1, demand)],
    )
    placements, solved = placed(path)
    assert solved == {"w": {"south-1": 1, "north-1": 3}}
    baseline = measure(placements, greedy(placements))
    assert (baseline.placed, baseline.slo_violations) == (0, 1)
    assert measure(placements, from_solution(solve(placements))).slo_violations == 0


def test_min_sites_spreads_the_replicas(write) -> None:  # type: ignore[no-untyped-def]
    sites = [site("a", "2ms", gpus=4), site("b", "5ms", gpus=4, number=2)]
    _, together = placed(grid(write, sites, [workload("w", "50ms", 2)]))
    assert together == {"w": {"a": 2}}
    spread = "    placement: {minSites: 2}\n"
    _, apart = placed(grid(write, sites, [workload("w", "50ms", 2, spread)]))
    assert apart == {"w": {"a": 1, "b": 1}}


def test_n_minus_1_check_names_the_site_whose_loss_breaks_what(write) -> None:  # type: ignore[no-untyped-def]
    # By hand: w (2 replicas) goes to a, the closest; v (1 replica) may run only on c.
    # Losing a leaves w 0 of 2; losing c leaves v 0 of 1; losing b breaks nothing.
    only_c = "    placement: {sites: [c]}\n"
    path = grid(
        write,
        [site("a", "2ms"), site("b", "3ms", number=2), site("c", "9ms", number=3)],
        [workload("w", "50ms", 2), workload("v", "50ms", 1, only_c)],
    )
    placements, solved = placed(path)
    assert solved == {"w": {"a": 2}, "v": {"c": 1}}
    losses = site_losses(placements, solve(placements))
    broken = {loss.site: [b.describe() for b in loss.broken] for loss in losses}
    assert broken == {"a": ["w: 0 of 2 replicas left"], "b": [], "c": ["v: 0 of 1 replicas left"]}


def test_n_minus_1_constraint_places_spares(write) -> None:  # type: ignore[no-untyped-def]
    # With any one of a (2ms), b (3ms), c (10ms) down, 2 replicas must be left: 2 on a and
    # 2 on b (mean 5ms) beats one on each (7.5ms). No loss then breaks anything.
    path = grid(
        write,
        [site("a", "2ms"), site("b", "3ms", number=2), site("c", "10ms", number=3)],
        [workload("w", "50ms", 2)],
        top="resilience: n-1\n",
    )
    placements, solved = placed(path)
    assert solved == {"w": {"a": 2, "b": 2}}
    assert all(not loss.broken for loss in site_losses(placements, solve(placements)))


def test_n_minus_1_that_cannot_hold_is_reported_with_the_site(write) -> None:  # type: ignore[no-untyped-def]
    path = grid(write, [site("a", "2ms", gpus=4)], [workload("w", "50ms", 2)], top="resilience: n-1\n")
    [diagnostic] = validate_file(path).errors
    assert diagnostic.code == "AG312"
    assert diagnostic.message == "losing site a leaves w: 0 of 2 replicas left"


def test_joint_shortage_names_the_full_sites_and_what_fills_them(write) -> None:  # type: ignore[no-untyped-def]
    path = grid(write, [site("a", "2ms")], [workload("w", "50ms", 2), workload("v", "50ms", 1)])
    [diagnostic] = validate_file(path).errors
    assert diagnostic.code == "AG306"
    assert "1 of 1 replicas find no free 1 GPU" in diagnostic.message
    assert "a (w 2 x 1 GPU)" in diagnostic.message
    assert diagnostic.line == STACK.count("\n") + 2  # the site's name


def test_slo_shortage_lists_the_latency_of_the_sites_with_room(write) -> None:  # type: ignore[no-untyped-def]
    path = grid(write, [site("a", "2ms"), site("b", "12ms", gpus=4, number=2)], [workload("w", "15ms", 4)])
    [diagnostic] = validate_file(path).errors
    assert diagnostic.code == "AG309"
    assert "hold 2 (a 2); sites with room beyond the SLO: b 18ms" in diagnostic.message


def test_demand_from_an_unknown_region_is_a_reference_error(write) -> None:  # type: ignore[no-untyped-def]
    demand = "    demand: {perReplica: 10, sources: [{region: nort, rate: 5}]}\n"
    path = grid(write, [site("a", "2ms", region="north")], [workload("w", "50ms", 1, demand)])
    [diagnostic] = validate_file(path).errors
    assert (diagnostic.code, diagnostic.hint) == ("AG015", "did you mean 'north'?")


def test_demand_source_needs_one_origin(write) -> None:  # type: ignore[no-untyped-def]
    demand = "    demand: {perReplica: 10, sources: [{region: lab, site: a, rate: 5}]}\n"
    path = grid(write, [site("a", "2ms")], [workload("w", "50ms", 1, demand)])
    [diagnostic] = validate_file(path).errors
    assert diagnostic.code == "AG011"
    assert "exactly one of `region` or `site`" in diagnostic.message


def test_same_input_same_placement(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from gen_grid import write_grid

    path = write_grid(tmp_path / "grid.yaml", 60, nodes=2, workloads=40)
    result = validate_file(path)
    assert result.blueprint is not None
    first = solve(Placements(result.blueprint, catalog()))
    again = solve(Placements(validate_file(path).blueprint, catalog()))  # type: ignore[arg-type]
    assert {w: p.nodes for w, p in first.workloads.items()} == {
        w: p.nodes for w, p in again.workloads.items()
    }
    assert all(p.placed == p.required for p in first.workloads.values())


def test_the_shipped_demand_example_places_as_docs_placement_md_says() -> None:
    # By hand: north sends 240 requests/s (4 replicas of 60), and with n-1 any two of its
    # three sites must still carry them: 2 on each. The south's 100 need 2, twice over.
    from conftest import BLUEPRINTS

    placements, solved = placed(BLUEPRINTS / "examples" / "metro-demand-grid.yaml")
    assert solved["camera-analytics"] == {
        "north-tower-01": 2,
        "north-office-01": 2,
        "north-regional-01": 2,
        "south-office-01": 2,
        "south-regional-01": 2,
    }
    assert solved["voice-assistant"] == {"north-office-01": 2, "south-tower-01": 2}
    assert solved["defect-detect"] == {"north-regional-01": 2, "south-regional-01": 2}
    solution = solve(placements)
    assert all(not loss.broken for loss in site_losses(placements, solution))
    assert solution.workloads["camera-analytics"].unserved == {}


def test_whole_gpu_requests_of_different_sizes_fit_each_node(write) -> None:  # type: ignore[no-untyped-def]
    # Two nodes of 3 GPUs: pair (2 GPUs x 2) and solo (1 GPU x 2) fit only as one pair and one
    # solo per node, which the site's total (6) alone would not ensure; and a third pair never
    # fits, though 6 GPUs would hold three pairs.
    pair = workload("pair", "50ms", 3).replace("gpu: {count: 1}", "gpu: {count: 2}")
    path = grid(write, [site("a", "2ms", gpus=3, nodes=2)], [pair, workload("solo", "50ms", 2)])
    placements = Placements(validate_file(path).blueprint, catalog())  # type: ignore[arg-type]
    solution = solve(placements)
    assert solution.workloads["pair"].nodes == {(0, 1): 1, (0, 2): 1}
    assert solution.workloads["solo"].nodes == {(0, 1): 1, (0, 2): 1}
    assert solution.workloads["pair"].short == 1


def _contended(tmp_path: Path) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from gen_grid import write_grid

    return write_grid(tmp_path / "grid.yaml", 20, workloads=100, contended=True)  # type: ignore[no-any-return]


def test_a_placement_solved_without_branching_is_proven(tmp_path: Path) -> None:
    # Some groups' programs are solved by presolve or the simplex alone, for which HiGHS gives
    # no finite MIP gap: that is a proof all the same, not an unknown margin.
    result = validate_file(_contended(tmp_path))
    assert result.blueprint is not None
    solution = solve(Placements(result.blueprint, catalog()))
    assert solution.unproven == [] and solution.gap == 0.0
    assert "AG313" not in [d.code for d in result.diagnostics]


def test_a_placement_cut_short_is_reported_with_its_gap(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # An effort that stops HiGHS at half the best bound: some group keeps a placement not
    # proven the best, and validate says which workloads and how far, as a warning.
    from aigrid import placement_program

    effort = placement_program.Effort
    monkeypatch.setattr(placement_program, "Effort", lambda **_: effort(gap=0.5))
    path = _contended(tmp_path)
    result = validate_file(path)
    found = [d for d in result.diagnostics if d.code == "AG313"]
    assert found and all(d.severity == "warning" for d in found)
    assert not [d for d in result.errors if d.code == "AG313"]
    solution = solve(Placements(result.blueprint, catalog()))  # type: ignore[arg-type]
    from aigrid.placement_solver import OBJECTIVES

    first = next(group for group in solution.unproven if group.reported())
    assert 0 < solution.gap <= 0.5
    [diagnostic] = [d for d in found if d.path == f"workloads[{first.workloads[0]}]"]
    assert f"placement of {first.workloads[0]}," in diagnostic.message
    assert "was not proven the best" in diagnostic.message and "%" in diagnostic.message
    assert (
        f"within {max(g for p, g in first.gaps.items() if p in OBJECTIVES):.1%} of the best bound"
        in diagnostic.message
    )
    # The report says the same, per group.
    from aigrid.grid_report import report_data

    report = report_data(result.blueprint, catalog(), result.diagnostics)  # type: ignore[arg-type]
    assert report["placement"]["unproven"][0]["workloads"] == list(first.workloads)
    assert all(text.endswith("%") for text in report["placement"]["unproven"][0]["gaps"].values())
