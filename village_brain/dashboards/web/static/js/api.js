// Reading the JSON API. A 404 from an optional feature (alerts, rules) means "not enabled".

let csrfToken = null;

// Changes made with the login cookie must carry this token, which other sites cannot read.
export function useCsrfToken(token) {
  csrfToken = token || null;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new ApiError(response.status, await errorText(response));
  return response.json();
}

export async function optionalJSON(path) {
  try {
    return await getJSON(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export function postJSON(path, body) {
  return sendJSON("POST", path, body);
}

export async function sendJSON(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      ...(csrfToken ? { "X-CSRF-Token": csrfToken } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const error = new ApiError(response.status, await errorText(response));
    error.retryAfter = response.headers.get("Retry-After");
    throw error;
  }
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error || body.detail || response.statusText;
  } catch {
    return response.statusText;
  }
}

// Lists may come bare or wrapped ({"alerts": [...]}, {"items": [...]}).
export function listOf(body, key) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body[key])) return body[key];
  if (body && Array.isArray(body.items)) return body.items;
  return [];
}
