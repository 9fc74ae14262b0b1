"""Small pieces every source loader shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.dataset import LoadReport


def split_list(cell: object, sep: str = "|") -> list[str]:
    """ "Action|Comedy" → ["Action", "Comedy"]; empty or missing → []."""
    if not isinstance(cell, str):
        return []
    return [part.strip() for part in cell.split(sep) if part.strip()]


def add_unlisted_movies(catalog: pd.DataFrame, ratings: pd.DataFrame, report: LoadReport,
                        file: str | None = None) -> pd.DataFrame:
    """Give rated movies missing from the catalog a row (no title), so every rating has a movie."""
    if not len(ratings):
        return catalog
    rated = np.unique(ratings["movie_id"].to_numpy())
    known = catalog["movie_id"].to_numpy()
    unlisted = rated[~np.isin(rated, known)]
    if not len(unlisted):
        return catalog
    report.add(f"{len(unlisted)} rated movie(s) are not in the catalog; added without a title",
               file=file, count=len(unlisted))
    extra = pd.DataFrame({"movie_id": unlisted.astype(np.int64)})
    return pd.concat([catalog, extra], ignore_index=True)


def drop_duplicate_ids(frame: pd.DataFrame, column: str, report: LoadReport, what: str,
                       file: str | None = None) -> pd.DataFrame:
    """Keep the first row of each id, saying how many repeats there were."""
    dup = frame[column].duplicated(keep="first")
    count = int(dup.sum())
    if count:
        report.add(f"dropped {count} duplicate {what} row(s) (same {column}, kept the first)",
                   file=file, count=count)
        frame = frame[~dup.to_numpy()].reset_index(drop=True)
    return frame
