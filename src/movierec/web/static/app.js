// movierec web page: plain JavaScript modules against the JSON API served from the same origin.

import { api, latestOnly, query } from "./api.js";
import {
  $, el, fill, movieItem, ratingFacts, setStatus, stars, titleOf, votes,
} from "./ui.js";

const VISITOR_KEY = "movierec.visitor";
const TO_RATE = 8; // films listed to rate at a time
const SIMILAR_KINDS = [
  { by: "content", title: "Similar content", help: "Genres, cast, crew, keywords and story." },
  { by: "collab", title: "Liked by the same people", help: "Collaborative: rating patterns." },
  { by: "hybrid", title: "Hybrid", help: "Both lists fused by rank." },
];
const DECADES = [1930, 1940, 1950, 1960, 1970, 1980, 1990, 2000, 2010];

// --- 1. search and similar movies ----------------------------------------------------------

const searchRequest = latestOnly();
const detailsRequest = latestOnly();
const panels = [];
let currentMovie = null;
let searchTimer = 0;
let resultsFor = null; // the text whose matches are listed now

function initSearch() {
  const input = $("#search-input");
  const results = $("#search-results");
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch(input.value.trim()), 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && results.firstElementChild) {
      event.preventDefault();
      $("button", results).focus();
    } else if (event.key === "Enter") {  // choose the best match of what is typed now
      event.preventDefault();
      clearTimeout(searchTimer);
      const text = input.value.trim();
      const ready = resultsFor === text ? Promise.resolve() : runSearch(text);
      ready.then(() => {
        if (resultsFor === text) $("button", results)?.click();
      });
    }
  });
  results.addEventListener("keydown", (event) => {
    const buttons = [...results.querySelectorAll("button")];
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = at + (event.key === "ArrowDown" ? 1 : -1);
      if (next < 0) input.focus();
      else buttons[Math.min(next, buttons.length - 1)].focus();
    } else if (event.key === "Escape") {
      input.focus();
    }
  });
  const similar = $("#similar");
  for (const kind of SIMILAR_KINDS) panels.push(makePanel(kind, similar));
}

