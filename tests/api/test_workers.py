"""Worker processes on sockets of their own: connections opened together reach every worker,
a taken port fails clearly, and stopping the parent stops the workers."""

from __future__ import annotations

import errno
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from movierec.api.workers import bound_socket, port_lock, spreads_connections

pytestmark = pytest.mark.skipif(not spreads_connections(), reason="SO_REUSEPORT spreads on Linux")

STARTUP_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_workers_share_the_port_and_a_plain_socket_cannot_take_it():
    port = free_port()
    with bound_socket("127.0.0.1", port), bound_socket("127.0.0.1", port):
        with socket.socket() as plain, pytest.raises(OSError) as caught:
            plain.bind(("127.0.0.1", port))
        assert caught.value.errno == errno.EADDRINUSE
    with socket.socket() as plain:  # and a port a plain socket holds is refused to the workers
        plain.bind(("127.0.0.1", port))
        with pytest.raises(OSError):
            bound_socket("127.0.0.1", port)


def test_a_second_service_on_the_port_is_refused():
    port = free_port()
    with (
        port_lock("127.0.0.1", port),
        pytest.raises(OSError, match="already served by another"),
        port_lock("127.0.0.1", port),
    ):
        pass
    with port_lock("127.0.0.1", port):  # released on exit
        pass


def serve(home: Path, db: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "MOVIEREC_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "movierec", "serve", "--home", str(home), "--dataset"]
    command += ["ml-100k", "--db", str(db), "--port", str(port), "--workers", "2"]
    command += ["--log-level", "warning"]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def worker_of(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    assert response.status == 200
    return int(json.loads(response.read())["worker"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_connections_opened_together_reach_both_workers(api_home, tmp_path):
    port = free_port()
    server = serve(api_home.root, tmp_path / "ratings.db", port)
    try:
        seen: set[int] = set()
        deadline = time.monotonic() + STARTUP_S
        while len(seen) < 2:  # both workers warm and listening
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, f"workers answering: {seen}"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                seen.add(worker_of(connection))
                connection.close()
            except OSError:
                time.sleep(0.2)
        # 16 keep-alive connections, all open before any request: one socket shared by the
        # workers gave most of them to whichever woke first
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(16)]
        for connection in connections:
            connection.connect()
        counts = Counter(worker_of(connection) for connection in connections)
        assert set(counts) == seen, counts  # every worker took some (all on one: p = 2^-15)
        for connection in connections:
            connection.close()

        second = serve(api_home.root, tmp_path / "other.db", port)  # the same port again
        _, stderr = second.communicate(timeout=60)
        assert second.returncode == 1 and "already served by another" in stderr, stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert server.returncode == 0
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in seen), "a worker outlived the service"
