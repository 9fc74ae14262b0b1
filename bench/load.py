"""Load benchmark: time and peak memory of every way data gets into movierec.

Run by hand (minutes): ``.venv/bin/python bench/load.py [--skip-big]``.

* each real dataset in ``../shared/data`` through :func:`movierec.data.sources.load_path`
  (formats whose loader is not written yet show as n/a);
* the synthetic generator at MovieLens latest's shape (33.8M ratings), then that dataset
  written as MovieLens CSV and read back through ``load_path``, and stored as Parquet and read
  back through ``load_dataset``.

Every measurement runs in a fresh Python process, so its peak RSS is that step's alone
(interpreter and imports included; the baseline after imports is shown beside it). Results go
to ``bench/results/load.json``; the big CSV lives in a temporary folder deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MOVIEREC_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results" / "load.json"
TIMEOUT_S = 900


# --- worker side: one measurement in a fresh process --------------------------------------------


def _rss_mb() -> float:
    """Current resident set size (from /proc, so psutil is not needed)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _shape(dataset: Any) -> dict[str, Any]:
    ratings = dataset.ratings
    return {
        "ratings": len(ratings),
        "movies": len(dataset.catalog),
        "users": int(ratings["user_id"].nunique()) if len(ratings) else 0,
    }


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)


def worker(task: dict[str, Any]) -> dict[str, Any]:
    """Run one task; returns what the parent records (never raises for a missing loader)."""
    from movierec.data.sources import load_path
    from movierec.data.storage import load_dataset, save_dataset
    from movierec.data.synthetic import generate, write_movielens_csv
    from movierec.errors import DataFormatError
    from movierec.home import Home

    base = _rss_mb()
    kind = task["kind"]
    out: dict[str, Any] = {"baseline_rss_mb": round(base, 1)}
    started = time.perf_counter()
    if kind == "load_path":
        try:
            dataset = load_path(task["path"])
        except NotImplementedError as exc:  # the format's loader is still being written
            return {"status": "n/a", "error": f"loader not written yet {exc}".strip()}
        except DataFormatError as exc:
            status = "n/a" if "unknown dataset format" in str(exc) else "error"
            return {"status": status, "error": str(exc)[:300]}
        out.update(_shape(dataset), format=dataset.source_format)
    elif kind == "load_parquet":
        dataset = load_dataset(Home(Path(task["home"])), task["name"])
        out.update(_shape(dataset))
    elif kind == "generate":
        warm = time.perf_counter()
        generate(50, 40, 500)  # compile or load the numba kernels, outside the timing
        out["numba_warmup_s"] = round(time.perf_counter() - warm, 2)
        base = _rss_mb()
        out["baseline_rss_mb"] = round(base, 1)
        started = time.perf_counter()
        dataset = generate(task["users"], task["movies"], task["ratings"], seed=0)
        out.update(_shape(dataset))
        out["seconds"] = round(time.perf_counter() - started, 2)
        out["peak_rss_mb"] = round(_peak_mb(), 1)  # nothing else has run: this is generation's
        folder = Path(task["csv"])
        step = time.perf_counter()
        write_movielens_csv(dataset, folder)
        out["csv_write_s"] = round(time.perf_counter() - step, 2)
        out["csv_mb"] = _size_mb(folder)
        step = time.perf_counter()
        stored = save_dataset(dataset, Home(Path(task["home"])), task["name"])
        out["parquet_save_s"] = round(time.perf_counter() - step, 2)
        out["parquet_mb"] = _size_mb(stored)
        out["peak_rss_after_writes_mb"] = round(_peak_mb(), 1)
        out["status"] = "ok"
        return out
    else:
        raise ValueError(f"unknown task {kind!r}")
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["peak_rss_mb"] = round(_peak_mb(), 1)
    out["status"] = "ok"
    return out


# --- parent side ---------------------------------------------------------------------------------


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run a task in a fresh interpreter; a crash or timeout becomes an "error" row."""
    command = [sys.executable, __file__, "--worker", json.dumps(task)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {TIMEOUT_S} s"}
    wall = round(time.perf_counter() - started, 2)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {
            "status": "error",
            "error": f"exit {done.returncode}: {tail[0][:300]}",
            "process_s": wall,
        }
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def shared_datasets(folders: str) -> Iterator[Any]:
    """Each comma-separated folder of ../shared/data, loaded and described in one line;
    a missing one is skipped with a note (the benches run where the data is)."""
    sys.path.insert(0, str(REPO / "src"))
    from movierec.data.sources import load_path

    for folder in folders.split(","):
        path = SHARED_DATA / folder
        if not path.is_dir():
            print(f"{folder}: not found under {SHARED_DATA}; skipped")
            continue
        data = load_path(path)
        print(
            f"{data.name}: {len(data.ratings):,} ratings, "
            f"{data.ratings['user_id'].nunique():,} users, {len(data.catalog):,} movies"
        )
        yield data


def write_results(path: Path, document: dict[str, Any]) -> None:
    """Write a bench's JSON document (its folder made if needed) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    print(f"\nwrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def machine() -> dict[str, Any]:
    import numba
    import numpy
    import pandas
    import pyarrow

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "platform": platform.platform(),
    }


