"""Every wait, read and join in the test suite has a time limit.

A test that waits without one turns a hang of keysentry into a stalled CI run instead of
one failed test. pytest-timeout (``timeout`` in pyproject.toml) is the backstop for the
whole test; this check keeps each wait bounded on its own, so that a hang fails where
it happens, with a message that says what was awaited.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import conftest

TESTS = conftest.TESTS

_SUBPROCESS = {"run", "call", "check_call", "check_output"}
"""subprocess functions that wait for the process: each needs timeout=."""
_BLOCKING_METHODS = {"wait", "join", "communicate", "wait_for"}
"""Methods that block until something else happens (a process, a thread, a condition,
an event): each needs a timeout."""


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        keywords = {k.arg for k in node.keywords}
        owner = node.func.value
        where = f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}"
        if isinstance(owner, ast.Name) and owner.id == "subprocess" and name in _SUBPROCESS:
            if "timeout" not in keywords:
                found.append(where)
        elif name in _BLOCKING_METHODS:
            positional = len(node.args) - (1 if name == "wait_for" else 0)
            if positional < 1 and "timeout" not in keywords:
                found.append(where)
        elif isinstance(owner, ast.Name) and owner.id == "select" and name == "select":
            if len(node.args) < 4 and "timeout" not in keywords:
                found.append(where)
        elif name == "get" and not node.args and "timeout" not in keywords:
            found.append(where)  # a queue's get() without a limit
    return found


def test_every_wait_in_the_tests_has_a_time_limit() -> None:
    found = [v for path in sorted(TESTS.rglob("*.py")) for v in _violations(path)]
    if found:
        pytest.fail("waits without a time limit:\n" + "\n".join(found), pytrace=False)


@pytest.mark.parametrize(
    "source",
    [
        "subprocess.run(['true'])",
        "subprocess.check_output(['true'])",
        "proc.wait()",
        "proc.communicate()",
        "thread.join()",
        "cond.wait_for(lambda: done)",
        "select.select([r], [], [])",
        "queue.get()",
    ],
)
def test_the_check_sees_each_kind_of_unbounded_wait(source: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(source + "\n")
    assert len(_violations(sample)) == 1
    bounded = source[:-1] + (", timeout=5)" if not source.endswith("()") else "timeout=5)")
    sample.write_text(bounded + "\n")
    assert _violations(sample) == [], bounded


def test_ci_installs_every_program_the_suite_can_leave_out() -> None:
    """A test that needs a program is left out where it is missing, except under CI, and
    .ci/run installs each one, so CI runs them all."""
    from conftest import TOOLS

    script = (TESTS.parent / ".ci" / "run").read_text()
    listed = {pair.split(":")[0].rsplit("/", 1)[-1] for pair in script.split() if ":" in pair}
    assert set(TOOLS) <= listed, set(TOOLS) - listed
    assert 'export CI="${CI:-true}"' in script
