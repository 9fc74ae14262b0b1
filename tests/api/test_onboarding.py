"""The onboarding routes on real ml-100k: films to ask about, skips, groups."""

from __future__ import annotations

STAR_WARS = 50


def next_ids(client, **params):
    response = client.get("/onboarding/next", params=params)
    assert response.status_code == 200, response.text
    return [m["movie_id"] for m in response.json()["movies"]]


def test_a_visitor_gets_films_to_rate_that_follow_the_answers(client):
    first = client.get("/onboarding/next", params={"n": 5}).json()
    assert first["strategy"] == "adaptive" and first["rated"] == 0 and len(first["movies"]) == 5
    created = client.post("/users", json={"ratings": [{"movie_id": STAR_WARS, "rating": 5}]})
    user = created.json()["user_id"]
    after = next_ids(client, user_id=user, n=5)
    assert STAR_WARS not in after and after != [m["movie_id"] for m in first["movies"]]


def test_films_skipped_are_not_asked_again_and_move_the_questions(client):
    first = next_ids(client, n=3)
    after = next_ids(client, n=3, skipped=",".join(map(str, first)))
    assert not set(first) & set(after)
    chart = next_ids(client, n=3, strategy="chart")
    assert chart[0] == STAR_WARS


def test_bad_onboarding_parameters_name_the_field(client):
    for params, field in (
        ({"strategy": "astrology"}, "strategy"),
        ({"skipped": "1,two"}, "skipped"),
        ({"n": 0}, "n"),
    ):
        response = client.get("/onboarding/next", params=params)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert client.get("/onboarding/next", params={"skipped": "999999"}).status_code == 404


def test_groups_are_named_and_choosing_them_stores_their_films_as_liked(client):
    groups = client.get("/onboarding/groups").json()["groups"]
    assert 6 <= len(groups) <= 10
    assert all(g["name"] and 3 <= len(g["movies"]) <= 5 for g in groups)
    created = client.post("/users", json={}).json()
    user, token = created["user_id"], created["token"]
    chosen = [groups[0]["group_id"], groups[1]["group_id"]]
    refused = client.post(f"/users/{user}/groups", json={"groups": chosen})
    assert refused.status_code == 401
    auth = {"authorization": f"Bearer {token}"}
    stored = client.post(f"/users/{user}/groups", json={"groups": chosen}, headers=auth)
    films = {m["movie_id"] for g in groups[:2] for m in g["movies"]}
    assert stored.status_code == 200 and stored.json()["stored"] == len(films)
    mine = client.get(f"/users/{user}/ratings", params={"k": 50}).json()["movies"]
    assert {m["movie_id"] for m in mine} == films and {m["rating"] for m in mine} == {4.0}
    assert not films & set(next_ids(client, user_id=user, n=10))
    unknown = client.post(f"/users/{user}/groups", json={"groups": [99]}, headers=auth)
    assert unknown.status_code == 422 and unknown.json()["field"] == "groups"