async function runSearch(text) {
  const status = $("#search-status");
  const results = $("#search-results");
  resultsFor = null;
  if (text.length < 2) {
    results.replaceChildren();
    setStatus(status, "");
    return;
  }
  setStatus(status, "Searching…", "loading");
  const answer = await searchRequest((signal) =>
    api(`/movies/search${query({ q: text, k: 8 })}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    results.replaceChildren();
    setStatus(status, answer.error.message, "error");
    return;
  }
  const movies = Array.isArray(answer.result) ? answer.result : answer.result.matches;
  setStatus(status, movies.length ? `${movies.length} matching titles` : "No title matches.");
  fill(results, movies, (movie) => {
    const li = el("li");
    const button = el("button", "result", titleOf(movie));
    button.type = "button";
    button.addEventListener("click", () => selectMovie(movie));
    li.append(button);
    return li;
  });
  resultsFor = text;
}

async function selectMovie(movie) {
  currentMovie = movie;
  resultsFor = null;
  $("#search-results").replaceChildren();
  setStatus($("#search-status"), `Showing ${titleOf(movie)}`);
  const details = $("#details");
  details.hidden = false;
  $("#details-title").textContent = titleOf(movie);
  $("#details-meta").textContent = "Loading details…";
  $("#details-overview").textContent = "";
  $("#similar").hidden = false;
  for (const panel of panels) panel.load();
  details.scrollIntoView({ block: "start", behavior: "smooth" });
  const answer = await detailsRequest((signal) => api(`/movies/${movie.movie_id}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    $("#details-meta").textContent = answer.error.message;
    return;
  }
  const info = answer.result;
  $("#details-title").textContent = titleOf(info);
  const director = info.director ? [`directed by ${info.director}`] : [];
  $("#details-meta").textContent = [(info.genres || []).join(", "), ...director,
    ...ratingFacts(info)].filter(Boolean).join(" · ");
  $("#details-overview").textContent = info.overview || "";
}

function makePanel(kind, container) {
  const root = $("#similar-panel").content.firstElementChild.cloneNode(true);
  root.dataset.by = kind.by;
  root.setAttribute("aria-label", kind.title);
  $(".panel-title", root).textContent = kind.title;
  $(".panel-help", root).textContent = kind.help;
  const wellRated = $(".well-rated", root);
  const years = $(".years", root);
  const status = $(".status", root);
  const list = $(".movies", root);
  const request = latestOnly();
  container.append(root);

  async function load() {
    if (!currentMovie) return;
    setStatus(status, "Loading…", "loading");
    const params = { by: kind.by, k: 10, min_rating: wellRated.checked ? 3.5 : "",
      years: years.value.trim() };
    const answer = await request((signal) =>
      api(`/movies/${currentMovie.movie_id}/similar${query(params)}`, { signal }));
    if (answer.stale) return;
    if (!answer.ok) {
      list.replaceChildren();
      setStatus(status, answer.error.message, "error");
      return;
    }
    const { movies, notes = [] } = answer.result;
    fill(list, movies, (m) =>
      movieItem(m, { onPick: selectMovie, facts: ratingFacts(m), reason: m.reason }));
    const text = movies.length ? notes.join(" ") : ["No film passes these filters.", ...notes]
      .join(" ");
    setStatus(status, text, notes.length || !movies.length ? "note" : "");
  }

  wellRated.addEventListener("change", load);
  years.addEventListener("change", load);
  years.addEventListener("keydown", (event) => {
    if (event.key === "Enter") load();
  });
  return { load };
}

// --- 1b. search by description --------------------------------------------------------------

const describeRequest = latestOnly();

async function initDescribe() {
  const form = $("#describe-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    runDescribe();
  });
  // Changing a filter re-runs a search already shown; typing waits for Enter or Find.
  for (const id of ["#describe-genre", "#describe-well-rated", "#describe-years"]) {
    $(id).addEventListener("change", () => {
      if ($("#describe-input").value.trim()) runDescribe();
    });
  }
  try {
    const answer = await api("/genres");
    const names = Array.isArray(answer) ? answer : answer.genres;
    for (const name of names) $("#describe-genre").append(new Option(name, name));
  } catch {
    // the search works without the genre filter
  }
}

