"""Every endpoint and every error status, through a real HTTP client against the app."""

from __future__ import annotations

import pytest

from movierec.errors import StoreUnavailableError
from tests.api.conftest import ADMIN
from tests.engine.wording import HONEST

STAR_WARS = 50


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["dataset"] == "ml-100k"
    assert body["serving_model"] == "als" and body["ratings_pending"] >= 0
    assert body["last_retrain_error"] is None
    for _ in range(2):  # the same question twice: the second is answered from the kept one
        client.get("/users/7/recommendations?k=3")
    after = client.get("/healthz").json()
    assert after["answer_hits"] >= body["answer_hits"] + 1 and after["answers_kept"] >= 1


def test_docs_and_openapi(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/movies/search", "/users/{user_id}/ratings"} <= set(paths)
    assert {"401", "403", "404", "422"} <= set(
        paths["/users/{user_id}/ratings"]["post"]["responses"]
    )


def test_genres(client):
    genres = client.get("/genres").json()["genres"]
    assert "Comedy" in genres and "Drama" in genres


def test_search(client):
    body = client.get("/movies/search", params={"q": "star wars 1977", "k": 3}).json()
    first = body["matches"][0]
    assert first["movie_id"] == STAR_WARS and first["year"] == 1977
    assert set(first) == {"movie_id", "title", "year", "score", "popularity"}


@pytest.mark.parametrize("params", [{"q": "   "}, {"q": "x", "k": 0}, {}, {"q": "x", "k": "a"}])
def test_search_bad_input_is_422(client, params):
    response = client.get("/movies/search", params=params)
    assert response.status_code == 422
    assert response.json()["error"] in ("ValidationError", "InvalidValueError")
    assert response.json()["field"] in ("q", "k")


def test_details(client):
    body = client.get(f"/movies/{STAR_WARS}").json()
    assert body["title"] == "Star Wars" and body["votes"] > 500 and body["mean_rating"] > 4


def test_unknown_movie_is_404(client):
    response = client.get("/movies/999999")
    assert response.status_code == 404
    assert response.json() == {"error": "UnknownMovieError", "message": "unknown movie 999999"}
    assert client.get("/movies/999999/similar").status_code == 404


def test_similar(client):
    body = client.get(
        f"/movies/{STAR_WARS}/similar", params={"by": "collab", "k": 5, "years": "1970-1989"}
    ).json()
    assert body["by"] == "collab" and len(body["movies"]) == 5
    assert all(1970 <= m["year"] <= 1989 for m in body["movies"])
    # each with what it has in common with Star Wars: here the people who liked both
    assert "rated highly by" in body["movies"][0]["reason"]
    content = client.get(f"/movies/{STAR_WARS}/similar", params={"same_genre": True}).json()
    assert content["movies"]


def test_similar_bad_by_is_422(client):
    assert client.get(f"/movies/{STAR_WARS}/similar", params={"by": "magic"}).status_code == 422


def test_similar_bad_years_is_4xx(client):
    response = client.get(f"/movies/{STAR_WARS}/similar", params={"years": "abc"})
    assert 400 <= response.status_code < 500


def test_top(client):
    body = client.get("/charts/top", params={"genre": "Comedy", "k": 3}).json()
    assert len(body["movies"]) == 3 and body["quantile"] == 0.9
    segment = client.get("/charts/top", params={"segment": "gender=F", "k": 3})
    assert segment.status_code == 200


def test_top_unknown_genre_is_404(client):
    response = client.get("/charts/top", params={"genre": "Nosuchgenre"})
    assert response.status_code == 404 and response.json()["error"] == "NoMatchError"


def test_top_too_small_segment_is_422(client):
    response = client.get("/charts/top", params={"segment": "occupation=doctor,age=1-2"})
    assert response.status_code == 422 and response.json()["error"] == "SegmentTooSmallError"


@pytest.mark.parametrize(
    "params", [{"segment": "0000"}, {"segment": "shoe=9"}, {"years": "abc"}, {"years": "1999-1990"}]
)
def test_top_bad_parameter_value_is_422_naming_it(client, params):
    response = client.get("/charts/top", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == next(iter(params))
    assert client.get("/charts/top", params={"segment": ""}).status_code == 200


def test_user_ratings_best_first(client):
    body = client.get("/users/1/ratings", params={"k": 5}).json()
    assert body["count"] > 100 and len(body["movies"]) == 5
    stars = [m["rating"] for m in body["movies"]]
    assert stars == sorted(stars, reverse=True)
    assert client.get("/users/987654/ratings").status_code == 404


def test_recommendations(client):
    body = client.get("/users/1/recommendations", params={"k": 5, "genre": "Drama"}).json()
    assert body["model"] == "als" and len(body["movies"]) == 5
    assert all("Drama" in m["genres"] for m in body["movies"])
    assert all(HONEST.match(m["reason"]) for m in body["movies"])
    assert client.get("/users/987654/recommendations").status_code == 404
    plain = client.get("/users/1/recommendations", params={"k": 5, "reasons": False}).json()
    assert len(plain["movies"]) == 5 and all("reason" not in m for m in plain["movies"])


def test_new_user_then_ratings_change_recommendations(client):
    created = client.post("/users", json={"gender": "F", "age": 30})
    assert created.status_code == 201
    user, token = created.json()["user_id"], created.json()["token"]
    cold = client.get(f"/users/{user}/recommendations", params={"k": 5}).json()
    assert cold["model"] == "charts"
    headers = {"Authorization": f"Bearer {token}"}
    batch = [{"movie_id": m, "rating": 5} for m in (STAR_WARS, 172, 181)]  # the trilogy
    response = client.post(f"/users/{user}/ratings", json={"ratings": batch}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 3 and response.json()["folded_in"]
    warm = client.get(f"/users/{user}/recommendations", params={"k": 5}).json()
    assert warm["model"] == "als" and warm["movies"] != cold["movies"]
    top = warm["movies"][0]["movie_id"]
    one = client.post(
        f"/users/{user}/ratings", json={"movie_id": top, "rating": 1}, headers=headers
    )
    assert one.status_code == 200 and one.json()["stored"] == 1
    after = client.get(f"/users/{user}/recommendations", params={"k": 5}).json()
    assert top not in [m["movie_id"] for m in after["movies"]]
    mine = client.get(f"/users/{user}/ratings").json()
    assert mine["count"] == 4 and mine["movies"][-1]["movie_id"] == top


def test_stored_ratings_reach_a_model_other_than_the_served_one(client, monkeypatch):
    created = client.post(
        "/users", json={"ratings": [{"movie_id": m, "rating": 5} for m in (STAR_WARS, 172, 181)]}
    )
    user = created.json()["user_id"]
    for model in ("mf", "chart"):  # neither serves: the store's ratings are folded in on use
        body = client.get(f"/users/{user}/recommendations", params={"k": 5, "model": model}).json()
        assert body["model"] == model and len(body["movies"]) == 5
        assert not {STAR_WARS, 172, 181} & {m["movie_id"] for m in body["movies"]}
        assert all(HONEST.match(m["reason"]) for m in body["movies"])
    unknown = client.get(f"/users/{user}/recommendations", params={"model": "deep-magic"})
    assert unknown.status_code == 422
    detail = unknown.json()
    assert detail["field"] == "model" and "deep-magic" in detail["message"]
    assert "ease" in detail["allowed"] and "mf" in detail["allowed"]
    from movierec.engine import fitting

    monkeypatch.setattr(fitting, "FIT_ON_REQUEST_RATINGS", 1000)  # ml-100k counts as large now
    untrained = client.get(f"/users/{user}/recommendations", params={"model": "mf-bounded"})
    assert (
        untrained.status_code == 409
        and "movierec train --model mf-bounded" in untrained.json()["message"]
    )


def test_new_user_with_first_ratings(client):
    created = client.post(
        "/users", json={"ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 71, "rating": 4}]}
    )
    assert created.status_code == 201 and created.json()["ratings"] == 2
    user = created.json()["user_id"]
    assert client.get(f"/users/{user}/ratings").json()["count"] == 2
    assert client.get(f"/users/{user}/recommendations").json()["model"] == "als"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"ratings": [{"movie_id": 1, "rating": 9}]}, 422),
        ({"ratings": [{"movie_id": 1, "rating": "5"}]}, 422),
        ({"ratings": [{"movie_id": 1, "rating": False}]}, 422),
        ({"age": -3}, 422),
        ({"nickname": "x"}, 422),
        ({"ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 999999, "rating": 5}]}, 404),
    ],
)
def test_new_user_bad_input_writes_nothing(client, body, status):
    before = client.get("/healthz").json()["ratings_pending"]
    response = client.post("/users", json=body)
    assert response.status_code == status
    assert client.get("/healthz").json()["ratings_pending"] == before


def test_rating_on_scale_error_names_the_field(client):
    response = client.post(
        "/users/1/ratings", json={"movie_id": 1, "rating": 7}, headers={"X-Admin-Key": ADMIN}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "rating" and body["allowed"]


def test_writes_need_credentials(client):
    user = client.post("/users", json={}).json()
    other = client.post("/users", json={}).json()
    url = f"/users/{user['user_id']}/ratings"
    rating = {"movie_id": 1, "rating": 4}
    assert client.post(url, json=rating).status_code == 401
    assert client.post(url, json=rating, headers={"Authorization": "Basic x"}).status_code == 401
    wrong = {"Authorization": f"Bearer {other['token']}"}
    assert client.post(url, json=rating, headers=wrong).status_code == 403
    assert client.post(url, json=rating, headers={"X-Admin-Key": "nope"}).status_code == 403
    assert client.post(url, json={"movie_id": 1}).status_code == 422  # the body comes first
    assert client.get(f"{url}").json()["count"] == 0  # nothing written
    assert client.post(url, json=rating, headers={"X-Admin-Key": ADMIN}).status_code == 200
    assert client.get(url).json()["count"] == 1


def test_batch_is_all_or_nothing(client):
    url = "/users/2/ratings"
    before = client.get(url).json()["count"]
    batch = {"ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 2, "rating": 0.5}]}
    response = client.post(url, json=batch, headers={"X-Admin-Key": ADMIN})
    assert response.status_code == 422
    assert client.get(url).json()["count"] == before
    unknown = {"ratings": [{"movie_id": 1, "rating": 5}, {"movie_id": 999999, "rating": 5}]}
    assert client.post(url, json=unknown, headers={"X-Admin-Key": ADMIN}).status_code == 404
    assert client.get(url).json()["count"] == before


def test_ambiguous_title_is_409_with_candidates(client, monkeypatch):
    from movierec.errors import AmbiguousTitleError

    engine = client.app.state.service.engine

    def ambiguous(*args, **kwargs):
        raise AmbiguousTitleError(
            "'Hamlet' matches several movies", [{"movie_id": 1, "title": "Hamlet", "year": 1996}]
        )

    monkeypatch.setattr(engine, "similar", ambiguous)
    response = client.get(f"/movies/{STAR_WARS}/similar")
    assert response.status_code == 409 and response.json()["candidates"][0]["year"] == 1996


def test_id_taken_is_409(client, monkeypatch):
    from movierec.errors import IdTakenError

    store = client.app.state.service.engine.online().store

    def taken(*args, **kwargs):
        raise IdTakenError("user id 7 is already taken")

    monkeypatch.setattr(store, "add_user", taken)
    assert client.post("/users", json={}).status_code == 409


def test_store_down_is_503_and_internal_errors_do_not_leak(client, monkeypatch):
    store = client.app.state.service.engine.online().store

    def down(*args, **kwargs):
        raise StoreUnavailableError("database is locked past the 5 s busy timeout")

    monkeypatch.setattr(store, "add_rating", down)
    response = client.post(
        "/users/1/ratings", json={"movie_id": 1, "rating": 4}, headers={"X-Admin-Key": ADMIN}
    )
    assert response.status_code == 503 and "locked" in response.json()["message"]

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/x.py")

    monkeypatch.setattr(store, "user_ratings", broken)
    response = client.get("/users/1/ratings")
    assert response.status_code == 500 and "secret" not in response.text


def test_wrong_method_names_every_allowed_one(client):
    response = client.request("DELETE", "/users/1/ratings")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_web_page_is_served_when_present(client):
    from movierec.api.app import WEB_STATIC

    assert (WEB_STATIC / "index.html").is_file()
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


# --- search by description (GET /movies/find) ---------------------------------------------------


def test_find_by_description(client):
    pytest.importorskip("sentence_transformers", reason="pip install sentence-transformers")
    response = client.get("/movies/find", params={"q": "a '50s comedy", "years": "1950s", "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["backend"] == "sentence"
    assert body["notes"] == [  # ml-100k: titles, years and genres only
        "The catalog has no overviews, keywords or tags: films are matched by their titles, "
        "years and genres alone."
    ]
    assert len(body["movies"]) == 5 and all(1950 <= m["year"] <= 1959 for m in body["movies"])
    assert sum("Comedy" in m["genres"] for m in body["movies"]) >= 4
    assert "/movies/find" in client.get("/openapi.json").json()["paths"]


def test_find_filters(client):
    body = client.get(
        "/movies/find",
        params={"q": "space adventure", "genre": "Sci-Fi", "min_rating": 3.5, "k": 5},
    ).json()
    assert body["movies"] and all("Sci-Fi" in m["genres"] for m in body["movies"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "   "}, "q"),
        ({"q": ""}, "q"),
        ({}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "comedy", "k": 0}, "k"),
        ({"q": "comedy", "min_rating": "nan"}, "min_rating"),
    ],
)
def test_find_bad_input_names_the_field(client, params, field):
    response = client.get("/movies/find", params=params)
    assert response.status_code == 422
    assert response.json()["field"] == field, response.json()


def test_find_bad_filters_are_4xx(client):
    years = client.get("/movies/find", params={"q": "comedy", "years": "abc"})
    assert years.status_code == 422 and "years" in years.json()["message"]
    genre = client.get("/movies/find", params={"q": "comedy", "genre": "Cartoons"})
    assert genre.status_code == 404 and "Cartoons" in genre.json()["message"]


# --- the embedding map ----------------------------------------------------------------------


def test_embedding_map_is_a_png(client):
    response = client.get("/plots/embeddings.png", params={"model": "mf", "n": 20})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    shares = [float(s) for s in response.headers["X-Explained-Variance"].split(",")]
    assert len(shares) == 2 and 0 < shares[1] <= shares[0] and sum(shares) < 1
    image = pytest.importorskip("matplotlib.image")
    import io

    pixels = image.imread(io.BytesIO(response.content), format="png")
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 800 and pixels[..., :3].std() > 0.05
    again = client.get("/plots/embeddings.png", params={"model": "mf", "n": 20})
    assert again.content == response.content  # cached per model and n
    assert (
        client.get("/plots/embeddings.png", params={"model": "mf", "n": 5}).content
        != response.content
    )
    assert "/plots/embeddings.png" in client.get("/openapi.json").json()["paths"]


def test_embedding_map_of_a_model_without_vectors_is_422_naming_it(client):
    response = client.get("/plots/embeddings.png", params={"model": "ease"})
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "model" and "'ease' model has no movie vectors" in body["message"]
    assert "mf" in body["allowed"]
    unknown = client.get("/plots/embeddings.png", params={"model": "deep-magic"})
    assert unknown.status_code == 422 and "deep-magic" in unknown.json()["message"]
    assert unknown.json()["field"] == "model"  # a bad parameter value, not a missing resource


@pytest.mark.parametrize("n", ["2", "201", "x", "-1"])
def test_embedding_map_bad_n_is_422_naming_n(client, n):
    response = client.get("/plots/embeddings.png", params={"model": "mf", "n": n})
    assert response.status_code == 422 and response.json()["field"] == "n"


def test_embedding_map_does_not_fit_large_unstored_models(client, monkeypatch):
    from movierec.engine import fitting

    monkeypatch.setattr(fitting, "FIT_ON_REQUEST_RATINGS", 1000)  # ml-100k counts as large now
    response = client.get("/plots/embeddings.png", params={"model": "mf-bounded"})
    assert response.status_code == 409
    assert "movierec train --model mf-bounded" in response.json()["message"]
    served = client.get("/plots/embeddings.png", params={"model": "als", "n": 10})
    assert served.status_code == 200  # the serving model is in memory already


def test_embedding_map_without_matplotlib_is_501(client, monkeypatch):
    monkeypatch.setattr("movierec.plots.embedding_map.available", lambda: False)
    response = client.get("/plots/embeddings.png")
    assert response.status_code == 501 and "movierec[plot]" in response.json()["message"]


def test_recommendations_for_a_newcomer_by_liked_genres(client):
    pytest.importorskip("torch", reason="the two-tower model trains with PyTorch")
    response = client.get("/recommendations", params={"likes": "Animation", "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] is None and body["model"] == "twotower"
    assert sum("Animation" in m["genres"] for m in body["movies"]) >= 3
    unknown = client.get("/recommendations", params={"likes": "Westerns"})
    assert unknown.status_code == 404 and "Westerns" in unknown.json()["message"]
    assert client.get("/recommendations").status_code == 422
    empty = client.get("/recommendations", params={"likes": " , "})
    assert empty.status_code == 422 and empty.json()["field"] == "likes"


def test_a_stray_value_error_is_a_500_not_a_client_error(client, monkeypatch):
    from movierec.engine.core import Engine

    def broken(self, *args, **kwargs):
        raise ValueError("a bug, not the client's mistake")

    monkeypatch.setattr(Engine, "search", broken)
    response = client.get("/movies/search", params={"q": "star"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "InternalError",
        "message": "internal error; see the service log",
    }


def test_errors_carry_their_status():
    from movierec import errors

    assert errors.UnknownUserError(1).status == errors.UnknownMovieError(1).status == 404
    assert errors.InvalidValueError("k", 0, "a positive integer").status == 422
    assert errors.IdTakenError("taken").status == errors.AmbiguousTitleError("", []).status == 409
    assert errors.StoreUnavailableError("down").status == 503
    assert errors.StoreCorruptError("damaged").status == 500  # not the client's doing
