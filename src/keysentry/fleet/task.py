"""The per-repository task: the one function every executor runs.

It takes a picklable :class:`TaskSpec`, clones or fetches the repository when it is a
URL, reads the state of its refs, and, unless the store already holds that state, runs
exactly ``keysentry history``'s pipeline on it. It never raises: a repository that
cannot be audited comes back with its reason. The findings it returns still carry
their raw keys (only in memory, for the driver's validation); the store never sees them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keysentry.errors import KeysentryError
from keysentry.fleet.targets import Target
from keysentry.models import Finding, Issue, scrub_secrets

if TYPE_CHECKING:
    from collections.abc import Callable

    from keysentry.pipeline import ScanRequest

OBJECT_COUNTERS = ("commits", "trees", "blobs", "tags")


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """What every repository's audit shares (the command line's options)."""

    clone_dir: Path
    config_path: Path | None = None
    rules: tuple[Path, ...] = ()
    include_placeholders: bool = False
    baseline: Path | None = None
    messages: bool = True
    timeout: float | None = None
    """Seconds per repository (clone, fetch and scan); None: no limit."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    target: Target
    settings: AuditSettings
    known_digest: str | None = None
    """The refs digest the store holds for this repository: the same digest again means
    nothing changed, and the scan is skipped."""


@dataclass(frozen=True, slots=True)
class RepoOutcome:
    """What one repository's audit produced."""

    name: str
    digest: str = ""
    failure: str = ""
    """Why the repository could not be audited; empty when it was."""
    unchanged: bool = False
    """Its refs matched the stored digest: not scanned again."""
    counters: dict[str, int] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    duration_s: float = 0.0

    @property
    def objects(self) -> int:
        return sum(self.counters.get(name, 0) for name in OBJECT_COUNTERS)


class _Expired(KeysentryError):
    """The repository's time (``--repo-timeout``) is up."""


_stages: Any = None
"""Where a worker process tells the driver what each repository is doing (a queue set by
the local executor's initializer); None elsewhere (Dask workers, tests)."""


def listen_to(queue: Any) -> None:
    global _stages
    _stages = queue


def _stage(name: str, what: str) -> None:
    if _stages is not None:
        with contextlib.suppress(Exception):  # the display is never worth failing for
            _stages.put_nowait((name, what))


def audit_repository(spec: TaskSpec) -> RepoOutcome:
    """Audit one repository; never raises.

    A failure is returned with the state of the repository's refs when they could be
    read (see :mod:`keysentry.fleet.state`), so that a resume does not retry a
    repository that fails for a reason of its own until it changes. Failures that say
    nothing about the repository keep no state and are retried by the next run: a clone
    or fetch that failed (the network, the server, credentials), ``--repo-timeout`` (the
    limit or the load may differ next time), an unexpected error of this program."""
    started = time.monotonic()
    name = spec.target.name
    seconds = spec.settings.timeout
    try:
        _stage(name, "starting")
        if seconds:
            return _isolated(spec, seconds, started)
        return _audit(spec, started)
    except _Expired:
        reason = f"timed out after {seconds:g} s (--repo-timeout)"
    except KeysentryError as exc:
        reason = str(exc)
    except Exception as exc:  # a task must come back: the fleet goes on without this one
        reason = f"{type(exc).__name__}: {exc}"
    return _failed(name, reason, "", started)


def _failed(name: str, reason: str, state: str, started: float) -> RepoOutcome:
    return RepoOutcome(
        name,
        digest=state,
        failure=scrub_secrets(reason),
        duration_s=round(time.monotonic() - started, 3),
    )


def _audit(spec: TaskSpec, started: float) -> RepoOutcome:
    from keysentry.fleet.state import refs_state

    target = spec.target
    if target.url is not None:
        from keysentry.fleet.clone import clone_or_fetch

        def cloning(stage: str, done: int, total: int | None) -> None:
            share = f" {100 * done // total}%" if total else ""
            _stage(target.name, f"cloning: {stage}{share}")

        repo = clone_or_fetch(target.url, spec.settings.clone_dir, cloning)
    else:
        repo = target.path
    # The same function on the same path as the driver's check, so that both agree.
    state = refs_state(repo)
    if state == spec.known_digest:
        return RepoOutcome(
            target.name, digest=state, unchanged=True,
            duration_s=round(time.monotonic() - started, 3),
        )  # fmt: skip
    try:
        return _scan(spec, repo, state, started)
    except KeysentryError as exc:  # the repository's own failure: kept with its state
        return _failed(target.name, str(exc), state, started)


