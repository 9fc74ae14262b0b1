"""Explicit ALS fitted on Apache Spark (``pyspark.ml``), exported as movierec's own ALS model.

For data that outgrows one machine: Spark reads the ratings (the stored dataset's Parquet, or
the in-memory frame), fits the biases and the factors where the cluster is, and only the
factors come back. The result is an ordinary :class:`~movierec.models.als.ALS` — saved,
served, folded into and evaluated like one fitted here.

Spark's ALS has no biases and predicts ``p_u·q_i``, so the biases are fitted first, in Spark,
as count-penalised means (Koren's baseline: each movie's mean offset from the global mean μ,
then each user's offset from μ + b_i), and Spark's ALS fits the factors to what they leave,
``r − μ − b_u − b_i``. The exported model then predicts ``μ + b_u + b_i + p_u·q_i`` as ours
does. Spark's penalty is always scaled by each row's rating count (ALS-WR, Zhou et al. 2008),
so the exported config says ``scale_reg=True`` (fold-ins then penalise as Spark trained); a
config with a fixed penalty — the ``als`` default — runs with :data:`SCALED_REG` instead, the
best count-scaled setting on ml-100k (:mod:`movierec.models.als`).

The session: ``master`` (``local[2]``, or ``spark://host:7077`` for a cluster), the settings of
:func:`session`. PySpark is the optional ``spark`` extra (Java 17 must be installed).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from movierec.data.dataset import Dataset
from movierec.models.als import ALS, ALSConfig, FittedSide

logger = logging.getLogger(__name__)

SCALED_REG = 0.1  # ALS-WR's penalty for a config whose own penalty is fixed (module notes)


_PANDAS_NOTE = "PySpark does not yet fully support pandas"  # a FutureWarning per conversion


def session(master: str) -> Any:
    """A Spark session for ``master``, quiet and small: no UI, 4 shuffle partitions, the
    driver on the loopback address when local, this Python for the workers."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - the `spark` extra
        raise ImportError(
            "--engine spark needs PySpark: pip install 'movierec[spark]' (and Java 17)"
        ) from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warnings.filterwarnings("ignore", message=_PANDAS_NOTE, category=FutureWarning)
    builder = (
        SparkSession.builder.master(master)
        .appName("movierec")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def fit_on_spark(
    data: Dataset,
    config: ALSConfig | None = None,
    *,
    master: str = "local[2]",
    parquet: Path | None = None,
) -> ALS:
    """Fit biases and factors on Spark and return them as a fitted :class:`ALS`.

    Args:
        data: the dataset (its ids index the exported model; its ratings are what Spark
            reads unless ``parquet`` is given).
        config: the ALS settings (factors, iterations, penalty, seed); the ``als`` defaults.
        master: the Spark master URL.
        parquet: the stored ratings' Parquet file or folder, read by Spark itself.
    """
    from pyspark.ml.recommendation import ALS as SparkALS
    from pyspark.sql import functions as F

    cfg = config or ALSConfig()
    reg = cfg.reg if cfg.scale_reg else SCALED_REG
    exported = dataclasses.replace(cfg, reg=reg, reg_bias=reg, scale_reg=True)
    started = time.perf_counter()
    spark = session(master)
    scratch = None
    try:
        scratch = _checkpoints(spark, master)  # inside: a failure here still stops the session
        if parquet is not None:
            ratings = spark.read.parquet(str(parquet)).select("user_id", "movie_id", "rating")
        else:
            frame = data.ratings[["user_id", "movie_id", "rating"]]
            ratings = spark.createDataFrame(frame.astype({"rating": "float64"}))
        mu = float(ratings.agg(F.avg("rating")).first()[0])
        shrink = 1.0 + reg  # a count-scaled penalty λ·n on a mean of n offsets
        items = ratings.groupBy("movie_id").agg((F.avg(F.col("rating") - mu) / shrink).alias("b_i"))
        rated = ratings.join(items, "movie_id")
        users = rated.groupBy("user_id").agg(
            (F.avg(F.col("rating") - mu - F.col("b_i")) / shrink).alias("b_u")
        )
        residuals = rated.join(users, "user_id").withColumn(
            "residual", F.col("rating") - mu - F.col("b_i") - F.col("b_u")
        )
        fitted = SparkALS(
            rank=cfg.n_factors,
            maxIter=cfg.n_iterations,
            regParam=reg,
            userCol="user_id",
            itemCol="movie_id",
            ratingCol="residual",
            seed=cfg.seed,
            nonnegative=False,
        ).fit(residuals)
        user_rows = fitted.userFactors.toPandas()
        movie_rows = fitted.itemFactors.toPandas()
        user_bias = users.toPandas()
        movie_bias = items.toPandas()
    finally:
        spark.stop()
        if scratch is not None:
            scratch.cleanup()
    model = ALS.from_factors(
        data,
        exported,
        _side(user_rows, user_bias, "user_id", "b_u", cfg.n_factors),
        _side(movie_rows, movie_bias, "movie_id", "b_i", cfg.n_factors),
        mu,
    )
    logger.info("als on spark (%s): %.1f s", master, time.perf_counter() - started)
    return model


def _checkpoints(spark: Any, master: str) -> tempfile.TemporaryDirectory[str] | None:
    """Give Spark's ALS a checkpoint directory (a scratch one when local) unless it has one.

    Without one, ALS never cuts the lineage of its factor RDDs (it checkpoints every 10
    iterations only where a directory is set), and serialising 15 iterations' lineage in
    ``local[2]`` overflowed the executor thread's stack in one full test run of 2026-12-07
    (java.lang.StackOverflowError; the runs before and after it passed). A cluster needs a
    directory all its nodes reach: ``spark.checkpoint.dir hdfs://…`` in
    ``spark-defaults.conf``.
    """
    context = spark.sparkContext
    if context.getCheckpointDir() is not None:
        return None
    if not master.startswith("local"):
        logger.warning(
            "no Spark checkpoint directory: a long ALS fit may overflow a stack; set "
            "spark.checkpoint.dir (a folder every node reaches) in spark-defaults.conf"
        )
        return None
    scratch = tempfile.TemporaryDirectory(prefix="movierec-spark-")
    context.setCheckpointDir(scratch.name)
    return scratch


def _side(rows: Any, bias: Any, key: str, column: str, k: int) -> FittedSide:
    """Spark's factor and bias frames of one side (pandas) as one :class:`FittedSide`."""
    merged = bias.merge(rows, left_on=key, right_on="id", how="left")
    factors = np.zeros((len(merged), k), np.float32)
    has = merged["features"].notna().to_numpy()
    if has.any():
        factors[has] = np.vstack(merged.loc[has, "features"].to_numpy())
    return FittedSide(merged[key].to_numpy(), factors, merged[column].to_numpy())
