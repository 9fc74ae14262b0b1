"""The embedding map: the PCA's numbers, the PNG it draws, and every refusal."""

from __future__ import annotations

import io
import sys

import numpy as np
import pandas as pd
import pytest

from movierec.data.dataset import FIVE_STARS, Dataset
from movierec.data.sources import load_path
from movierec.errors import InvalidValueError, NotFittedError
from movierec.models.base import NoMovieVectorsError
from movierec.models.ease import EASE
from movierec.models.mf import MatrixFactorization
from movierec.plots.embedding_map import PlotDependencyError, PlotError, embedding_map, pca_2d
from movierec.plots.labels import short_label
from tests.conftest import shared_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(png: bytes) -> np.ndarray:
    image = pytest.importorskip("matplotlib.image")
    return image.imread(io.BytesIO(png), format="png")


# --- the PCA --------------------------------------------------------------------------------


def test_vectors_on_a_plane_are_explained_entirely():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(12, 2)))[0].T  # two orthonormal directions in 12-d
    weights = rng.normal(size=(50, 2)) * [3.0, 1.0]
    vectors = weights @ basis + rng.normal(size=12)  # an offset plane
    coords, explained = pca_2d(vectors)
    assert sum(explained) == pytest.approx(1.0, abs=1e-9)
    assert explained[0] > explained[1] > 0
    # a projection onto the plane itself keeps every distance
    original = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    flat = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.testing.assert_allclose(flat, original, atol=1e-9)


