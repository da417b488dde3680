"""Each site's files, rendered in this process or, for many sites, by worker processes.

Rendering a site (its objects, then YAML and JSON text) is pure Python and takes most of a large
compile's CPU time, while the compile's own process spends its time writing and hashing files.
With `jobs` above 1 and enough sites to render, worker processes render batches of sites and
hand back their files, and the compile's process stages them (output.Staging stays the only
writer) in the same order as a serial compile: the output is the same bytes either way.

Workers are started with "spawn" (a fresh interpreter, given its share of the plan pickled
once), not "fork": the compile's process has a native thread (numpy's OpenBLAS pool), and
forking a threaded process is what Python deprecates from 3.12 on. A worker ignores Ctrl-C from
its start (the compile's process gets it, stops handing out batches and leaves the previous
output as it was), and ends itself when the compile's process is gone (killed, out of memory).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aigrid import layout
from aigrid.output import OutputError, digest
from aigrid.plan import Plan, SitePlan
from aigrid.render import ansible, cluster, manifests, pulumi, verify
from aigrid.render.k8s_objects import site_objects

# What the lock records of a site that comes from rendering it (compile.site_state_text).
StateText = Callable[[Plan, SitePlan], str]


@dataclass(frozen=True)
class RenderedSite:
    site: str
    # Each file's path, content and digest, by path.
    files: list[tuple[str, bytes, str]]
    # The site's deployed state as the lock writes it.
    state: str


# Below this many sites to render, starting workers (an interpreter each, importing aigrid and
# unpickling its share of the plan) costs more than it saves. On the 2-core machine, jobs 2
# against 1: 300 sites 4.5 s against 2.9 s, 1,000 sites 6.8 s against 7.9 s, 2,000 sites 11.1 s
# against 14.3 s (docs/performance.md, "Sites rendered in parallel").
PARALLEL_MIN_SITES = 800
# Sites per batch handed to a worker, at most; and batches in flight per worker, so that sites
# rendered faster than they are written do not pile up in memory.
BATCH = 25
IN_FLIGHT = 2


# The most workers `aigrid compile` starts by default: each holds an interpreter, aigrid and its
# share of the plan (166 MiB at 10,000 sites with two), the compile's own process holds more
# with more of them in flight, and it bounds the gain (it stages every file). Two were measured
# at 781 MiB in all for 10,000 sites, under the 1 GiB the compile is held to; more with --jobs
# (docs/performance.md, "Sites rendered in parallel").
DEFAULT_MAX_JOBS = 2


def default_jobs() -> int:
    """The CPUs this process may use (its affinity, and a cgroup's CPU quota, as in a container
    limited to fewer CPUs than its host has), at most DEFAULT_MAX_JOBS."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, _cgroup_cpus() or cpus, DEFAULT_MAX_JOBS))


