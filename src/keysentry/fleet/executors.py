"""Where the tasks run: worker processes on this machine, or a Dask cluster.

Both take the same picklable task specs and yield each :class:`RepoOutcome` as soon as
its repository is done, in completion order. Nothing here merges or validates: the
driver does, alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from keysentry.errors import UsageError
from keysentry.fleet.spec import RepoOutcome, TaskSpec
from keysentry.fleet.targets import Credentials
from keysentry.fleet.task import audit_repository, start_worker
from keysentry.models import scrub_secrets

if TYPE_CHECKING:
    from concurrent.futures import Future


def default_jobs() -> int:
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


Stage = Callable[[str, str], None]
"""Hears ``(repository, what it is doing)`` from the workers: cloning, scanning."""


def run_local(
    specs: Sequence[TaskSpec],
    jobs: int,
    on_stage: Stage | None = None,
    credentials: Credentials | None = None,
) -> Iterator[RepoOutcome]:
    """One repository per task on ``jobs`` worker processes; at most twice that many
    submitted at a time, so the driver holds a bounded window, not the whole fleet.

    The workers get the URLs' credentials once, in memory, when they start (never in a
    task), and die with this process (:mod:`keysentry.fleet.lifeline`)."""
    if not specs:
        return
    # Imported here: `keysentry audit` reads the number of CPUs from this module, and a
    # resume with nothing to do must not pay for multiprocessing.
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # forkserver: the driver may hold threads (the progress display); fork would copy them.
    context = multiprocessing.get_context("forkserver")
    _start_helpers_isolated()
    stages = context.SimpleQueue() if on_stage else None
    pending = iter(specs)
    window = 2 * jobs
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=start_worker,
        initargs=(stages, credentials or Credentials(), os.getpid()),
    ) as pool:
        running: dict[Future[RepoOutcome], TaskSpec] = {}
        for spec in pending:
            running[pool.submit(audit_repository, spec)] = spec
            if len(running) >= window:
                break
        while running:
            done, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            while stages is not None and on_stage is not None and not stages.empty():
                on_stage(*stages.get())
            for future in done:
                spec = running.pop(future)
                yield _outcome(future, spec)
                nxt = next(pending, None)
                if nxt is not None:
                    running[pool.submit(audit_repository, nxt)] = nxt


def _start_helpers_isolated() -> None:
    """Start multiprocessing's forkserver and resource tracker from ``/``.

    Both are Python processes started with ``-c``, whose module path begins with their
    working directory: started from the directory the audit runs in, a planted
    ``multiprocessing/`` there would run. (The workers get the driver's own module path,
    which has no such entry.)"""
    from multiprocessing import forkserver, resource_tracker

    try:
        here = os.getcwd()
    except OSError:
        here = None
    os.chdir("/")
    try:
        resource_tracker.ensure_running()
        forkserver.ensure_running()
    finally:
        if here is not None:
            os.chdir(here)


def _outcome(future: Future[RepoOutcome], spec: TaskSpec) -> RepoOutcome:
    try:
        return future.result()
    except Exception as exc:  # the worker process died (out of memory, a signal)
        return RepoOutcome(
            spec.target.name, failure=scrub_secrets(f"the worker process failed: {exc}")
        )


def run_dask(specs: Sequence[TaskSpec], address: str) -> Iterator[RepoOutcome]:
    """The same task function on a Dask distributed cluster (``keysentry[distributed]``).

    What travels: each task spec (the target's name, its path or URL without
    credentials, the settings, the stored state) goes to the scheduler and a worker;
    each outcome (redacted, with raw keys only under --validate or --show-secrets)
    comes back through them. No credential is sent: workers clone with their own
    (their git configuration, ssh keys)."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'keysentry[distributed]'") from None
    if not specs:
        return
    try:
        # How long to try: Dask's distributed.comm.timeouts.connect (30 s unless configured).
        client = Client(address)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        futures = client.map(audit_repository, list(specs), pure=False)
        names = {f.key: s.target.name for f, s in zip(futures, specs, strict=True)}
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            try:
                outcome: RepoOutcome = future.result()
            except Exception as exc:  # the worker died or the task could not be unpickled
                outcome = RepoOutcome(
                    names[future.key], failure=scrub_secrets(f"the Dask task failed: {exc}")
                )
            future.release()
            yield outcome
