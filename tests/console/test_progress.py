"""The progress line: only for a person at a terminal; correct figures; cleared at the end."""

from __future__ import annotations

import io
import re
import sys
import threading

import pytest

from keysentry.cli import main
from keysentry.console import progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in progress.CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_wanted_only_on_a_terminal_outside_ci(no_ci) -> None:
    assert progress.wanted(False, FakeTTY(), {})
    assert not progress.wanted(True, FakeTTY(), {})  # --quiet
    assert not progress.wanted(False, io.StringIO(), {})  # a pipe or file
    assert not progress.wanted(False, FakeTTY(), {"TERM": "dumb"})
    for name in progress.CI_VARIABLES:
        assert not progress.wanted(False, FakeTTY(), {name: "true"}), name
    assert progress.wanted(False, FakeTTY(), {"CI": ""})  # set but empty is not CI


def test_line_figures_rate_and_eta() -> None:
    now = [100.0]
    bar = progress.TerminalProgress("history", FakeTTY(), clock=lambda: now[0])
    bar.advance(objects=10, bytes=3 * 2**20)
    now[0] = 102.0
    line = bar.line(now[0])
    assert line == "history: 10 objects, 3.0 MiB, 1.5 MiB/s"  # no totals, no ETA
    bar.set_total(objects=40, bytes=12 * 2**20)
    assert bar.line(now[0]) == "history: 10/40 objects, 3.0 MiB/12.0 MiB, 1.5 MiB/s, ETA 0:06"
    bar.set_total(objects=40)
    assert bar.line(now[0]).endswith("ETA 0:06")  # from the object count alone
    assert progress.format_seconds(3725) == "1:02:05"


def test_drawing_is_throttled_and_cleared() -> None:
    now = [0.0]
    stream = FakeTTY()
    bar = progress.TerminalProgress("scan", stream, clock=lambda: now[0])
    for _ in range(50):
        bar.advance(objects=1, bytes=10)  # same instant: nothing drawn
    assert stream.getvalue() == ""
    now[0] = 0.5
    bar.advance(objects=1, bytes=10)
    drawn = stream.getvalue()
    assert _screen(drawn.encode())[0].startswith("scan: 51 objects, 510 B")
    assert "\n" not in drawn
    bar.close()
    assert _screen(stream.getvalue().encode()) == [""]  # the line is erased, no newline left


def test_null_progress_writes_nothing() -> None:
    stream = FakeTTY()
    with progress.bar(False, "x", stream) as bar:
        bar.set_total(objects=1)
        bar.advance(objects=1, bytes=1)
    assert isinstance(bar, progress.NullProgress) and stream.getvalue() == ""


def test_advance_is_thread_safe() -> None:
    bar = progress.TerminalProgress("x", FakeTTY(), clock=lambda: 0.0)

    def work() -> None:
        for _ in range(5000):
            bar.advance(objects=1, bytes=3)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    assert (bar.objects, bar.bytes) == (20000, 60000)


def _scan_with_stderr(monkeypatch, tmp_path, stream, *args: str) -> str:
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)  # draw on every file
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text("nothing here\n" * 100)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stderr", stream)
    assert main(["scan", ".", *args]) == 0
    return stream.getvalue()


def test_scan_shows_progress_on_a_terminal(no_ci, monkeypatch, tmp_path) -> None:
    err = _scan_with_stderr(monkeypatch, tmp_path, FakeTTY())
    assert "keysentry scan: " in err and " objects, " in err and "/s" in err
    screen = _screen(err.encode())
    assert screen[0].startswith("keysentry scan: scanned 5 input(s)")  # over the cleared line


@pytest.mark.parametrize("case", ["ci", "quiet", "pipe"])
def test_no_progress_in_ci_quiet_or_pipes(no_ci, monkeypatch, tmp_path, case) -> None:
    if case == "ci":
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
    stream = io.StringIO() if case == "pipe" else FakeTTY()
    err = _scan_with_stderr(monkeypatch, tmp_path, stream, *(["-q"] if case == "quiet" else []))
    assert "\r" not in err and "objects" not in err


