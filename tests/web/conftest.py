"""Browser tests of the web page against a real `movierec serve` on loopback.

Needs Debian's Chromium (/usr/bin/chromium), Playwright for Python and pytest-playwright
(never `playwright install`: it downloads browsers), and ../shared/data/ml-100k-recbole.
Each missing piece skips the tests with a reason.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_descriptions, shared_dataset

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STARTUP_S = 60.0


def _browser_available() -> None:
    """Skip unless Playwright, its pytest plugin and the system Chromium are all there."""
    for module in ("playwright", "pytest_playwright"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install playwright pytest-playwright")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: apt-get install -y --no-install-recommends chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """pytest-playwright's launch settings: Debian's Chromium, headless, nothing phoned home."""
    _browser_available()
    return {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str, timeout: float = 5.0) -> object:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@pytest.fixture(scope="session")
def web_home(tmp_path_factory, ml100k_descriptions) -> Path:
    """A home folder with ml-100k imported and ALS trained, built once per session; its
    description index is the session's (``ml100k_descriptions``)."""
    _browser_available()
    from movierec.data.sources import load_path
    from movierec.data.storage import save_dataset
    from movierec.engine.core import Engine
    from movierec.home import Home

    root = tmp_path_factory.mktemp("web-home")
    home = Home.resolve(root)
    save_dataset(load_path(shared_dataset("ml-100k-recbole"), "ml-100k"), home, "ml-100k")
    copy_descriptions(ml100k_descriptions, home.dataset_dir("ml-100k"))
    Engine.open(home, "ml-100k").train("als")
    return root


@pytest.fixture(scope="session")
def server_url(request, tmp_path_factory) -> Iterator[str]:
    """Base URL of a real `movierec serve` subprocess, killed after the session.

    ``MOVIEREC_WEB_URL`` points the tests at a server already running instead (development).
    """
    if os.environ.get("MOVIEREC_WEB_URL"):
        _browser_available()
        yield os.environ["MOVIEREC_WEB_URL"].rstrip("/")
        return
    web_home: Path = request.getfixturevalue("web_home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("web-server") / "server.log"
    env = {**os.environ, "MOVIEREC_HOME": str(web_home), "MOVIEREC_NO_PROGRESS": "1"}
    env.pop("MOVIEREC_DB", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "movierec",
                "serve",
                "--home",
                str(web_home),
                "--port",
                str(port),
                "--dataset",
                "ml-100k",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"movierec serve exited with {process.returncode}:\n"
                    f"{log_path.read_text(errors='replace')[-3000:]}"
                )
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                _get_json(f"{url}/healthz", timeout=2)
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"movierec serve did not answer /healthz within {STARTUP_S:.0f} s:\n"
                    f"{log_path.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.25)
        # The content model is built on its first use: build it now, not under a 5 s expect.
        started = time.monotonic()
        _get_json(f"{url}/movies/1/similar?by=hybrid&k=1", timeout=STARTUP_S)
        sys.stderr.write(f"web: content model warmed in {time.monotonic() - started:.1f} s\n")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
