"""A mixed-integer program handed to HiGHS in one go, with objectives solved in order.

The placement solver (placement_solver.py) builds one per group of workloads; this module
only knows columns, rows and prioritised objectives.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

# How far a later objective may move an earlier optimum, relative: above HiGHS's primal
# feasibility tolerance (1e-7), below any real difference in replicas or milliseconds.
HOLD_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Effort:
    """How hard HiGHS works on one objective: it stops at a relative `gap` between the best
    solution found and the best bound proved, or after `nodes` branch-and-bound nodes with
    the best solution so far. A node count, not a time: on one thread with a fixed seed the
    same program then gives the same solution whatever the machine's load."""

    gap: float = 0.0
    nodes: int = 2000


@dataclass(frozen=True)
class StageResult:
    """How one objective was solved: `gap` is HiGHS's relative gap between the solution
    kept and the best bound it proved (0 when it proved the solution optimal)."""

    priority: int
    gap: float
    nodes: int


class Program:
    """Columns and rows of a mixed-integer program, and its objectives by priority."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.starts: list[int] = []
        self.indices: list[int] = []
        self.values: list[float] = []
        self.objectives: dict[int, dict[int, float]] = {}
        self.efforts: dict[int, Effort] = {}
        self.stages: list[StageResult] = []

    def column(self, upper: float, integer: bool = False, lower: float = 0.0) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.lower) - 1)
        return len(self.lower) - 1

    def row(
        self, terms: dict[int, float], lower: float = -highspy.kHighsInf, upper: float = highspy.kHighsInf
    ) -> None:
        self.row_lower.append(lower)
        self.row_upper.append(upper)
        self.starts.append(len(self.indices))
        for column, value in sorted(terms.items()):
            self.indices.append(column)
            self.values.append(value)

    def cost(self, priority: int, column: int, value: float) -> None:
        costs = self.objectives.setdefault(priority, {})
        costs[column] = costs.get(column, 0.0) + value

    def bound(self, columns: list[int]) -> float:
        """The most the columns can add up to."""
        return sum(self.upper[c] for c in columns)

    def solve(self) -> list[float]:
        """Column values optimising each objective in turn (highest priority first)."""
        columns = len(self.lower)
        if columns == 0:
            return []
        highs = self._highs()
        # Lexicographic by hand: optimise one objective, hold it (within a tolerance above
        # the solver's feasibility tolerance) as a row, go on with the next. HiGHS's own
        # lexicographic mode declared some of these feasible programs infeasible (HiGHS 1.16).
        values: list[float] = []
        for priority, costs in sorted(self.objectives.items(), reverse=True):
            indices = np.array(sorted(costs), dtype=np.int32)
            weights = np.array([costs[i] for i in indices])
            highs.changeColsCost(columns, np.arange(columns, dtype=np.int32), np.zeros(columns))
            highs.changeColsCost(len(indices), indices, weights)
            effort = self.efforts.get(priority, Effort())
            highs.setOptionValue("mip_rel_gap", effort.gap)
            highs.setOptionValue("mip_max_nodes", effort.nodes)
            if values:
                # The last stage's solution holds its own optimum, so it is a solution of this
                # stage too: without it HiGHS may search long for any point that keeps the
                # earlier optima within the tolerance.
                start = np.array(values)
                start[self.integer] = np.round(start[self.integer])
                highs.setSolution(columns, np.arange(columns, dtype=np.int32), start)
            highs.run()
            status = highs.getModelStatus()
            info = highs.getInfo()
            # Every requirement has its slack column, so each stage has a solution; one cut
            # short by its effort keeps the best found, and its gap says how good it is.
            stopped = status == highspy.HighsModelStatus.kSolutionLimit and info.primal_solution_status == 2
            if status != highspy.HighsModelStatus.kOptimal and not stopped:
                # Out of effort before any solution (the start was refused): the last stage's
                # solution stands, and nothing says how far it is from this objective's best.
                assert values, highs.modelStatusToString(status)
                self.stages.append(StageResult(priority, math.inf, info.mip_node_count))
                continue
            values = list(highs.getSolution().col_value)
            best = info.objective_function_value
            self.stages.append(StageResult(priority, _gap(status, info.mip_gap), info.mip_node_count))
            highs.addRow(
                -highspy.kHighsInf,
                best + HOLD_TOLERANCE * max(1.0, abs(best)),
                len(indices),
                indices,
                weights,
            )
        return values

    def _highs(self) -> highspy.Highs:
        columns = len(self.lower)
        with _quiet_stdout():
            # highspy prints its banner when the object is made, before any option applies.
            highs = highspy.Highs()  # type: ignore[no-untyped-call]
        highs.silent()
        # One thread and a fixed seed: the same program gives the same solution every run.
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("random_seed", 0)
        highs.addCols(
            columns,
            np.zeros(columns),
            np.array(self.lower),
            np.array(self.upper),
            0,
            np.array([], dtype=np.int32),
            np.array([], dtype=np.int32),
            np.array([], dtype=np.float64),
        )
        if self.integer:
            highs.changeColsIntegrality(
                len(self.integer),
                np.array(self.integer, dtype=np.int32),
                np.full(len(self.integer), highspy.HighsVarType.kInteger.value, dtype=np.uint8),
            )
        if self.row_lower:
            highs.addRows(
                len(self.row_lower),
                np.array(self.row_lower),
                np.array(self.row_upper),
                len(self.indices),
                np.array(self.starts, dtype=np.int32),
                np.array(self.indices, dtype=np.int32),
                np.array(self.values),
            )
        return highs


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("w", encoding="utf-8") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _gap(status: highspy.HighsModelStatus, mip_gap: float) -> float:
    """The stage's relative gap. HiGHS gives no finite MIP gap where presolve or the simplex
    alone solved the program (no branching: e.g. a group whose requirements have no
    integer column left): its solution is then proven optimal all the same."""
    if math.isfinite(mip_gap):
        return max(0.0, mip_gap)
    return 0.0 if status == highspy.HighsModelStatus.kOptimal else math.inf
