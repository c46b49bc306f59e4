"""A Ctrl-C is never lost while keysentry waits on standard input.

Every command that reads standard input is started in a real process whose main thread
blocks SIGINT, beside a thread that does not: the kernel then delivers the terminal's
SIGINT to that other thread, and the main thread is not woken from its wait, which is
what happens to a signal that arrives just before a read(2) starts. The command must
still end at once with "interrupted" and exit code 130 (before keysentry.console.stdin, it
stayed in read(2) until its input ended, here: never).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keysentry.console.progress import CI_VARIABLES

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the wait")

_CHILD = """
import signal, sys, threading, time
threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # this thread only
from %(module)s import main
raise SystemExit(main(%(argv)r))
"""


def _waiting(pid: int) -> bool:
    """The main thread sleeps (in a read or a select) rather than runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "S"


def _interrupt_while_waiting(argv: list[str], cwd: Path, module: str = "keysentry.cli") -> None:
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    env["OPENROUTER_BASE_URL"] = "http://127.0.0.1:9"  # never reached: nothing is read yet
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", _CHILD % {"module": module, "argv": argv}],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,  # open, and never written: the command waits on it
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        settled = 0
        while settled < 10 and time.monotonic() < deadline:  # asleep for 10 looks in a row
            settled = settled + 1 if _waiting(proc.pid) else 0
            time.sleep(0.05)
        assert settled == 10, "the command never waited on standard input"
        proc.send_signal(signal.SIGINT)  # as the terminal does on Ctrl-C
        # Wait with standard input still open: its end would also end the wait.
        proc.wait(timeout=30)
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.decode().strip().endswith("keysentry: interrupted"), err
    assert not out


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "-"],
        ["check-key"],
        ["ci", "--pre-push", "origin"],
        ["audit", "--repos-file", "-"],
        ["baseline", "create", "--from-report", "-"],
        ["keys", "audit", "--report", "-"],
    ],
    ids=" ".join,
)
def test_ctrl_c_interrupts_a_command_waiting_on_stdin(argv: list[str], tmp_path: Path) -> None:
    _interrupt_while_waiting(argv, tmp_path)


def test_ctrl_c_interrupts_the_hook_waiting_on_stdin(tmp_path: Path) -> None:
    _interrupt_while_waiting(["-"], tmp_path, module="keysentry.hook")
