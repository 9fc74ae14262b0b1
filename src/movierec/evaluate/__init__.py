"""Splits, metrics and cross-validation: how well a model does on data it did not see.

Reads datasets and models, never the ratings store. Definitions of every metric are in
:mod:`movierec.evaluate.metrics`; the splits in :mod:`movierec.evaluate.splits`.
"""

from movierec.evaluate.results import EvaluationResult, ModelResult
from movierec.evaluate.runner import evaluate, make_splits
from movierec.evaluate.splits import (
    Split,
    cold_users,
    kfold,
    stratified,
    temporal,
    user_holdout,
    user_temporal,
)

__all__ = [
    "EvaluationResult",
    "ModelResult",
    "Split",
    "cold_users",
    "evaluate",
    "kfold",
    "make_splits",
    "stratified",
    "temporal",
    "user_holdout",
    "user_temporal",
]
