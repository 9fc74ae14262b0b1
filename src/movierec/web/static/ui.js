// Rendering helpers shared by every part of the page; text only, never HTML from data.

export const $ = (selector, root = document) => root.querySelector(selector);

export function setStatus(el, text, kind = "") {
  el.textContent = text;
  el.className = `status ${kind}`.trim();
  el.closest(".panel, section")?.setAttribute("aria-busy", String(kind === "loading"));
}

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function titleOf(movie) {
  return movie.year ? `${movie.title} (${movie.year})` : movie.title;
}

export function votes(count) {
  const n = Number(count);
  return `${n.toLocaleString()} vote${n === 1 ? "" : "s"}`;
}

export function stars(value) {
  return `${Number(value).toFixed(1)}★`;
}

/** One movie as a list item: a title (a button when `onPick` is given) and a line of figures. */
export function movieItem(movie, { onPick, facts = [], reason } = {}) {
  const li = el("li", "movie");
  if (onPick) {
    const button = el("button", "title link", titleOf(movie));
    button.type = "button";
    button.title = "Show this film and its neighbours";
    button.addEventListener("click", () => onPick(movie));
    li.append(button);
  } else {
    li.append(el("span", "title", titleOf(movie)));
  }
  const parts = [...facts];
  if (Array.isArray(movie.genres) && movie.genres.length) parts.unshift(movie.genres.join(", "));
  if (parts.length) li.append(el("span", "meta", parts.join(" · ")));
  if (reason) li.append(el("span", "reason", reason));
  return li;
}

export function ratingFacts(movie) {
  const facts = [];
  const mean = movie.mean_rating ?? movie.mean;
  if (mean !== undefined && mean !== null) facts.push(`${stars(mean)} average`);
  if (movie.votes !== undefined) facts.push(votes(movie.votes));
  return facts;
}

export function fill(list, movies, toItem) {
  list.replaceChildren(...movies.map(toItem));
}
