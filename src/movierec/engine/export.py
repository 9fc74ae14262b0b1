"""Every user's top-N, written to Parquet: here, or spread over Spark's workers.

One row per (user, rank): ``user_id``, ``rank`` (1 = best), ``movie_id``, ``score``, the very
lists ``movierec recommend`` gives (seen movies left out, the model's own ranking), without the
reasons. Locally the users are taken in batches and each batch is appended to one Parquet file.
With Spark the fitted model is shipped to the workers (pickled by PySpark), each scores its
share of the users the same way, and Spark writes a Parquet folder; on a cluster the workers
need movierec installed (its wheel, e.g. ``spark-submit --py-files`` or the image).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from movierec.models.base import Recommender
from movierec.models.sparkals import session
from movierec.validate import check_k

logger = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("rank", pa.int32()),
        ("movie_id", pa.int64()),
        ("score", pa.float64()),
    ]
)
SPARK_SCHEMA = "user_id long, rank int, movie_id long, score double"  # SCHEMA in Spark's words
_BATCH = 2000  # users per written batch


def top_n_rows(model: Recommender, user_ids: Iterable[int], k: int) -> pd.DataFrame:
    """The top ``k`` unseen movies of each user as rows of :data:`SCHEMA`."""
    users, ranks, movies, scores = [], [], [], []
    for user in user_ids:
        picks = model.recommend(int(user), k)
        n = len(picks.movie_ids)
        users.append(np.full(n, int(user), np.int64))
        ranks.append(np.arange(1, n + 1, dtype=np.int32))
        movies.append(np.asarray(picks.movie_ids, np.int64))
        scores.append(np.asarray(picks.scores, np.float64))
    if not users:
        return SCHEMA.empty_table().to_pandas()
    return pd.DataFrame(
        {
            "user_id": np.concatenate(users),
            "rank": np.concatenate(ranks),
            "movie_id": np.concatenate(movies),
            "score": np.concatenate(scores),
        }
    )


def write_all(
    model: Recommender,
    k: int,
    out: Path,
    *,
    spark: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Write every user's top ``k`` to ``out``; returns the rows written.

    Args:
        model: a fitted model; its users are the ones written.
        k: movies per user.
        out: a Parquet file (locally) or folder (Spark writes one file per partition).
        spark: a Spark master URL: score the users on Spark's workers instead of here.
        progress: called with the fraction of users done (locally).
    """
    check_k(k)
    users = np.asarray(model.users.ids, np.int64)
    out.parent.mkdir(parents=True, exist_ok=True)
    if spark is not None:
        return _write_on_spark(model, users, k, out, spark)
    written = 0
    with pq.ParquetWriter(out, SCHEMA) as writer:
        for start in range(0, len(users), _BATCH):
            rows = top_n_rows(model, users[start : start + _BATCH], k)
            writer.write_table(pa.Table.from_pandas(rows, schema=SCHEMA, preserve_index=False))
            written += len(rows)
            if progress is not None:
                progress(min(1.0, (start + _BATCH) / max(len(users), 1)))
    return written


def _write_on_spark(model: Recommender, users: np.ndarray, k: int, out: Path, master: str) -> int:
    spark = session(master)
    try:
        frame = spark.createDataFrame(pd.DataFrame({"user_id": users}))
        parts = max(1, spark.sparkContext.defaultParallelism)

        def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                yield top_n_rows(model, batch["user_id"].to_numpy(), k)

        result = frame.repartition(parts).mapInPandas(score, schema=SPARK_SCHEMA)
        result.write.mode("overwrite").parquet(str(out))
        return int(spark.read.parquet(str(out)).count())
    finally:
        spark.stop()