def real_datasets(root: Path) -> list[dict[str, Any]]:
    rows = []
    if not root.is_dir():
        print(f"real data not available: {root} is absent", file=sys.stderr)
        return rows
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        print(f"loading {folder.name} …", file=sys.stderr, flush=True)
        result = run_task({"kind": "load_path", "path": str(folder)})
        rows.append(
            {
                "step": f"load {folder.name}",
                "via": "load_path",
                "disk_mb": _size_mb(folder),
                **result,
            }
        )
    return rows


def synthetic_rows(n_ratings: int) -> list[dict[str, Any]]:
    from movierec.data import synthetic

    scale = n_ratings / synthetic.DEFAULT_RATINGS
    shape = {
        "users": max(2, round(synthetic.DEFAULT_USERS * scale)),
        "movies": max(2, round(synthetic.DEFAULT_MOVIES * scale)),
        "ratings": n_ratings,
    }
    label = f"synthetic {n_ratings / 1e6:.1f}M"
    scratch = Path(tempfile.mkdtemp(prefix="movierec-bench-"))
    try:
        csv = scratch / "synthetic-csv"
        home = scratch / "home"
        print(f"generating {label} and writing CSV + Parquet …", file=sys.stderr, flush=True)
        made = run_task(
            {"kind": "generate", **shape, "csv": str(csv), "home": str(home), "name": "synthetic"}
        )
        rows = [{"step": f"generate {label}", "via": "synthetic.generate", **made}]
        if made.get("status") != "ok":
            return rows
        rows.append(
            {
                "step": f"write CSV {label}",
                "via": "write_movielens_csv",
                "status": "ok",
                "seconds": made["csv_write_s"],
                "disk_mb": made["csv_mb"],
            }
        )
        rows.append(
            {
                "step": f"save Parquet {label}",
                "via": "save_dataset",
                "status": "ok",
                "seconds": made["parquet_save_s"],
                "disk_mb": made["parquet_mb"],
            }
        )
        print(f"loading {label} from CSV …", file=sys.stderr, flush=True)
        rows.append(
            {
                "step": f"load CSV {label}",
                "via": "load_path",
                "disk_mb": made["csv_mb"],
                **run_task({"kind": "load_path", "path": str(csv)}),
            }
        )
        print(f"loading {label} from Parquet …", file=sys.stderr, flush=True)
        rows.append(
            {
                "step": f"load Parquet {label}",
                "via": "load_dataset",
                "disk_mb": made["parquet_mb"],
                **run_task({"kind": "load_parquet", "home": str(home), "name": "synthetic"}),
            }
        )
        return rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def show(rows: list[dict[str, Any]], info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def cell(row: dict[str, Any], key: str, fmt: str) -> str:
        value = row.get(key)
        return "" if value is None else format(value, fmt)

    table = Table(
        title=f"movierec load benchmark — {info['cpu']}, {info['cores']} cores, "
        f"{info['memory_gb']} GiB"
    )
    for name in (
        "step",
        "status",
        "users",
        "movies",
        "ratings",
        "disk MB",
        "seconds",
        "peak RSS MB",
        "baseline MB",
    ):
        table.add_column(name, justify="left" if name in ("step", "status") else "right")
    for row in rows:
        status = row.get("status", "")
        if status != "ok":
            status = f"{status} ({row.get('error', '')[:60]})"
        table.add_row(
            row["step"],
            status,
            cell(row, "users", ","),
            cell(row, "movies", ","),
            cell(row, "ratings", ","),
            cell(row, "disk_mb", ".1f"),
            cell(row, "seconds", ".2f"),
            cell(row, "peak_rss_mb", ",.0f"),
            cell(row, "baseline_rss_mb", ",.0f"),
        )
    Console(width=max(130, shutil.get_terminal_size().columns)).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-big", action="store_true", help="only the real datasets")
    parser.add_argument(
        "--ratings",
        type=int,
        default=None,
        help="synthetic size (default: MovieLens latest's 33,832,162)",
    )
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="real datasets folder")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    from movierec.data import synthetic

    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GiB, "
        f"numba threads {info['numba_threads']}",
        flush=True,
    )
    rows = real_datasets(args.data)
    if not args.skip_big:
        rows += synthetic_rows(args.ratings or synthetic.DEFAULT_RATINGS)
    show(rows, info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "results": rows,
    }
    args.out.write_text(json.dumps(document, indent=2))
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