def test_shares_match_the_variance_along_known_axes():
    # ±3 along x, ±1 along y, ±1 along z (4 points each): variances 9 : 1 : 1 after centring
    x = np.array([[3, 0, 0], [-3, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    coords, explained = pca_2d(x + 5.0)
    assert explained == pytest.approx((18 / 22, 2 / 22))
    np.testing.assert_allclose(np.abs(coords[:2, 0]), [3, 3], atol=1e-12)
    assert coords[:, 0].max() == pytest.approx(3.0)  # the sign is fixed: largest is positive


def test_degenerate_vectors_give_zero_shares():
    coords, explained = pca_2d(np.ones((5, 4)))
    assert explained == (0.0, 0.0) and not coords.any()
    line = np.outer(np.arange(5.0), [1.0, 2.0])
    coords, explained = pca_2d(line)
    assert explained == pytest.approx((1.0, 0.0)) and not coords[:, 1].any()
    with pytest.raises(PlotError, match="finite"):
        pca_2d(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_short_labels():
    assert short_label("Star Wars", 1977) == "Star Wars (1977)"
    assert short_label("Willy Wonka and the Chocolate Factory", 1971) == "Willy Wonka… (1971)"
    assert (
        short_label("Shanghai Triad (Yao a yao yao dao waipo qiao)", 1995)
        == "Shanghai Triad… (1995)"
    )
    assert short_label("Heat", None) == "Heat" and short_label(None, 1995) == "1995"


# --- a small synthetic dataset --------------------------------------------------------------


def tiny(movies: int = 8) -> Dataset:
    rng = np.random.default_rng(3)
    users, items = np.nonzero(rng.random((30, movies)) < 0.7)
    ratings = pd.DataFrame(
        {
            "user_id": users + 1,
            "movie_id": items + 10,
            "rating": rng.integers(1, 6, len(users)).astype(float),
            "timestamp": 0,
        }
    )
    ids = np.arange(movies) + 10
    catalog = pd.DataFrame(
        {
            "movie_id": ids,
            "title": [f"Film number {i}" for i in ids],
            "year": 1990 + np.arange(movies),
            "genres": [["Comedy"] if i % 2 else ["Drama", "War"] for i in ids],
        }
    )
    return Dataset("tiny", catalog, ratings, None, FIVE_STARS, "test")


def small_mf() -> MatrixFactorization:
    return MatrixFactorization(n_factors=4, n_epochs=5)


def test_a_map_of_a_small_model(tmp_path):
    pytest.importorskip("matplotlib")
    data = tiny()
    model = small_mf().fit(data)
    drawn = embedding_map(model, data, 5, path=tmp_path / "deep" / "map.png")
    assert (tmp_path / "deep" / "map.png").read_bytes() == drawn.png
    assert drawn.png.startswith(PNG_SIGNATURE) and drawn.model == "mf" and drawn.n == 5
    votes = data.ratings["movie_id"].value_counts()
    expected = sorted(votes.index, key=lambda m: (-votes[m], m))[:5]
    assert drawn.movie_ids.tolist() == expected  # most-rated first, ties by id
    assert drawn.labels[0].startswith("Film number") and drawn.dimensions == 4
    ids, vectors = model.movie_vectors()
    rows = [ids.tolist().index(m) for m in expected]
    assert drawn.coords.tolist() == pca_2d(vectors[rows])[0].tolist()
    document = drawn.to_json()
    assert document["n"] == 5 and len(document["movies"]) == 5
    assert document["explained_total"] == pytest.approx(sum(drawn.explained), abs=1e-6)


def test_n_larger_than_the_rated_movies_draws_them_all():
    pytest.importorskip("matplotlib")
    data = tiny(6)
    assert embedding_map(small_mf().fit(data), data, 200).n == 6


@pytest.mark.parametrize("n", [2, 0, 201, 2.5, True, "40"])
def test_bad_n_names_n(n):
    data = tiny()
    with pytest.raises(InvalidValueError, match="n ") as raised:
        embedding_map(small_mf().fit(data), data, n)
    assert raised.value.field == "n"


def test_a_model_without_movie_vectors_is_refused():
    data = tiny()
    with pytest.raises(NoMovieVectorsError, match="'ease' model has no movie vectors"):
        embedding_map(EASE().fit(data), data)
    with pytest.raises(NotFittedError):
        embedding_map(small_mf(), data)


def test_fewer_than_three_rated_movies_is_refused():
    data = tiny(6)
    model = small_mf().fit(data)
    few = data.ratings[data.ratings["movie_id"].isin([10, 11])]
    other = Dataset("few", data.catalog, few.reset_index(drop=True), None, FIVE_STARS, "test")
    with pytest.raises(PlotError, match="at least 3 rated movies.*has 2"):
        embedding_map(model, other)


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    data = tiny()
    model = small_mf().fit(data)
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    with pytest.raises(PlotDependencyError, match=r"pip install movierec\[plot\]"):
        embedding_map(model, data, 5)


# --- on ml-100k -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ml100k():
    data = load_path(shared_dataset("ml-100k-recbole"), "ml-100k")
    return data, MatrixFactorization().fit(data)


def test_the_ml100k_map_is_a_real_picture(ml100k):
    pytest.importorskip("matplotlib")
    data, model = ml100k
    drawn = embedding_map(model, data, 40, name="mf")
    assert drawn.png.startswith(PNG_SIGNATURE) and drawn.n == 40
    assert drawn.movie_ids[0] == 50 and drawn.labels[0] == "Star Wars (1977)"
    assert 0.05 < sum(drawn.explained) < 1 and drawn.explained[0] >= drawn.explained[1]
    pixels = decode(drawn.png)
    assert pixels.shape[:2] == (850, 1200)  # 12 × 8.5 inches at 100 dpi
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 200  # genre colours, anti-aliased text, grid
    assert (rgb.min(axis=1) < 200).mean() > 0.01  # not blank

    bare = embedding_map(model, data, 40, name="mf", labels=False)
    dark = (rgb.max(axis=1) < 100).sum()  # text is near black; markers are coloured
    bare_rgb = np.round(decode(bare.png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert dark > 2 * (bare_rgb.max(axis=1) < 100).sum()  # the 40 labels are drawn


def test_rendering_leaves_matplotlib_global_state_alone(ml100k):
    matplotlib = pytest.importorskip("matplotlib")
    data, model = ml100k
    rc_before = dict(matplotlib.rcParams)
    backend_before = matplotlib.get_backend() if "matplotlib.pyplot" in sys.modules else None
    embedding_map(model, data, 10)
    assert dict(matplotlib.rcParams) == rc_before
    if backend_before is None:
        assert "matplotlib.pyplot" not in sys.modules  # never imported, never switched
    else:
        import matplotlib.pyplot as plt

        assert matplotlib.get_backend() == backend_before and not plt.get_fignums()
