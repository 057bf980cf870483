// The login page: name and password, then back to the page that sent the visitor here.

import { ApiError, postJSON } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { startShell } from "./shell.js";

// Only a path on this server: "//host" or "/\host" would leave it.
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !/^\/[/\\]/.test(next) ? next : "/";
}

function problem(error) {
  if (error instanceof ApiError && error.status === 401) return t("login.wrong");
  if (error instanceof ApiError && error.status === 429) {
    return t("login.throttled", { seconds: error.retryAfter ?? "…" });
  }
  return t("load.failed", { error: error.message });
}

startShell();
const form = $("#login-form");
const status = $("#login-status");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.hidden = true;
  try {
    await postJSON("/api/v1/auth/login", { name: form.elements.name.value.trim(), password: form.elements.password.value });
    location.replace(nextPage());
  } catch (error) {
    form.elements.password.value = "";
    status.textContent = problem(error);
    status.hidden = false;
  }
});
