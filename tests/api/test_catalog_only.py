"""A dataset without ratings (a TMDB or IMDB catalog alone) is served: search, details, charts
by its own votes and content neighbours answer; what needs ratings says so (409), never 500."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from movierec.api import Settings, create_app
from movierec.data.dataset import Dataset, empty_ratings
from movierec.data.storage import save_dataset
from movierec.home import Home

FILMS = [
    ("Alien", 1979, ["Sci-Fi", "Horror"], ["Ridley Scott"], ["alien", "space"]),
    ("Aliens", 1986, ["Sci-Fi", "Action"], ["James Cameron"], ["alien", "space marine"]),
    ("Blade Runner", 1982, ["Sci-Fi"], ["Ridley Scott"], ["android"]),
    ("Heat", 1995, ["Crime"], ["Michael Mann"], ["heist"]),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    catalog = pd.DataFrame(
        {
            "movie_id": np.arange(1, len(FILMS) + 1),
            "title": [f[0] for f in FILMS],
            "year": [f[1] for f in FILMS],
            "genres": [f[2] for f in FILMS],
            "director": [f[3] for f in FILMS],
            "keywords": [f[4] for f in FILMS],
            "vote_count": [900, 800, 700, 600],
            "vote_average": [8.5, 8.4, 8.1, 8.3],
        }
    )
    home = Home(tmp_path_factory.mktemp("catalog") / "home")
    save_dataset(Dataset("films", catalog, empty_ratings()), home)
    settings = Settings(home=home.root, dataset="films", admin_key="k")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_the_service_starts_and_says_nothing_is_served_for_ratings(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["serving_model"] is None


def test_search_charts_and_content_neighbours_answer(client):
    assert client.get("/movies/search", params={"q": "alien"}).json()["matches"]
    chart = client.get("/charts/top", params={"k": 2, "quantile": 0.5}).json()
    assert chart["movies"][0]["title"] == "Alien"
    content = client.get("/movies/1/similar").json()
    assert content["movies"][0]["title"] == "Blade Runner"
    assert content["movies"][0]["reason"] == "the same director: Ridley Scott"
    fused = client.get("/movies/1/similar", params={"by": "hybrid"}).json()
    assert fused["by"] == "content" and "no ratings" in fused["notes"][0]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/movies/1/similar?by=collab", None),
        ("GET", "/recommendations?likes=Sci-Fi", None),
        ("POST", "/users", {"ratings": [{"movie_id": 1, "rating": 5}]}),
        ("POST", "/users/1/ratings", {"movie_id": 1, "rating": 5}),
    ],
)
def test_what_needs_ratings_is_refused_with_the_reason(client, method, path, body):
    response = client.request(method, path, json=body, headers={"X-Admin-Key": "k"})
    assert response.status_code == 409
    assert response.json()["error"] == "NoRatingsError"
    assert "has no ratings" in response.json()["message"]
