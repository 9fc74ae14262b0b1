"""`movierec serve`: the HTTP API and the web page, with uvicorn."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from movierec.cli.common import DatasetOption, DbOption, HomeOption
from movierec.errors import MovieRecError

#: the default worker count's cap: each worker holds its own dataset and model in memory
MAX_DEFAULT_WORKERS = 4
#: thread pools of the numerical libraries, one thread each in a worker of several
BLAS_POOLS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def default_workers() -> int:
    """One worker per CPU core this process may use (the engine's work holds the GIL, so one
    process uses one core), at most :data:`MAX_DEFAULT_WORKERS`."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    db: DbOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Worker processes (default: one per usable CPU core, at most "
            f"{MAX_DEFAULT_WORKERS}). Each holds its own model and folds in, on its next "
            "read, the ratings the others stored; one at a time retrains, the others "
            "adopt its version. On Linux each listens on a socket of its own, so the "
            "kernel spreads connections over them. With several, BLAS runs one thread per "
            "worker unless OPENBLAS_NUM_THREADS/MKL_NUM_THREADS/OMP_NUM_THREADS say otherwise.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    dataset: DatasetOption = "ml-100k",
    home: HomeOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the web page at /.

    Settings not given here come from MOVIEREC_* variables (MOVIEREC_ADMIN_KEY,
    MOVIEREC_RETRAIN_AFTER_RATINGS, MOVIEREC_RETRAIN_AFTER_SECONDS, MOVIEREC_ANSWER_CACHE: the
    recommendation answers each worker keeps until a rating or a retrain changes them, 4096
    by default, 0 for none). uvicorn uses uvloop and
    httptools when installed (the `serve` extra, which `make install` adds).
    """
    import uvicorn

    from movierec.api import Settings, create_app
    from movierec.api.workers import run_workers, spreads_connections

    settings = Settings.from_env(home=home, dataset=dataset, db=db)
    if workers is None:
        workers = default_workers()
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    # Workers already use every core: a request's small matrix products on several BLAS threads
    # each only make the pools of the workers fight (at 1M ratings one worker's reasons took
    # 3.0 ms with two OpenBLAS threads, 1.1 ms with one). Variables the user set are kept.
    for pool in BLAS_POOLS:
        os.environ.setdefault(pool, "1")
    # Worker processes build their own app from the environment: pass the settings on.
    for name, value in (
        ("HOME", settings.home),
        ("DATASET", settings.dataset),
        ("DB", settings.db),
    ):
        if value is not None:
            os.environ[f"MOVIEREC_{name}"] = str(value)
    app = "movierec.api.app:create_app"  # each worker builds its own from the environment
    options: dict[str, Any] = {"factory": True, "host": host, "port": port, "workers": workers}
    if not spreads_connections():
        uvicorn.run(app, log_level=log_level, **options)
        return
    # uvicorn's workers share one socket, and the first awake takes every waiting connection;
    # a socket per worker lets the kernel spread them (movierec.api.workers)
    config = uvicorn.Config(app, log_level=log_level, **options)
    try:
        status = run_workers(config, workers)
    except OSError as exc:
        raise MovieRecError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    if status:
        raise typer.Exit(status)
