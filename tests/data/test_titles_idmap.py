import numpy as np
import pytest

from movierec.data.idmap import IdMap
from movierec.data.titles import move_article, split_title


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        ("Godfather, The (1972)", "The Godfather", 1972),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "The City of Lost Children (Cité des enfants perdus, La)",
            1995,
        ),
        ("Babylon 5", "Babylon 5", None),
        ("Stranger Things (2016-)", "Stranger Things", 2016),
        ("Ready Player One", "Ready Player One", None),
        ("American President, An (1995)", "An American President", 1995),
        ("Misérables, Les (1995)", "Les Misérables", 1995),
        ("1-900 (06) (1994)", "1-900 (06)", 1994),
        ("  Heat (1995)  ", "Heat", 1995),
    ],
)
def test_split_title(raw, title, year):
    assert split_title(raw) == (title, year)


def test_move_article_leaves_commas_inside_titles():
    assert move_article("Crouching Tiger, Hidden Dragon") == "Crouching Tiger, Hidden Dragon"
    assert move_article("Ferris Bueller's Day Off") == "Ferris Bueller's Day Off"


def test_idmap_is_append_only_and_vectorised():
    ids = IdMap([10, 30, 20, 30])
    assert len(ids) == 3
    assert ids.ids.tolist() == [10, 30, 20]
    assert ids.indices(np.array([20, 10])).tolist() == [2, 0]
    fresh = ids.add([40, 10, 50])
    assert fresh.tolist() == [40, 50]
    assert ids.index(30) == 1 and ids.index(50) == 4  # old indices unchanged
    assert 40 in ids and 99 not in ids


def test_idmap_missing_ids():
    ids = IdMap([1, 2])
    with pytest.raises(KeyError) as info:
        ids.indices([1, 7])
    assert info.value.args[0] == 7
    assert ids.indices([1, 7], missing="mask").tolist() == [0, -1]
    assert ids.indices([7, 1], missing="add").tolist() == [2, 0]
    with pytest.raises(KeyError):
        ids.index(99)


def test_idmap_ids_view_is_read_only():
    ids = IdMap([1, 2])
    with pytest.raises(ValueError):
        ids.ids[0] = 5
    assert IdMap(ids.to_array()).ids.tolist() == [1, 2]


def test_idmap_many_single_appends_stay_consistent():
    ids = IdMap(np.arange(0, 20_000, 2))
    for new in range(1, 6_001, 2):  # a stream of new users, one at a time
        assert ids.add([new]).tolist() == [new]
    assert len(ids) == 13_000
    assert ids.index(1) == 10_000 and ids.index(5_999) == 12_999 and ids.index(18) == 9
    probe = np.array([5_999, 18, 20_001, 3])
    assert ids.indices(probe, missing="mask").tolist() == [12_999, 9, -1, 10_001]
    assert 3 in ids and 20_001 not in ids
    assert IdMap(ids.to_array()).indices(probe, missing="mask").tolist() == [12_999, 9, -1, 10_001]


@pytest.mark.parametrize(
    "ids",
    [
        np.arange(1, 5001) * 3,  # dense enough: answered by the lookup table
        np.arange(1, 5001) * 1_000_003,  # sparse: answered by the hash index
        np.array([0, 7, 2, 5]),  # a first add of a few ids
    ],
)
def test_idmap_lookups_agree_whatever_answers_them(ids):
    rng = np.random.default_rng(0)
    rng.shuffle(ids)
    m = IdMap(ids)
    queries = np.concatenate([ids, ids + 1, [-5, 0, int(ids.max()) * 10]])
    expected = {int(i): n for n, i in enumerate(ids.tolist())}
    want = np.array([expected.get(int(q), -1) for q in queries])
    assert np.array_equal(m.indices(queries, missing="mask"), want)
    for few in (slice(0, 3), slice(-3, None)):  # the one-by-one path for a handful
        assert np.array_equal(m.indices(queries[few], missing="mask"), want[few])
    new = np.array([int(ids.max()) + 2, int(ids.max()) * 3 + 1])  # appended after the table
    m.add(new)
    asked = np.concatenate([ids[:40], new])
    assert m.indices(asked).tolist() == [*want[: min(40, len(ids))], len(ids), len(ids) + 1]
