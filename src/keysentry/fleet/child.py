"""One repository's audit in a process of its own (see ``task._in_child``): the pickled
:class:`~keysentry.fleet.task.TaskSpec` on stdin, the pickled outcome on stdout."""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from keysentry.fleet.task import audit_repository

    spec = pickle.load(sys.stdin.buffer)  # from the task that started this process
    result = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may corrupt the result
    outcome = audit_repository(spec)
    result.write(pickle.dumps(outcome))
    result.flush()


if __name__ == "__main__":
    main()
