"""A progress line on stderr for long scans: objects, bytes, rate and (when totals are known) ETA.

Shown only on a terminal: never in pipes, files, CI logs or with ``--quiet``; drawn by
rich, which is imported only then. Sources
call ``advance`` from any thread; drawing is throttled, so the hot path pays a lock
and two additions per object.

    with progress.bar(enabled, label="history") as bar:
        bar.set_total(objects=n, bytes=size)   # when known: enables the ETA
        bar.advance(objects=1, bytes=len(data))
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, Protocol, TextIO

from keysentry.console.wording import human_bytes

CI_VARIABLES = (
    "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TRAVIS", "JENKINS_URL",
    "TF_BUILD", "TEAMCITY_VERSION", "BITBUCKET_BUILD_NUMBER", "DRONE", "APPVEYOR",
    "CODEBUILD_BUILD_ID",
)  # fmt: skip
REDRAW_S = 0.1


class Progress(Protocol):
    def advance(self, objects: int = 0, bytes: int = 0) -> None: ...

    def set_total(self, objects: int | None = None, bytes: int | None = None) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    """What every scan gets when no bar is wanted: does nothing, costs nothing."""

    def advance(self, objects: int = 0, bytes: int = 0) -> None:
        pass

    def set_total(self, objects: int | None = None, bytes: int | None = None) -> None:
        pass

    def close(self) -> None:
        pass


def wanted(
    quiet: bool, stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """A bar only for a person watching a terminal: not quiet, a TTY, not CI, not TERM=dumb."""
    env = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    if quiet or env.get("TERM") == "dumb" or any(env.get(name) for name in CI_VARIABLES):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class TerminalProgress:
    def __init__(
        self, label: str, stream: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label = label
        self.stream = stream
        self.clock = clock
        self.objects = 0
        self.bytes = 0
        self.total_objects: int | None = None
        self.total_bytes: int | None = None
        self._lock = threading.Lock()
        self._started = clock()
        self._drawn_at = self._started
        self._live: Any = None
        self._closed = False

    def set_total(self, objects: int | None = None, bytes: int | None = None) -> None:
        with self._lock:
            self.total_objects = objects
            self.total_bytes = bytes

    def advance(self, objects: int = 0, bytes: int = 0) -> None:
        with self._lock:
            self.objects += objects
            self.bytes += bytes
            now = self.clock()
            if self._closed or now - self._drawn_at < REDRAW_S:
                # Closed: a worker thread still finishing after Ctrl-C must not draw the
                # line again under the "interrupted" message.
                return
            self._drawn_at = now
            self._draw(self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-6)
        rate = self.bytes / elapsed
        text = f"{self.label}: {self.objects:,}"
        if self.total_objects:
            text += f"/{self.total_objects:,}"
        text += f" objects, {human_bytes(self.bytes)}"
        if self.total_bytes:
            text += f"/{human_bytes(self.total_bytes)}"
        text += f", {human_bytes(rate)}/s"
        eta = self._eta(elapsed)
        if eta is not None:
            text += f", ETA {format_seconds(eta)}"
        return text

    def _eta(self, elapsed: float) -> float | None:
        if self.total_bytes and self.bytes:
            return max(self.total_bytes - self.bytes, 0) * elapsed / self.bytes
        if self.total_objects and self.objects:
            return max(self.total_objects - self.objects, 0) * elapsed / self.objects
        return None

    def _draw(self, text: str) -> None:
        """Hand the line to rich (imported here: only when a terminal is attached), which
        owns every terminal control sequence."""
        try:
            if self._live is None:
                from rich.console import Console
                from rich.live import Live

                # A terminal that reports no size (a fresh pseudo-terminal) would get a
                # zero-width line: fall back to 100 columns.
                width = shutil.get_terminal_size((100, 24)).columns
                console = Console(
                    file=self.stream, force_terminal=True, highlight=False, width=width
                )
                self._live = Live(console=console, auto_refresh=False, transient=True)
                self._live.start()
            self._live.update(_text(text), refresh=True)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._live is not None:
                # transient: rich erases the whole line (also the "^C" a terminal echoes).
                with suppress(OSError, ValueError):
                    self._live.stop()
                self._live = None


def _text(line: str) -> Any:
    from rich.text import Text

    return Text(line, no_wrap=True, overflow="crop")


@contextmanager
def bar(enabled: bool, label: str = "scanning", stream: TextIO | None = None) -> Iterator[Progress]:
    """A TerminalProgress when enabled, else a NullProgress; the line is cleared at the
    end, however it comes (Ctrl-C included), and never drawn again."""
    progress: Progress = (
        TerminalProgress(label, stream or sys.stderr) if enabled else NullProgress()
    )
    try:
        yield progress
    finally:
        progress.close()


def format_seconds(seconds: float) -> str:
    s = int(seconds + 0.5)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
