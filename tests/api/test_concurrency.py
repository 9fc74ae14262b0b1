"""Concurrent reads and writes through the ASGI app: handlers run in the thread pool at once."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.conftest import ADMIN


def test_concurrent_reads_and_writes(client):
    app = client.app  # started (engine warm) by the module's TestClient
    engine = app.state.service.engine
    movie = 181
    votes_before = engine.movie(movie).votes
    writers = [client.post("/users", json={}).json() for _ in range(12)]

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            reads = [http.get(f"/users/{u}/recommendations", params={"k": 5}) for u in range(1, 41)]
            reads += [http.get("/movies/50/similar", params={"by": "collab"}) for _ in range(10)]
            reads += [http.get("/movies/search", params={"q": "alien"}) for _ in range(10)]
            writes = [
                http.post(
                    f"/users/{w['user_id']}/ratings",
                    json={"movie_id": movie, "rating": 5},
                    headers={"Authorization": f"Bearer {w['token']}"},
                )
                for w in writers
            ]
            writes += [
                http.post(
                    "/users/3/ratings",
                    json={"movie_id": m, "rating": 4},
                    headers={"X-Admin-Key": ADMIN},
                )
                for m in range(1, 13)
            ]
            return await asyncio.gather(*reads, *writes)

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * len(responses)
    assert engine.movie(movie).votes == votes_before + len(writers)  # no vote lost or doubled
    for w in writers:
        rated = client.get(f"/users/{w['user_id']}/ratings").json()
        assert [m["movie_id"] for m in rated["movies"]] == [movie]
        picks = client.get(f"/users/{w['user_id']}/recommendations").json()
        assert picks["model"] == "als" and movie not in [m["movie_id"] for m in picks["movies"]]
