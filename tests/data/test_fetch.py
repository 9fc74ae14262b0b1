"""Fetching: served from a local HTTP server, so only the slow RecBole test needs a network."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from movierec.data import fetch as fetch_mod
from movierec.data import recbole_wheel
from movierec.data.fetch import Remote, fetch
from movierec.data.recbole_wheel import RECBOLE_FILES, RECBOLE_REQUIREMENT, PipDownloadError
from movierec.errors import FetchError
from movierec.home import Home
from tests.conftest import shared_dataset


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PAYLOAD = _zip(
    {
        "ml-test/ratings.csv": b"userId,movieId,rating,timestamp\n1,1,4.0,0\n",
        "ml-test/movies.csv": b"movieId,title,genres\n1,Toy Story (1995),Comedy\n",
    }
)


class Server:
    """Serves byte strings by path and counts the requests, to prove a cache hit."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.hits.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def register(
        self, monkeypatch: pytest.MonkeyPatch, name: str, body: bytes, **digests: str
    ) -> Remote:
        self.files[f"/{name}.zip"] = body
        if not digests:
            digests = {"sha256": hashlib.sha256(body).hexdigest()}
        remote = Remote(name, f"{self.base}/{name}.zip", **digests)
        monkeypatch.setitem(fetch_mod.REGISTRY, name, remote)
        return remote


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    monkeypatch.delenv("MOVIEREC_OFFLINE", raising=False)
    return Home(tmp_path / "home")


def _closed_port_url(name: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}.zip"


def test_download_verifies_extracts_and_caches(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD)
    folder = fetch("ml-test", home, progress=False)
    assert folder == home.downloads / "ml-test"
    assert sorted(p.name for p in folder.iterdir()) == ["movies.csv", "ratings.csv"]
    assert (home.downloads / "ml-test.zip").read_bytes() == PAYLOAD
    assert server.hits == ["/ml-test.zip"]

    assert fetch("ml-test", home, progress=False) == folder
    assert fetch("ml-test", home, progress=False, offline=True) == folder
    assert server.hits == ["/ml-test.zip"], "a verified cached zip must not touch the network"
    assert not [p for p in home.downloads.iterdir() if p.name.startswith(".")]


def test_cached_zip_reextracted_when_folder_is_gone(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD)
    folder = fetch("ml-test", home, progress=False)
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    assert (fetch("ml-test", home, progress=False) / "movies.csv").exists()
    assert len(server.hits) == 1


