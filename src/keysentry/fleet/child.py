"""A helper process for ``--repo-timeout`` on a Dask worker (see :mod:`keysentry.fleet.isolate`):
specs in on stdin, outcomes out on stdout."""

from __future__ import annotations

import os


def main() -> None:
    from keysentry.fleet.isolate import serve

    # The protocol keeps the original stdin and stdout; fds 0 and 1 become /dev/null and
    # stderr, so that nothing printed, and no process started, can read or corrupt it.
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    serve(requests, replies)


if __name__ == "__main__":
    main()