def _scan(spec: TaskSpec, repo: Path, state: str, started: float) -> RepoOutcome:
    from keysentry import gitio
    from keysentry.pipeline import run_history
    from keysentry.sources.history import HistoryOptions

    name = spec.target.name
    if not repo.exists():
        raise KeysentryError(f"does not exist: {repo}")
    gitio.discover(repo)
    request = _request(repo, spec.settings)
    _stage(name, "scanning")
    result = run_history(request, repo, HistoryOptions(messages=spec.settings.messages))
    return RepoOutcome(
        name,
        digest=state,
        counters=dict(result.stats.counters),
        issues=result.stats.issues,
        notes=result.stats.notes,
        findings=result.findings,
        duration_s=round(time.monotonic() - started, 3),
    )


def _isolated(spec: TaskSpec, seconds: float, started: float) -> RepoOutcome:
    """The audit in a process of its own, killed with its git processes when the time is
    up (``--repo-timeout``).

    Why a process: the history pipeline scans on threads of its own and a Dask worker
    runs the task on a thread, and no thread can be interrupted. An alarm reaches only
    a main thread, which then still waits for the scanning threads to finish their
    queued work; a deadline checked in the pipeline's loops would have to reach every
    one of them and could still not stop a call in progress (git waiting on a silent
    server, a long search in C). A process group is stopped at once, whatever it does.

    The child is forked when this process has one thread (a local worker between tasks:
    a fork costs milliseconds and is safe there), else a fresh interpreter is started
    (a Dask worker's threads may hold locks a forked child would never see released);
    that costs an interpreter start per repository (about 0.1 s), only with a limit."""
    import os
    import pickle
    import signal

    inner = TaskSpec(spec.target, replace(spec.settings, timeout=None), spec.known_digest)
    deadline = started + seconds
    pid, fd, reap = _fork(inner) if threading.active_count() == 1 else _spawn(inner)
    try:
        data = _collect(fd, deadline)
    finally:
        os.close(fd)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # its git processes too; a no-op once it is done
        code = reap()
    if data is None:
        raise _Expired("timeout")
    if code != 0 or not data:
        raise KeysentryError(f"the audit process failed (exit status {code})")
    outcome = pickle.loads(data)  # written by our own child process, never by a repository
    if not isinstance(outcome, RepoOutcome):
        raise KeysentryError("the audit process returned no result")
    return outcome


_Child = tuple[int, int, "Callable[[], int]"]
"""A child process auditing a repository: its pid (and process group), the reading end
of the pipe its outcome comes through, and what waits for its exit code."""


def _fork(spec: TaskSpec) -> _Child:
    """A forked child auditing ``spec``, its outcome pickled to the pipe."""
    import os
    import pickle

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            os.close(read_fd)
            os.setpgid(0, 0)
            data = pickle.dumps(audit_repository(spec))
            with open(write_fd, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # both sides set it: whichever runs first
        os.setpgid(pid, pid)
    return pid, read_fd, lambda: os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _spawn(spec: TaskSpec) -> _Child:
    """A fresh interpreter auditing ``spec`` (``python -m keysentry.fleet.child``), its
    outcome pickled to stdout."""
    import os
    import pickle
    import subprocess
    import sys

    import keysentry

    env = dict(os.environ)
    # The child imports this very keysentry, whatever put it on this process's path.
    home = str(Path(keysentry.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (home, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "keysentry.fleet.child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: the git processes go with it
    )
    assert proc.stdin is not None and proc.stdout is not None
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write(pickle.dumps(spec))  # small: a target and the settings
    proc.stdin.close()
    fd = os.dup(proc.stdout.fileno())
    proc.stdout.close()
    return proc.pid, fd, proc.wait


def _collect(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes to ``fd`` until it closes it; None at the deadline."""
    import os
    import select

    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _request(repo: Path, settings: AuditSettings) -> ScanRequest:
    from keysentry.config import resolve_configs
    from keysentry.pipeline import ScanRequest, Scope
    from keysentry.rules import load_rules

    (tc,) = resolve_configs(settings.config_path, (str(repo),))
    config = tc.config
    rules = load_rules([*config.rules, *settings.rules])
    include = settings.include_placeholders or config.include_placeholders
    baseline = settings.baseline or config.baseline
    scope = Scope(config, rules, baseline, include, (tc,))
    return ScanRequest(
        command="audit",
        targets=(str(repo),),
        config=config,
        rules=rules,
        include_placeholders=include,
        baseline=baseline,
        scopes=(scope,),
    )
