"""Sources and the in-memory dataset (the first layer: imports nothing else of movierec)."""

from movierec.data.dataset import Dataset, LoadReport, RatingScale
from movierec.data.idmap import IdMap

__all__ = ["Dataset", "IdMap", "LoadReport", "RatingScale"]