def test_progress_callback_sees_every_byte(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD)
    calls: list[tuple[int, int | None]] = []
    fetch("ml-test", home, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_md5_only_entry_is_verified(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD, md5=hashlib.md5(PAYLOAD).hexdigest())
    assert (fetch("ml-test", home, progress=False) / "ratings.csv").exists()


@pytest.mark.parametrize("digest", ["sha256", "md5"])
def test_checksum_mismatch_leaves_nothing(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch, digest: str
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD, **{digest: "0" * 64})
    with pytest.raises(FetchError, match="does not match its published checksum"):
        fetch("ml-test", home, progress=False)
    assert list(home.downloads.iterdir()) == []


def test_corrupt_cached_zip_is_replaced(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD)
    home.downloads.mkdir(parents=True)
    (home.downloads / "ml-test.zip").write_bytes(b"truncated")
    assert (fetch("ml-test", home, progress=False) / "ratings.csv").exists()
    assert (home.downloads / "ml-test.zip").read_bytes() == PAYLOAD


def test_unsafe_member_path_is_refused(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", _zip({"ml-test/../../escape.txt": b"x"}))
    with pytest.raises(FetchError, match="unsafe member path"):
        fetch("ml-test", home, progress=False)
    assert not (home.root / "escape.txt").exists()
    assert not (home.downloads / "ml-test").exists()


def test_unknown_name_lists_known_ones(home: Home) -> None:
    with pytest.raises(FetchError, match="unknown dataset 'ml-7m'") as info:
        fetch("ml-7m", home)
    for name in ("ml-100k", "ml-latest-small", "ml-1m", "ml-25m", "ml-32m", "ml-latest"):
        assert name in str(info.value)


def test_bad_timeout_is_rejected(home: Home) -> None:
    with pytest.raises(ValueError, match="timeout"):
        fetch("ml-100k", home, timeout=0)


def _unreachable_ml25m(monkeypatch: pytest.MonkeyPatch) -> Remote:
    remote = dataclasses.replace(fetch_mod.REGISTRY["ml-25m"], url=_closed_port_url("ml-25m"))
    monkeypatch.setitem(fetch_mod.REGISTRY, "ml-25m", remote)
    return remote


def test_unreachable_host_says_how_to_import(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = _unreachable_ml25m(monkeypatch)
    with pytest.raises(FetchError, match="movierec data import") as info:
        fetch("ml-25m", home, progress=False, timeout=5)
    assert remote.url in str(info.value)
    assert list(home.downloads.iterdir()) == []


@pytest.mark.bench
def test_bench_refused_connection_fails_at_once(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unreachable_ml25m(monkeypatch)
    started = time.perf_counter()
    with pytest.raises(FetchError):
        fetch("ml-25m", home, progress=False, timeout=5)
    assert time.perf_counter() - started < 5, "a refused connection must fail at once"


def test_http_error_is_a_fetch_error(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD)
    server.files.clear()
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch("ml-test", home, progress=False)


def test_offline_env_skips_grouplens(
    server: Server, home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.register(monkeypatch, "ml-test", PAYLOAD)
    monkeypatch.setenv("MOVIEREC_OFFLINE", "1")
    with pytest.raises(FetchError, match="offline mode"):
        fetch("ml-test", home, progress=False)
    assert server.hits == []


def test_ml100k_falls_back_to_recbole_when_grouplens_is_down(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = dataclasses.replace(fetch_mod.REGISTRY["ml-100k"], url=_closed_port_url("ml-100k"))
    monkeypatch.setitem(fetch_mod.REGISTRY, "ml-100k", remote)
    calls: list[Home] = []

    def fake_recover(home_: Home, **_: object) -> Path:
        calls.append(home_)
        return home_.downloads / "ml-100k-recbole"

    monkeypatch.setattr(fetch_mod, "recover_ml100k_from_recbole", fake_recover)
    assert fetch("ml-100k", home, progress=False) == home.downloads / "ml-100k-recbole"
    assert calls == [home]


def _no_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any pip run fail, as on a machine with no package index."""

    def no_pip(*_: object, **__: object) -> Path:
        raise PipDownloadError("`pip download recbole==1.2.1` failed (exit 1): boom")

    monkeypatch.setattr(recbole_wheel, "_pip_download", no_pip)


def _cached_recbole_copy(home: Home) -> Path:
    """The RecBole files already in downloads, as a previous fetch leaves them."""
    folder = home.downloads / "ml-100k-recbole"
    folder.mkdir(parents=True)
    for name in RECBOLE_FILES:
        shutil.copy(shared_dataset("ml-100k-recbole") / name, folder / name)
    return folder


def test_failed_fallback_names_both_causes(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_pip(monkeypatch)
    with pytest.raises(PipDownloadError, match="boom.*offline mode.*data import"):
        fetch("ml-100k", home, progress=False, offline=True)
    assert [p for p in home.downloads.iterdir()] == []


def test_verified_cached_recbole_copy_needs_no_pip_run(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _cached_recbole_copy(home)
    _no_pip(monkeypatch)
    assert fetch("ml-100k", home, progress=False, offline=True) == folder


@pytest.mark.bench
def test_bench_cached_recbole_copy_within_5s(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cached_recbole_copy(home)
    _no_pip(monkeypatch)
    started = time.perf_counter()
    assert fetch("ml-100k", home, progress=False, offline=True) == folder
    assert time.perf_counter() - started < 5, "a verified cached copy is only hashed"


@pytest.mark.slow
def test_ml100k_from_the_real_recbole_wheel(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        folder = fetch("ml-100k", home, progress=False, offline=True)
    except PipDownloadError as exc:
        pytest.skip(f"pip cannot fetch {RECBOLE_REQUIREMENT} from its index: {exc}")
    assert folder == home.downloads / "ml-100k-recbole"
    assert sorted(p.name for p in folder.iterdir()) == sorted(RECBOLE_FILES)
    for name, expected in RECBOLE_FILES.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == expected
    assert not [p for p in home.downloads.iterdir() if p.name.startswith(".")]

    _no_pip(monkeypatch)  # a verified cached copy needs no pip run
    assert fetch("ml-100k", home, progress=False, offline=True) == folder
