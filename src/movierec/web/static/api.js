// Talking to the movierec JSON API (same origin): errors, query strings, stale answers.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** Fetch JSON; a non-2xx answer becomes an ApiError carrying the server's message. */
export async function api(path, { method = "GET", body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("The server cannot be reached. Is `movierec serve` running?", 0);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(errorMessage(data, response), response.status);
  return data;
}

function errorMessage(data, response) {
  if (data && typeof data.message === "string") return data.message;
  if (data && typeof data.detail === "string") return data.detail;
  if (data && Array.isArray(data.detail) && data.detail.length) {
    const first = data.detail[0];
    return `${(first.loc || []).slice(1).join(".")}: ${first.msg}`;
  }
  return `The server answered ${response.status} ${response.statusText}`.trim();
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Run `load` for one area of the page, dropping the answer of any request it superseded. */
export function latestOnly() {
  let controller = null;
  return async (load) => {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    try {
      const result = await load(mine.signal);
      return mine === controller ? { ok: true, result } : { ok: false, stale: true };
    } catch (err) {
      if (err.name === "AbortError" || mine !== controller) return { ok: false, stale: true };
      return { ok: false, error: err };
    }
  };
}
