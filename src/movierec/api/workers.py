"""Several worker processes that share the port evenly: each listens on a socket of its own.

uvicorn's ``--workers`` share one listening socket, and whichever worker wakes first accepts
every connection waiting, so keep-alive clients that connect together often all land on one
worker while the other idles. On ml-100k (two workers, 8 connections, every answer computed
afresh) all 8 went to one worker in 3 runs of 5: 250–300 req/s, against 585–750 when split.
Here each worker binds its own socket with ``SO_REUSEPORT`` and the kernel spreads new
connections over the workers by their addresses (5 runs: 5/3, 3/5, 2/6, 2/6, 4/4; 663–890
req/s).

The parent binds the port first, with the same option, and never listens on it: a port
already taken fails there, before any worker starts, and a program without the option cannot
take it while the service runs. A lock file keeps a second ``movierec serve`` from joining the
same port's group. The parent restarts a worker that dies, stops every worker on SIGINT or
SIGTERM, and stops them all if one fails to start. Linux only (elsewhere ``SO_REUSEPORT``
does not spread connections): :func:`spreads_connections` says whether it applies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger(__name__)

#: seconds a worker has to stop after SIGTERM before it is killed
STOP_GRACE_S = 15.0


def spreads_connections() -> bool:
    """Whether this platform spreads connections over sockets bound with ``SO_REUSEPORT``."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bound_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, not yet listening.

    Raises:
        OSError: the port is taken (by a program that did not set the option, or this
            service's claim when another process tries without it).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def port_lock(host: str, port: int) -> Iterator[None]:
    """Held while this service owns ``host:port``; a second holder fails at once.

    Raises:
        OSError: another `movierec serve` holds the port (errno EADDRINUSE).
    """
    path = Path(tempfile.gettempdir()) / f"movierec-serve-{host.replace(':', '_')}-{port}.lock"
    # read-only: a lock file another user left behind (mode 0644) still opens and locks
    handle = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(
                errno.EADDRINUSE, f"{host}:{port} is already served by another `movierec serve`"
            ) from None
        yield
    finally:
        os.close(handle)  # closing lets the lock go


def _worker(config: uvicorn.Config) -> None:  # pragma: no cover - runs in a child process
    """One worker: its own socket on the shared port, then uvicorn's server on it."""
    config.configure_logging()
    try:
        sock = bound_socket(config.host, config.port)
    except OSError as exc:
        log.error("worker could not bind %s:%d: %s", config.host, config.port, exc)
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(config: uvicorn.Config, workers: int) -> int:
    """Serve ``config`` (its app an import string) from ``workers`` processes until SIGINT or
    SIGTERM; returns the exit status (:data:`~uvicorn.config.STARTUP_FAILURE` when a worker
    could not start).

    Raises:
        OSError: the port is taken, or another `movierec serve` serves it.
    """
    with port_lock(config.host, config.port), bound_socket(config.host, config.port):
        context = multiprocessing.get_context("spawn")
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        processes = [context.Process(target=_worker, args=(config,)) for _ in range(workers)]
        status = 0
        try:
            for process in processes:
                process.start()
            log.info("started %d workers, each on its own socket", workers)
            while not stop.wait(0.5):
                for i, process in enumerate(processes):
                    if process.is_alive() or stop.is_set():  # Ctrl-C reaches the workers too
                        continue
                    if process.exitcode == STARTUP_FAILURE:
                        log.error("a worker failed to start: stopping the service")
                        status = STARTUP_FAILURE
                        stop.set()
                        break
                    log.warning(
                        "worker %s exited (%s): starting another", process.pid, process.exitcode
                    )
                    processes[i] = context.Process(target=_worker, args=(config,))
                    processes[i].start()
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join(STOP_GRACE_S)
                if process.is_alive():
                    process.kill()
                    process.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status
