"""A helper process for ``--repo-timeout`` on a Dask worker (see :mod:`keysentry.fleet.isolate`):
specs in on stdin, outcomes out on stdout."""

from __future__ import annotations

import os


def main() -> None:
    from keysentry.fleet import lifeline
    from keysentry.fleet.isolate import PARENT
    from keysentry.fleet.task import serve_helper

    # It leads its own session (see isolate._spawn): its git processes go with it.
    lifeline.die_with(int(os.environ.pop(PARENT, "") or os.getppid()), group=True)

    # The protocol keeps the original stdin and stdout; fds 0 and 1 become /dev/null and
    # stderr, so that nothing printed, and no process started, can read or corrupt it.
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    serve_helper(requests, replies)


if __name__ == "__main__":
    main()