def _cgroup_cpus(limit: Path = Path("/sys/fs/cgroup/cpu.max")) -> int | None:
    """The CPUs a cgroup v2 quota allows ("QUOTA PERIOD", rounded up), None without a quota."""
    try:
        quota, period = limit.read_text().split()[:2]
        return -(-int(quota) // int(period))
    except (OSError, ValueError):
        return None  # no cgroup v2 file, or "max": no quota


def site_files(plan: Plan, site: SitePlan) -> dict[str, bytes]:
    """One site's files, by path, as the plan renders them (its objects built once, for both
    the manifests and the Pulumi resources)."""
    objects = site_objects(plan, site.name)
    files = ansible.render_site(plan, site) | cluster.render_site(plan, site)
    files |= manifests.render_site(plan, site, objects)
    return files | verify.render_site(plan, site) | pulumi.render_site(plan, site, objects)


def _merge_stack_config(out: Path, plan: Plan, site: SitePlan, files: dict[str, bytes]) -> None:
    """The site's stack config of the previous output merged into the compiled one: the Pulumi
    CLI keeps the stack's secrets and salt there, and the user their own keys."""
    path = layout.stack_config(site.name)
    existing = out / path
    if not existing.is_file():
        return
    try:
        text = existing.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {existing} to keep its secrets: {exc}") from exc
    try:
        files[path] = pulumi.merge_stack_config(text, plan, site, str(existing)).encode()
    except pulumi.StackConfigError as exc:
        raise OutputError(str(exc)) from exc


def rendered(
    out: Path, plan: Plan, sites: Sequence[SitePlan], jobs: int, state: StateText
) -> Generator[RenderedSite, None, None]:
    """Each of `sites` rendered, in their order; by up to `jobs` worker processes when there are
    at least PARALLEL_MIN_SITES of them, here otherwise."""
    if workers_for(len(sites), jobs) == 0:
        for site in sites:
            yield _render(out, plan, site, state)
        return
    yield from _in_workers(out, plan, [site.name for site in sites], jobs, state)


def workers_for(sites: int, jobs: int) -> int:
    """The worker processes `rendered` starts for `sites` sites to render: none below
    PARALLEL_MIN_SITES or with one job, else one per job, at most one per batch."""
    if jobs < 2 or sites < PARALLEL_MIN_SITES:
        return 0
    return min(jobs, -(-sites // _batch_size(sites, jobs)))


def _batch_size(sites: int, jobs: int) -> int:
    # Batches small enough that every worker gets several: the last ones finish close together.
    return max(1, min(BATCH, sites // (jobs * 4)))


def _render(out: Path, plan: Plan, site: SitePlan, state: StateText) -> RenderedSite:
    """The site's files, its stack config merged into the previous output's, each with its
    digest, by path; and its deployed state for the lock."""
    files = site_files(plan, site)
    _merge_stack_config(out, plan, site, files)
    digested = [(relative, content, digest(content)) for relative, content in sorted(files.items())]
    return RenderedSite(site.name, digested, state(plan, site))


def _in_workers(
    out: Path, plan: Plan, names: list[str], jobs: int, state: StateText
) -> Iterator[RenderedSite]:
    size = _batch_size(len(names), jobs)
    batches = [names[i : i + size] for i in range(0, len(names), size)]
    jobs = workers_for(len(names), jobs)
    # Batch i goes to worker i % jobs, which is handed the plan with only its batches' sites: a
    # site's files are rendered from the grid-wide plan (every workload included) and that site
    # alone, and a worker then holds a share of the sites, not all of them.
    context = multiprocessing.get_context("spawn")
    workers = [
        ProcessPoolExecutor(
            1,
            mp_context=context,
            initializer=_start_worker,
            initargs=(_with_sites(plan, batches[k::jobs]), str(out), state),
        )
        for k in range(jobs)
    ]
    pending: deque[Future[list[RenderedSite]]] = deque()

    def hand_out(batch: int) -> None:
        pending.append(workers[batch % jobs].submit(_render_batch, batches[batch]))

    handed = min(len(batches), jobs * IN_FLIGHT)
    try:
        # The first batches start the workers.
        with _children_ignore_ctrl_c():
            for batch in range(handed):
                hand_out(batch)
        while pending:
            done = pending.popleft().result()
            if handed < len(batches):
                hand_out(handed)
                handed += 1
            yield from done
    except BrokenProcessPool as exc:
        raise OutputError(
            "a process rendering sites stopped before it finished (killed, out of memory, or started "
            f'by a script without an `if __name__ == "__main__":` guard): {exc}'
        ) from exc
    finally:
        # On an error or Ctrl-C, batches not started are dropped; running ones end on their own.
        for worker in workers:
            worker.shutdown(wait=True, cancel_futures=True)


def _with_sites(plan: Plan, batches: list[list[str]]) -> bytes:
    """The plan with only the sites of `batches`, pickled."""
    wanted = {name for batch in batches for name in batch}
    shared = plan.model_copy(update={"sites": [site for site in plan.sites if site.name in wanted]})
    return pickle.dumps(shared, pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True)
class _Worker:
    plan: Plan
    out: Path
    state: StateText


# Set once, when a worker process starts, before any batch.
_worker: _Worker | None = None


@contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started inside ignore SIGINT from their first instruction: an ignored signal
    stays ignored across exec, and Python then installs no handler of its own. (Ignored in
    `_start_worker` alone, a Ctrl-C during a worker's imports printed its traceback.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; workers then ignore it from _start_worker
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _start_worker(plan_pickled: bytes, out: str, state: StateText) -> None:
    global _worker  # one per worker process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker blocks reading its next batch, and would wait forever once the compile's process
    # is killed (SIGKILL, the OOM killer): it ends itself when its parent is gone.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    plan: Plan = pickle.loads(plan_pickled)  # the compile's own plan, not outside input
    _worker = _Worker(plan, Path(out), state)


def _exit_with(parent: int) -> None:
    multiprocessing.connection.wait([parent])
    os._exit(1)


def _render_batch(names: list[str]) -> list[RenderedSite]:
    worker = _worker
    assert worker is not None, "a batch before the worker started"
    return [_render(worker.out, worker.plan, _site(worker.plan, name), worker.state) for name in names]


def _site(plan: Plan, name: str) -> SitePlan:
    site = plan.site(name)
    assert site is not None, f"{name} is not in this worker's share of the plan"
    return site
