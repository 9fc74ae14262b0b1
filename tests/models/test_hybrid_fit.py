"""The hybrid's weight fitting: blends within the most personal part's bounds, parts that
must fold in users, and the objective on ml-100k newcomers (the contract: test_hybrid.py)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from movierec.models import blend, registry
from movierec.models.base import Recommender
from movierec.models.hybrid import Hybrid
from tests.conftest import shared_dataset
from tests.models.conformance import checkerboard


class Offline(Recommender):
    """A model that is not an OnlineRecommender (the check never fits or builds one)."""

    kind = "offline"


def test_parts_must_fold_in_users(monkeypatch):
    monkeypatch.setitem(registry.MODELS, "offline", (f"{__name__}:Offline", {}))
    with pytest.raises(ValueError, match="offline"):
        Hybrid(parts="offline,chart").fit(checkerboard())


def _validation_sets(rng, n_users=60, width=40):
    """Synthetic validation users: parts 0 and 1 each see half of what a user likes; part 2
    is a chart, the same scores for everyone, that finds the movies everyone likes and that the
    personal parts do not see. Returns (users, genre rows)."""
    sets = []
    everyone = np.zeros(width, bool)
    everyone[:4] = True  # movies 0–3 are liked by all
    genres = np.eye(4, dtype=np.float32)[np.arange(width) % 4]
    for _ in range(n_users):
        pool = rng.permutation(width)
        own = ~everyone[pool] & (rng.random(width) < 0.15)  # what this user alone likes
        relevant = everyone[pool] | own
        signal = own.astype(float)
        half = rng.random(width) < 0.5
        z = np.stack(
            [
                signal * half + rng.normal(0, 0.4, width),
                signal * ~half + rng.normal(0, 0.4, width),
                np.where(everyone[pool], 3.0, 0.0) - pool / width,
            ],
            axis=1,
        )
        taste = np.full(4, 0.25)
        sets.append((z, relevant, int(relevant.sum()), pool, taste, np.ones(width, bool)))
    return sets, genres


def _validation(rng):
    return blend.stack(*_validation_sets(rng), 10)


def test_the_blend_finds_more_without_leaving_the_most_personal_parts_bounds():
    data = _validation(np.random.default_rng(0))
    weights, lam, alone, best = blend.constrained_ascent(data, 10)
    anchor = max(alone, key=lambda f: f.personalization)
    assert alone[2].ndcg > anchor.ndcg  # the chart finds more than a personal part alone...
    assert alone[2].personalization < 0.1  # ...with one list for everyone
    assert best.ndcg > max(alone[0].ndcg, alone[1].ndcg) + 0.05  # the halves together win
    assert best.personalization >= anchor.personalization - blend.PERSONALIZATION_SLACK
    assert best.miscalibration <= anchor.miscalibration + 1e-9
    assert weights.sum() == pytest.approx(1.0) and 0.0 <= lam <= 1.0
    again = blend.figures(data, weights, lam, 10)
    assert again.ndcg == pytest.approx(best.ndcg)


@pytest.mark.slow
def test_on_ml_100k_newcomers_the_hybrid_beats_its_parts_on_its_objective():
    """NDCG within the most personal part's personalization and miscalibration: the hybrid
    finds more than that part, and the parts that find more are outside those bounds."""
    pytest.importorskip("torch", reason="the default hybrid includes the two-tower model")
    from movierec.data.sources import load_path
    from movierec.evaluate import evaluate

    data = load_path(shared_dataset("ml-100k-recbole"))
    fitted: dict[str, Recommender] = {}

    class KeepsItsParts(Hybrid):
        """The hybrid, keeping a copy of each part as fitted, before any newcomer is folded
        in: the parts scored alone are the very ones it blends (and not fitted twice)."""

        def fit(self, data):
            super().fit(data)
            fitted.update(zip(self._names, copy.deepcopy(self.parts), strict=True))
            return self

    hybrids: list[Hybrid] = []

    def factory(name: str) -> Recommender:
        if name == "hybrid":
            hybrids.append(KeepsItsParts())
            return hybrids[-1]
        part = fitted.pop(name)
        part.fit = lambda data: part  # fitted already, on the same training users
        return part

    result = evaluate(
        data, ["hybrid", "ease", "twotower-rank", "chart"], split="cold-users", factory=factory
    )
    figures = {m.name: {k: v["mean"] for k, v in m.summary().items()} for m in result.models}
    hybrid = figures.pop("hybrid")
    anchor = max(figures.values(), key=lambda f: f["personalization"])
    floor = anchor["personalization"] - blend.PERSONALIZATION_SLACK
    assert hybrid["personalization"] >= floor, (figures, hybrid)
    assert hybrid["miscalibration"] < anchor["miscalibration"], (figures, hybrid)
    assert hybrid["ndcg"] > anchor["ndcg"], (figures, hybrid)
    for name, part in figures.items():
        inside = (
            part["personalization"] >= floor and part["miscalibration"] <= anchor["miscalibration"]
        )
        assert not inside or hybrid["ndcg"] > part["ndcg"], (name, figures, hybrid)
        assert hybrid["miscalibration"] < part["miscalibration"], (name, figures, hybrid)

    # a newcomer of one small genre gets it: five documentaries 5★ (50 of 1,682 films; the
    # blend's best documentary is ranked about 150th, below the top 50 the re-ranking had)
    (served,) = hybrids
    documentaries = [48, 32, 1142, 954, 634]  # Hoop Dreams, Crumb, When We Were Kings, …
    served.fold_in_user(99_999_001, np.array(documentaries), np.full(5, 5.0))
    assert served.calibration[1] > 0  # the newcomers' lists are re-ranked toward their genres
    listed = served.recommend(99_999_001, 10).movie_ids
    genres = data.catalog.set_index("movie_id")["genres"]
    assert sum("Documentary" in genres[m] for m in listed) >= 5, genres[listed]
    # without the genres' quotas (hybrid-watch's way) the pool is the blend's top 50: no room
    served.config = dataclasses.replace(served.config, genre_quotas=False)
    listed = served.recommend(99_999_001, 10).movie_ids
    assert sum("Documentary" in genres[m] for m in listed) <= 1, genres[listed]


def _uninformative_chart(rng, n_users=300, width=40):
    """A personal part that finds what users like, and a chart (one list for everyone)
    unrelated to it: any gain a blend finds on these users is their noise."""
    genres = np.eye(4, dtype=np.float32)[np.arange(width) % 4]
    chart = rng.normal(0, 1, width)
    sets = []
    for _ in range(n_users):
        pool = rng.permutation(width)
        relevant = rng.random(width) < 0.2
        z = np.stack([relevant + rng.normal(0, 0.8, width), chart[pool]], axis=1)
        taste = rng.dirichlet(np.ones(4))
        sets.append((z, relevant, int(relevant.sum()), pool, taste, np.ones(width, bool)))
    return sets, genres


def test_a_gain_is_clear_only_beyond_its_standard_error():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.1, 400)
    assert not blend.clearly_positive(noise - noise.mean() + 0.002)  # 0.4 standard errors
    assert blend.clearly_positive(noise - noise.mean() + 0.02)  # 4 standard errors
    assert not blend.clearly_positive(np.zeros(400))


def test_a_blend_within_the_noise_gives_way_to_the_most_personal_part(monkeypatch, caplog):
    sets, genres = _uninformative_chart(np.random.default_rng(4))
    monkeypatch.setattr(blend, "SIGNIFICANCE", -np.inf)  # keep whatever the ascent finds
    loose, _, _ = blend.fit_regime(sets, genres, 2, 10, 4, np.random.default_rng(0))
    assert loose[1] > 0  # the ascent did take some of the chart...
    monkeypatch.undo()
    with caplog.at_level("INFO", logger="movierec.models.blend"):
        weights, lam, report = blend.fit_regime(sets, genres, 2, 10, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(weights, [1.0, 0.0])  # ...which a held-out check refuses
    assert lam == 0.0 and report[-1, 0] == report[0, 0]
    assert "left for that part" in caplog.text and "out of bag" in caplog.text  # and says so


def test_a_blend_that_clearly_finds_more_is_kept():
    sets, genres = _validation_sets(np.random.default_rng(0))
    weights, _, report = blend.fit_regime(sets, genres, 3, 10, 4, np.random.default_rng(0))
    assert np.count_nonzero(weights) >= 2
    assert report[-1, 0] > max(report[0, 0], report[1, 0]) + 0.05


def test_the_start_is_the_part_that_finds_most_within_the_most_personal_parts_bounds():
    finds, personal, chart = (
        blend.Figures(0.33, 0.935, 0.66),
        blend.Figures(0.16, 0.940, 1.02),
        blend.Figures(0.14, 0.55, 0.97),
    )
    assert blend.best_part_within([finds, personal, chart]) == 0  # as personal, finds twice
    less_personal = blend.Figures(0.33, 0.90, 0.66)
    assert blend.best_part_within([less_personal, personal, chart]) == 1
    worse_calibrated = blend.Figures(0.33, 0.938, 1.10)
    assert blend.best_part_within([worse_calibrated, personal, chart]) == 1


def test_a_step_that_finds_no_more_is_not_asked_how_personal_it_is():
    data = _validation(np.random.default_rng(0))
    whole = blend.figures(data, np.array([0.5, 0.5, 0.0]), 0.0, 10)
    short = blend.figures(data, np.array([0.5, 0.5, 0.0]), 0.0, 10, above=whole.ndcg)
    assert short.ndcg == whole.ndcg and np.isnan(short.personalization)
    assert np.isnan(short.miscalibration) and not np.isnan(whole.personalization)
    taller = blend.figures(data, np.array([0.5, 0.5, 0.0]), 0.0, 10, above=whole.ndcg - 0.01)
    assert taller.personalization == whole.personalization


def _probe_and_served(rng, n_users=300, width=40):
    """Part 0 finds what users like; part 1 is personal noise. On the probe (parts fitted on
    less data) part 0 leans on a popularity order shared by everyone, so its lists are alike;
    served, it does not."""
    genres = np.eye(4, dtype=np.float32)[np.arange(width) % 4]
    popular = np.linspace(2.0, 0.0, width)
    probe, served = [], []
    for _ in range(n_users):
        pool = rng.permutation(width)
        relevant = rng.random(width) < 0.2
        noise = rng.normal(0, 1, width)
        taste = np.full(4, 0.25)
        finds = relevant + rng.normal(0, 0.5, width)
        everyone = np.ones(width, bool)
        probe.append(
            (np.stack([finds + popular[pool], noise], 1), relevant, 8, pool, taste, everyone)
        )
        served.append(
            (np.stack([finds, noise], 1), np.zeros(width, bool), 0, pool, taste, everyone)
        )
    return probe, served, genres


def test_the_taste_bounds_are_judged_on_the_lists_served():
    probe, served, genres = _probe_and_served(np.random.default_rng(1))
    data, judged = blend.stack(probe, genres, 10), blend.stack(probe, genres, 10, served)
    lone = blend.figures(data, np.array([1.0, 0.0]), 0.0, 10)
    both = blend.figures(judged, np.array([1.0, 0.0]), 0.0, 10)
    assert both.ndcg == lone.ndcg  # NDCG on the probe's held-out ratings...
    assert lone.personalization < 0.8 < both.personalization  # ...taste on the served lists
    served_alone = blend.figures(blend.stack(served, genres, 10), np.array([1.0, 0.0]), 0.0, 10)
    assert both.personalization == served_alone.personalization
    assert both.miscalibration == served_alone.miscalibration
    rng = np.random.default_rng(0)
    on_probe, _, _ = blend.fit_regime(probe, genres, 2, 10, 4, rng)
    on_served, _, report = blend.fit_regime(probe, genres, 2, 10, 4, rng, served)
    assert on_probe[1] > 0.5  # judged on the probe, part 0 is too impersonal to lead
    assert on_served[0] > 0.5 and report[-1, 0] >= report[0, 0]  # served, it may


def test_ease_gives_way_to_low_rank_ease_where_the_catalogue_outgrows_it(monkeypatch, tmp_path):
    """More rated movies than EASE models (``max_items``): the hybrid fits ``ease-lowrank`` in
    its place, so the whole catalogue is served, and a saved hybrid loads it back."""
    from movierec.models.lowrankease import LowRankEASE

    monkeypatch.setitem(registry.MODELS, "ease", ("movierec.models.ease:EASE", {"max_items": 8}))
    data = checkerboard()  # 12 rated movies
    model = Hybrid(parts="ease,chart", cold_users=0.2, cold_profile=3, validation=0.3).fit(data)
    assert isinstance(model.parts[0], LowRankEASE)
    model.save(tmp_path / "h")
    loaded = Hybrid.load(tmp_path / "h")
    assert isinstance(loaded.parts[0], LowRankEASE)
    np.testing.assert_allclose(loaded.scores(100), model.scores(100))


def test_pair_similarity_is_similar_scores_row_by_row():
    """The reasons' one-call similarities equal what similar_movies ranks, movie by movie."""
    model = Hybrid(parts="ease,als,chart", cold_users=0.2, cold_profile=3, validation=0.3)
    model.fit(checkerboard())
    ids = model.movies.ids
    picks = ids[[0, 3, 7]]
    others = np.concatenate([ids[::2], [10**9]])  # an unknown movie: NaN
    block = model.pair_similarity(picks, others)
    for row, movie_id in enumerate(picks.tolist()):
        expected = model.similarities(int(movie_id))[model.movies.indices(others[:-1])]
        np.testing.assert_allclose(block[row, :-1], expected, rtol=1e-6, atol=1e-9)
    assert np.isnan(block[:, -1]).all()
