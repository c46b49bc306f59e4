"""Helpers for the fleet tests: a git:// server on loopback that never answers."""

from __future__ import annotations

import socket
import threading
import time

HOLD = 90.0
"""How long the silent server keeps a connection: far beyond the limit, so that a
timeout that does not work fails the test instead of hanging it forever."""


class SilentServer:
    """Accepts git:// connections, reads the request, never answers; records when the
    client hangs up (its git process was killed)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[float] = []
        self.closed: list[float] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(time.monotonic())
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        conn.settimeout(HOLD)
        try:
            while conn.recv(4096):
                pass
            self.closed.append(time.monotonic())
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