def test_history_audit_sets_totals_for_an_eta(repo, key, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import git
    from keysentry.pipeline import make_scanner
    from keysentry.sources.history import HistoryOptions, collect_history

    (repo / "a.txt").write_text(f"k={key}\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "-qm", "one")
    totals: list[tuple[int | None, int | None]] = []
    real = progress.TerminalProgress.set_total

    def spy(
        self: progress.TerminalProgress, objects: int | None = None, bytes: int | None = None
    ) -> None:
        totals.append((objects, bytes))
        real(self, objects, bytes)

    monkeypatch.setattr(progress.TerminalProgress, "set_total", spy)
    monkeypatch.setattr(sys, "stderr", FakeTTY())
    from keysentry.config import Config
    from keysentry.detect.rules import load_rules
    from keysentry.pipeline import ScanRequest

    request = ScanRequest("history", (str(repo),), Config(), load_rules())
    collect_history(make_scanner(request), repo, HistoryOptions(), show_progress=True)
    # One blob of len("k=" + key + "\n") bytes, one tree (its names are read), one commit:
    # the totals the ETA needs.
    assert totals == [(3, len(key) + 3)]


def test_ci_is_one_of_the_ci_variables(no_ci) -> None:
    # Most CI services set CI=true, several (Woodpecker, Semaphore, ...) nothing else.
    assert not progress.wanted(False, FakeTTY(), {"CI": "true"})
    assert not progress.wanted(False, FakeTTY(), {"CI": "1", "TERM": "xterm"})


_CSI = re.compile(r"\x1b\[\??([0-9;]*)([A-Za-z])")


def _screen(output: bytes) -> list[str]:
    """What a terminal shows after ``output``: carriage returns, newlines and the erase-line
    sequences that a progress line uses, applied to a grid of lines."""
    lines, row, col = [""], 0, 0
    i = 0
    text = output.decode("utf-8", "replace")
    while i < len(text):
        ch = text[i]
        csi = _CSI.match(text, i)
        if csi:  # erase-line is applied; cursor show/hide and colours change nothing here
            if csi.group(2) == "K":
                lines[row] = lines[row][: 0 if csi.group(1) == "2" else col]
            elif csi.group(2) == "A":  # cursor up
                row = max(0, row - int(csi.group(1) or 1))
            i = csi.end()
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + ch + line[col + 1 :]
            col += 1
        i += 1
    shown = [line.rstrip() for line in lines]
    while len(shown) > 1 and not shown[-1]:
        shown.pop()  # the rows below the cursor that nothing was written on
    return shown


def test_ctrl_c_clears_the_line_and_exits_130(tmp_path) -> None:
    """A real process on a pseudo-terminal, interrupted while the progress line shows."""
    import os
    import pty
    import select
    import signal
    import subprocess

    for i in range(64):  # one batch of files, then standard input, which never ends
        (tmp_path / f"f{i}.txt").write_text("nothing here\n")
    code = (
        "from keysentry.console import progress; progress.REDRAW_S = 0.0\n"
        "from keysentry.cli import main; raise SystemExit(main(['scan', '.', '-']))"
    )
    env = {k: v for k, v in os.environ.items() if k not in progress.CI_VARIABLES}
    env["TERM"] = "xterm"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = b""

    def read() -> bool:
        nonlocal seen
        ready, _, _ = select.select([master], [], [], 60)
        try:
            chunk = os.read(master, 4096) if ready else b""
        except OSError:  # EIO: the process closed the terminal
            chunk = b""
        seen += chunk
        return bool(chunk)

    try:
        while b"64 objects" not in seen and read():
            pass
        assert b"keysentry scan: 64 objects" in seen, seen
        proc.send_signal(signal.SIGINT)  # as the terminal does on Ctrl-C
        while read():
            pass
        assert proc.wait(timeout=300) == 130
    finally:
        proc.kill()
        proc.wait(timeout=300)
        os.close(master)
    screen = [line for line in _screen(seen) if line]
    assert screen == ["keysentry: interrupted"], seen


def test_the_line_is_cleared_when_interrupted_and_stays_cleared(monkeypatch) -> None:
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)  # draw on every call
    stream = FakeTTY()
    with pytest.raises(KeyboardInterrupt), progress.bar(True, "scan", stream) as bar:
        bar.advance(objects=1, bytes=1)
        assert "scan: 1 objects" in stream.getvalue()
        raise KeyboardInterrupt
    assert _screen(stream.getvalue().encode()) == [""]
    bar.advance(objects=1, bytes=1)  # a worker thread still running: it draws no more
    assert _screen(stream.getvalue().encode()) == [""]


def test_scan_of_one_large_file_shows_progress_while_reading(no_ci, monkeypatch, tmp_path) -> None:
    # One file larger than the scanner's chunk: the line moves before the file is done.
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)
    (tmp_path / "big.log").write_bytes(b"nothing here\n" * (3 * 2**20))
    monkeypatch.chdir(tmp_path)
    stream = FakeTTY()
    monkeypatch.setattr(sys, "stderr", stream)
    assert main(["scan", "big.log"]) == 0
    assert "keysentry scan: 0 objects, " in stream.getvalue()