async function runDescribe() {
  const status = $("#describe-status");
  const list = $("#describe-results");
  const text = $("#describe-input").value.trim();
  if (!text) {
    list.replaceChildren();
    setStatus(status, "Describe a film first, e.g. a '50s comedy.", "error");
    return;
  }
  const params = { q: text, k: 10, genre: $("#describe-genre").value,
    years: $("#describe-years").value.trim(),
    min_rating: $("#describe-well-rated").checked ? 3.5 : "" };
  setStatus(status, "Searching by description…", "loading");
  const answer = await describeRequest((signal) =>
    api(`/movies/find${query(params)}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    list.replaceChildren();
    setStatus(status, answer.error.message, "error");
    return;
  }
  const { movies, notes = [], backend } = answer.result;
  fill(list, movies, (m) => movieItem(m, { onPick: selectMovie, facts: ratingFacts(m) }));
  const how = backend === "sentence" ? "by meaning" : "by words (TF-IDF)";
  const head = movies.length ? `${movies.length} films matched ${how}.`
    : "No film passes these filters.";
  setStatus(status, [head, ...notes].join(" "), notes.length || !movies.length ? "note" : "");
}

// --- 1c. picks for a newcomer who only names genres ----------------------------------------

const likesRequest = latestOnly();

async function initLikes() {
  $("#likes-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runLikes();
  });
  try {
    const answer = await api("/genres");
    const names = Array.isArray(answer) ? answer : answer.genres;
    for (const name of names) {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = name;
      const label = el("label", "chip");
      label.append(box, ` ${name}`);
      $("#likes-genres").append(label);
    }
  } catch {
    $("#likes-form").hidden = true; // rating films still works
  }
}

async function runLikes() {
  const status = $("#likes-status");
  const list = $("#likes-results");
  const liked = [...document.querySelectorAll("#likes-genres input:checked")].map((b) => b.value);
  if (!liked.length) {
    list.replaceChildren();
    setStatus(status, "Pick at least one genre.", "error");
    return;
  }
  setStatus(status, `Finding films for fans of ${liked.join(" and ")}…`, "loading");
  const answer = await likesRequest((signal) =>
    api(`/recommendations${query({ likes: liked.join(","), k: 10 })}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    list.replaceChildren();
    setStatus(status, answer.error.message, "error");
    return;
  }
  fill(list, answer.result.movies, (m) => movieItem(m, {
    onPick: pickFromElsewhere, facts: ratingFacts(m), reason: m.reason }));
  setStatus(status, `Picks for fans of ${liked.join(" and ")}. Rate a few films for picks ` +
    "of your own.");
}

// --- 2. charts -----------------------------------------------------------------------------

const chartRequest = latestOnly();

async function initCharts() {
  const decade = $("#chart-decade");
  for (const start of DECADES) decade.append(new Option(`${start}s`, `${start}s`));
  $("#chart-form").addEventListener("change", loadChart);
  $("#chart-form").addEventListener("submit", (event) => event.preventDefault());
  loadChart();
  try {
    const answer = await api("/genres");
    const names = Array.isArray(answer) ? answer : answer.genres;
    for (const name of names) $("#chart-genre").append(new Option(name, name));
  } catch (err) {
    setStatus($("#chart-status"), `Genres unavailable: ${err.message}`, "error");
  }
  // Segments need user demographics: offer them only when the dataset answers one.
  try {
    await api(`/charts/top${query({ k: 1, segment: "gender=F" })}`);
    $("#chart-segment").hidden = false;
  } catch {
    $("#chart-segment").hidden = true;
  }
}

async function loadChart() {
  const status = $("#chart-status");
  const list = $("#chart-list");
  const segment = [["gender", $("#chart-gender").value], ["age", $("#chart-age").value]]
    .filter(([, value]) => value).map(([key, value]) => `${key}=${value}`).join(",");
  const params = { k: 20, genre: $("#chart-genre").value, years: $("#chart-decade").value,
    segment: $("#chart-segment").hidden ? "" : segment };
  setStatus(status, "Loading the chart…", "loading");
  const answer = await chartRequest((signal) => api(`/charts/top${query(params)}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    list.replaceChildren();
    setStatus(status, answer.error.message, "error");
    return;
  }
  const chart = answer.result;
  fill(list, chart.movies, (m) => movieItem(m, {
    onPick: pickFromElsewhere,
    facts: [`score ${Number(m.score).toFixed(2)}`, `${stars(m.mean)} average`,
      votes(m.votes)],
  }));
  const basis = `Mean C = ${stars(chart.C)}, m = ${Math.round(chart.m)} votes` +
    (chart.segment ? `, votes of ${chart.segment}` : "");
  const empty = chart.movies.length ? "" : "No film qualifies for these filters. ";
  setStatus(status, `${empty}${basis}. ${(chart.notes || []).join(" ")}`.trim());
}

function pickFromElsewhere(movie) {
  $("#find").scrollIntoView({ block: "start" });
  selectMovie(movie);
}

// --- 3. a new visitor rates films ----------------------------------------------------------

const mineRequest = latestOnly();

function visitor() {
  try {
    return JSON.parse(localStorage.getItem(VISITOR_KEY)) || null;
  } catch {
    return null;
  }
}

function saveVisitor(value) {
  if (value) localStorage.setItem(VISITOR_KEY, JSON.stringify(value));
  else localStorage.removeItem(VISITOR_KEY);
}

function initRating() {
  $("#start-rating").addEventListener("click", startRating);
  $("#groups-form").addEventListener("submit", chooseGroups);
  $("#forget-me").addEventListener("click", () => {
    saveVisitor(null);
    $("#to-rate").replaceChildren();
    for (const check of document.querySelectorAll("#groups input")) check.checked = false;
    showRating();
    $("#start-rating").focus();
  });
  showRating();
}

async function startRating() {
  const status = $("#start-status");
  const button = $("#start-rating");
  button.disabled = true;
  setStatus(status, "Creating your anonymous profile…", "loading");
  try {
    const created = await api("/users", { method: "POST", body: {} });
    saveVisitor({ user_id: created.user_id, token: created.token, rated: {}, skipped: [] });
    setStatus(status, "");
    await showRating();
    $("#to-rate button.star")?.focus();
  } catch (err) {
    setStatus(status, err.message, "error");
  } finally {
    button.disabled = false;
  }
}

async function showRating() {
  const me = visitor();
  $("#rate-start").hidden = Boolean(me);
  $("#rate-session").hidden = !me;
  if (!me) return;
  showWho(me);
  if (!$("#to-rate").childElementCount) await loadToRate();
  loadGroups();
  loadMine();
}

const toRateRequest = latestOnly();

/** The next films to ask about, from the server's strategy: they follow every answer. */
async function loadToRate() {
  const me = visitor();
  if (!me) return;
  const status = $("#to-rate-status");
  setStatus(status, "Choosing films to ask you about…", "loading");
  const params = { user_id: me.user_id, n: TO_RATE, skipped: (me.skipped || []).join(",") };
  const answer = await toRateRequest((signal) =>
    api(`/onboarding/next${query(params)}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    setStatus(status, `${answer.error.message}${staleHint(answer.error)}`, "error");
    return;
  }
  fill($("#to-rate"), answer.result.movies, rateItem);
  setStatus(status, answer.result.movies.length ? "" : "No more films to ask about.");
  refreshStars();
}

async function loadGroups() {
  const box = $("#groups");
  if (box.childElementCount) return;
  try {
    const { groups } = await api("/onboarding/groups");
    box.replaceChildren(...groups.map((group) => {
      const label = el("label", "group");
      const check = el("input");
      check.type = "checkbox";
      check.value = group.group_id;
      label.append(check, el("strong", "", group.name),
        el("span", "meta", group.movies.map(titleOf).join(" · ")));
      return label;
    }));
  } catch (err) {
    setStatus($("#groups-status"), err.message, "error");
  }
}

async function chooseGroups(event) {
  event.preventDefault();
  const me = visitor();
  if (!me) return;
  const chosen = [...document.querySelectorAll("#groups input:checked")].map((c) => Number(c.value));
  const status = $("#groups-status");
  if (!chosen.length) {
    setStatus(status, "Tick the groups you like first.", "error");
    return;
  }
  setStatus(status, "Saving…", "loading");
  try {
    const done = await api(`/users/${me.user_id}/groups`, {
      method: "POST", token: me.token, body: { groups: chosen },
    });
    const { groups } = await api("/onboarding/groups");
    const rated = { ...(me.rated || {}) };
    for (const group of groups.filter((g) => chosen.includes(g.group_id))) {
      for (const movie of group.movies) rated[movie.movie_id] = rated[movie.movie_id] || 4;
    }
    me.rated = rated;
    saveVisitor(me);
    setStatus(status, `Saved ${done.stored} films you like.`);
  } catch (err) {
    setStatus(status, `${err.message}${staleHint(err)}`, "error");
    return;
  }
  showWho(me);
  await Promise.all([loadToRate(), loadMine()]);
}

function showWho(me) {
  const count = Object.keys(me.rated || {}).length;
  $("#rate-who").textContent = `You are user ${me.user_id} · ${count} film` +
    `${count === 1 ? "" : "s"} rated.`;
}

function rateItem(movie) {
  const li = movieItem(movie, { facts: ratingFacts(movie) });
  const group = el("div", "stars");
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", `Your rating of ${movie.title}`);
  for (let value = 1; value <= 5; value += 1) {
    const button = el("button", "star", "★");
    button.type = "button";
    button.dataset.movie = movie.movie_id;
    button.dataset.value = value;
    button.setAttribute("aria-label", `${value} star${value > 1 ? "s" : ""} for ${movie.title}`);
    button.addEventListener("click", () => rate(movie, value));
    group.append(button);
  }
  const skip = el("button", "unseen link", "Haven't seen it");
  skip.type = "button";
  skip.setAttribute("aria-label", `Haven't seen ${movie.title}`);
  skip.addEventListener("click", () => skipFilm(movie));
  group.append(skip);
  li.append(group);
  return li;
}

/** "Haven't seen it" is an answer: kept in this browser and sent with the next request. */
async function skipFilm(movie) {
  const me = visitor();
  if (!me) return;
  me.skipped = [...new Set([...(me.skipped || []), movie.movie_id])];
  saveVisitor(me);
  setStatus($("#rate-status"), `Skipped: ${movie.title}.`);
  await loadToRate();
}

function refreshStars() {
  const rated = visitor()?.rated || {};
  for (const button of document.querySelectorAll("#to-rate button.star")) {
    const given = rated[button.dataset.movie] || 0;
    button.setAttribute("aria-pressed", String(Number(button.dataset.value) === given));
    button.classList.toggle("on", Number(button.dataset.value) <= given);
  }
}

async function rate(movie, value) {
  const me = visitor();
  if (!me) return;
  const status = $("#rate-status");
  setStatus(status, `Saving ${value}★ for ${movie.title}…`, "loading");
  try {
    await api(`/users/${me.user_id}/ratings`, {
      method: "POST", token: me.token, body: { movie_id: movie.movie_id, rating: value },
    });
  } catch (err) {
    setStatus(status, `${err.message}${staleHint(err)}`, "error");
    return;
  }
  me.rated = { ...(me.rated || {}), [movie.movie_id]: value };
  saveVisitor(me);
  setStatus(status, `Saved: ${movie.title}, ${value}★.`);
  showWho(me);
  refreshStars();
  await Promise.all([loadToRate(), loadMine()]);
}

/** A profile kept in this browser that the server no longer knows (its store was reset). */
function staleHint(err) {
  return [401, 403, 404].includes(err.status)
    ? " This browser's profile is unknown to the server: start over as someone new." : "";
}

async function loadMine() {
  const me = visitor();
  if (!me) return;
  const status = $("#mine-status");
  const list = $("#mine");
  setStatus(status, "Updating your recommendations…", "loading");
  const answer = await mineRequest((signal) =>
    api(`/users/${me.user_id}/recommendations${query({ k: 10 })}`, { signal }));
  if (answer.stale) return;
  if (!answer.ok) {
    list.replaceChildren();
    setStatus(status, `${answer.error.message}${staleHint(answer.error)}`, "error");
    return;
  }
  const { movies, model } = answer.result;
  fill(list, movies, (m) => movieItem(m, { onPick: pickFromElsewhere, reason: m.reason }));
  const rated = Object.keys(me.rated || {}).length;
  setStatus(status, rated ? `${movies.length} picks from the ${model} model, updated.`
    : "Rate a film to make these yours; until then, popular picks.");
}

// --- 4. an existing user of the dataset ----------------------------------------------------

const userRequest = latestOnly();

function initUser() {
  $("#user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("#user-id").value.trim();
    const status = $("#user-status");
    if (!/^\d+$/.test(id)) {
      setStatus(status, "User id: a whole number such as 42.", "error");
      return;
    }
    setStatus(status, `Loading user ${id}…`, "loading");
    const answer = await userRequest((signal) => Promise.all([
      api(`/users/${id}/recommendations${query({ k: 10 })}`, { signal }),
      api(`/users/${id}/ratings${query({ k: 10 })}`, { signal }),
    ]));
    if (answer.stale) return;
    if (!answer.ok) {
      $("#user-lists").hidden = true;
      setStatus(status, answer.error.message, "error");
      return;
    }
    const [recs, ratings] = answer.result;
    const rated = Array.isArray(ratings) ? ratings : ratings.movies || [];
    fill($("#user-recs"), recs.movies, (m) => movieItem(m, {
      onPick: pickFromElsewhere, reason: m.reason }));
    fill($("#user-top"), rated, (m) => movieItem(m, {
      onPick: pickFromElsewhere, facts: m.rating !== undefined ? [`rated ${stars(m.rating)}`] : [],
    }));
    $("#user-lists").hidden = false;
    const count = ratings.count ?? rated.length;
    setStatus(status, `User ${id} rated ${count} film${count === 1 ? "" : "s"}; ` +
      `${recs.movies.length} picks from the ${recs.model} model.`);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  initSearch();
  initDescribe();
  initLikes();
  initCharts();
  initRating();
  initUser();
});
