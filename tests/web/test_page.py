"""The web page in a real browser against a real server, as a visitor uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")
pytest.importorskip("pytest_playwright", reason="pip install pytest-playwright")

from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.slow

SCREENSHOT = Path("/tmp/movierec-page.png")
KINDS = ("content", "collab", "hybrid")


def titles(page: Page, selector: str) -> list[str]:
    return page.locator(f"{selector} li .title").all_inner_texts()


def settled(page: Page, status: str) -> None:
    """Wait until the area whose status line is ``status`` has rendered its answer."""
    expect(page.locator(status)).not_to_have_class(re.compile(r"\bloading\b"))


def open_movie(page: Page, server_url: str, *, at_once: bool = False) -> None:
    """Search Toy Story by keyboard: type, ↓ into the results, Enter on the first; or, with
    ``at_once``, Enter right after typing (before the debounced search has run)."""
    page.goto(server_url)
    search = page.get_by_label("Movie title")
    if at_once:
        search.press_sequentially("toy story")
        search.press("Enter")
    else:
        search.fill("toy story")
        expect(page.locator("#search-results button").first).to_be_visible()
        search.press("ArrowDown")
        expect(page.locator("#search-results button").first).to_be_focused()
        page.keyboard.press("Enter")
    expect(page.locator("#details-title")).to_have_text("Toy Story (1995)")


def test_search_shows_three_similar_lists(page: Page, server_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_movie(page, server_url)
    for by in KINDS:
        panel = page.locator(f"#similar .panel[data-by={by}]")
        expect(panel.locator(".movies li").first).to_be_visible()
        expect(panel.locator(".status.error")).to_have_count(0)
        shown = titles(page, f"[data-by={by}]")
        assert all(t.strip() and not t.startswith("Toy Story (1995)") for t in shown), shown
    # what the first collaborative neighbour has in common with the film, under its title
    collab = page.locator("#similar .panel[data-by=collab] .movies li").first
    expect(collab.locator(".reason")).to_contain_text("rated highly by")
    expect(page.locator("#details-meta")).to_contain_text("votes")

    outside = [url for url in requested if not url.startswith(server_url + "/")]
    assert not outside, f"the page requested other hosts: {outside}"
    assert any(url.endswith("/static/app.js") for url in requested)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_similar_filters_refetch_and_errors_show_in_place(page: Page, server_url: str) -> None:
    open_movie(page, server_url)
    collab = page.locator("#similar .panel[data-by=collab]")
    expect(collab.locator(".movies li").first).to_be_visible()
    with page.expect_response(lambda r: "by=collab" in r.url and "min_rating=3.5" in r.url):
        collab.get_by_label("only well rated").check()
    settled(page, "[data-by=collab] .status")
    expect(collab.locator(".movies li").first).to_be_visible()

    content = page.locator("#similar .panel[data-by=content]")
    years = content.get_by_label("Years")
    years.fill("1990-1999")
    with page.expect_response(lambda r: "by=content" in r.url and "years=1990-1999" in r.url):
        years.press("Enter")
    settled(page, "[data-by=content] .status")
    for title in titles(page, "[data-by=content]"):
        assert re.search(r"\(199\d\)$", title), title

    years.fill("not a year")
    years.press("Enter")
    error = content.locator(".status.error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile("year", re.I))
    expect(content.locator(".movies li")).to_have_count(0)
    expect(collab.locator(".movies li").first).to_be_visible()  # other lists untouched


def test_new_visitor_rates_and_gets_recommendations(page: Page, server_url: str) -> None:
    page.goto(server_url)
    page.get_by_role("button", name="Start rating").click()
    to_rate = page.locator("#to-rate > li")
    expect(to_rate).to_have_count(8)
    expect(page.locator("#mine li").first).to_be_visible()
    visitor = page.evaluate("JSON.parse(localStorage.getItem('movierec.visitor'))")
    assert isinstance(visitor["user_id"], int) and visitor["token"]

    seen = [titles(page, "#mine")]
    for stars in (5, 4, 1):
        asked = to_rate.first.locator(".title").inner_text()
        with page.expect_response(lambda r: "/recommendations" in r.url):
            to_rate.first.locator("button.star").nth(stars - 1).click()
        expect(page.locator("#rate-status")).to_contain_text("Saved")
        expect(page.locator("#mine-status")).to_contain_text("updated")
        expect(page.locator("#to-rate .title", has_text=asked)).to_have_count(0)  # moved on
        expect(to_rate).to_have_count(8)
        seen.append(titles(page, "#mine"))
        assert seen[-1], "no recommendations after a rating"
    assert seen[1] != seen[0], "the first rating did not change the recommendations"
    assert len({tuple(s) for s in seen}) >= 3, "recommendations did not follow the ratings"
    expect(page.locator("#mine .reason").first).to_be_visible()
    expect(page.locator("#rate-who")).to_contain_text("3 films rated")

    page.reload()  # the anonymous profile survives a reload
    expect(page.locator("#rate-session")).to_be_visible()
    expect(page.locator("#mine li").first).to_be_visible()


def test_a_newcomer_skips_films_and_picks_groups(page: Page, server_url: str) -> None:
    page.goto(server_url)
    page.get_by_role("button", name="Start rating").click()
    to_rate = page.locator("#to-rate > li")
    expect(to_rate).to_have_count(8)
    asked = to_rate.first.locator(".title").inner_text()
    with page.expect_response(lambda r: "/onboarding/next" in r.url and "skipped=" in r.url):
        to_rate.first.locator("button.unseen").click()
    expect(page.locator("#rate-status")).to_contain_text("Skipped")
    expect(page.locator("#to-rate .title", has_text=asked)).to_have_count(0)
    expect(to_rate).to_have_count(8)
    visitor = page.evaluate("JSON.parse(localStorage.getItem('movierec.visitor'))")
    assert len(visitor["skipped"]) == 1

    page.get_by_text("Quicker start: pick groups of films you like").click()
    groups = page.locator("#groups .group")
    expect(groups).to_have_count(10)
    before = titles(page, "#mine")
    groups.nth(0).locator("input").check()
    groups.nth(1).locator("input").check()
    with page.expect_response(lambda r: "/recommendations" in r.url):
        page.get_by_role("button", name="Use these groups").click()
    expect(page.locator("#groups-status")).to_contain_text("Saved 8 films")
    expect(page.locator("#rate-who")).to_contain_text("8 films rated")
    expect(page.locator("#mine-status")).to_contain_text("updated")
    assert titles(page, "#mine") != before, "choosing groups did not change the picks"


def test_chart_filters_change_the_list(page: Page, server_url: str) -> None:
    page.goto(server_url)
    chart = "#chart-list"
    expect(page.locator(f"{chart} li").first).to_be_visible()
    overall = titles(page, chart)

    genre = page.get_by_label("Genre")
    expect(genre.locator("option", has_text="Horror")).to_have_count(1)
    with page.expect_response(lambda r: "/charts/top" in r.url and "genre=Horror" in r.url):
        genre.select_option("Horror")
    settled(page, "#chart-status")
    expect(page.locator(f"{chart} li").first).to_be_visible()
    horror = titles(page, chart)
    assert horror != overall

    with page.expect_response(lambda r: "years=1970s" in r.url):
        page.get_by_label("Decade").select_option("1970s")
    settled(page, "#chart-status")
    expect(page.locator(f"{chart} li").first).to_be_visible()
    seventies = titles(page, chart)
    assert seventies != horror
    assert all(re.search(r"\(197\d\)$", t) for t in seventies), seventies

    segment = page.locator("#chart-segment")
    expect(segment).to_be_visible()  # ml-100k has demographics
    genre.select_option("")
    with page.expect_response(lambda r: "segment=gender%3DF" in r.url):
        page.get_by_label("Gender").select_option("F")
    expect(page.locator("#chart-status")).to_contain_text("gender=F")


def test_existing_user_picks_beside_their_favourites(page: Page, server_url: str) -> None:
    page.goto(server_url)
    page.get_by_label("User id").fill("42")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#user-recs li").first).to_be_visible()
    expect(page.locator("#user-top li").first).to_be_visible()
    expect(page.locator("#user-recs .reason").first).to_be_visible()

    page.get_by_label("User id").fill("99999999")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#user-status.error")).to_be_visible()


def test_phone_width_single_column(page: Page, server_url: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_movie(page, server_url, at_once=True)
    expect(page.get_by_label("Movie title")).to_be_visible()
    for by in KINDS:
        expect(page.locator(f"#similar .panel[data-by={by}] .movies li").first).to_be_visible()
    boxes = page.eval_on_selector_all(
        "#similar .panel",
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )
    for above, below in zip(boxes, boxes[1:], strict=False):
        assert below["y"] >= above["y"] + above["height"] - 1, f"panels are not stacked: {boxes}"
        assert below["x"] == above["x"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"


def test_a_profile_the_server_forgot_says_so(page: Page, server_url: str) -> None:
    page.goto(server_url)
    page.evaluate(
        "localStorage.setItem('movierec.visitor', JSON.stringify("
        "{user_id: 2000000000, token: 'stale', rated: {}}))"
    )
    page.reload()
    error = page.locator("#mine-status.error")
    expect(error).to_contain_text("start over")
    page.get_by_role("button", name="Start over as someone new").click()
    expect(page.get_by_role("button", name="Start rating")).to_be_focused()


def test_search_by_description_with_filters(page: Page, server_url: str) -> None:
    pytest.importorskip("sentence_transformers", reason="pip install sentence-transformers")
    from tests.web.conftest import STARTUP_S, _get_json

    # the sentence model's first load (the stored index is the session's: conftest)
    _get_json(f"{server_url}/movies/find?q=warm&k=1", timeout=STARTUP_S * 3)
    page.goto(server_url)
    box = page.get_by_label("Or describe a film")
    box.fill("a '50s comedy")
    page.locator("#describe-years").fill("1950s")
    with page.expect_response(lambda r: "/movies/find" in r.url and "years=1950s" in r.url):
        box.press("Enter")
    settled(page, "#describe-status")
    expect(page.locator("#describe-status")).to_contain_text("by meaning")
    expect(page.locator("#describe-results li")).to_have_count(10)
    fifties = titles(page, "#describe-results")
    assert all(re.search(r"\(195\d\)$", t) for t in fifties), fifties

    with page.expect_response(
        lambda r: (
            "/movies/find" in r.url and "genre=Comedy" in r.url and "min_rating=3.5" not in r.url
        )
    ):
        page.get_by_label("Kind").select_option("Comedy")
    settled(page, "#describe-status")
    metas = page.locator("#describe-results li .meta").all_inner_texts()
    assert metas and all("Comedy" in m for m in metas), metas
    with page.expect_response(lambda r: "min_rating=3.5" in r.url):
        page.locator("#describe-well-rated").check()
    settled(page, "#describe-status")
    expect(page.locator("#describe-results li").first).to_be_visible()

    first = page.locator("#describe-results li button.title").first
    picked = first.inner_text()
    first.click()
    expect(page.locator("#details-title")).to_have_text(picked)

    box.fill("   ")
    box.press("Enter")
    expect(page.locator("#describe-status.error")).to_contain_text("Describe a film")
    expect(page.locator("#describe-results li")).to_have_count(0)


def test_a_newcomer_picks_genres_and_gets_picks_without_rating(page: Page, server_url: str) -> None:
    pytest.importorskip("torch", reason="the two-tower model trains with PyTorch")
    from tests.web.conftest import STARTUP_S, _get_json

    _get_json(f"{server_url}/recommendations?likes=Drama&k=1", timeout=STARTUP_S * 3)  # fits
    page.goto(server_url)
    show = page.get_by_role("button", name="Get picks")
    show.click()
    expect(page.locator("#likes-status.error")).to_contain_text("Pick at least one genre")
    page.locator("#likes-genres").get_by_label("Animation").check()
    with page.expect_response(lambda r: "/recommendations?" in r.url and "Animation" in r.url):
        show.click()
    settled(page, "#likes-status")
    expect(page.locator("#likes-status")).to_contain_text("fans of Animation")
    expect(page.locator("#likes-results li")).to_have_count(10)
    metas = page.locator("#likes-results li .meta").all_inner_texts()
    assert sum("Animation" in m for m in metas) >= 5, metas
