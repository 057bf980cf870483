// The first-admin page: the token from the link, a name and a password twice, then logged in.

import { ApiError, getJSON, postJSON } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { startShell } from "./shell.js";

// As the server checks it: letters (any script), digits and . _ @ -
const NAME = /^[\p{L}\p{N}_.@-]{1,64}$/u;
const token = new URLSearchParams(location.search).get("token") || "";
const form = $("#setup-form");
const status = $("#setup-status");

function showClosed() {
  form.hidden = true;
  $("#setup-closed").hidden = false;
}

function problem(error) {
  if (error instanceof ApiError && error.status === 422) return error.message;
  return t("load.failed", { error: error.message });
}

async function submit(event) {
  event.preventDefault();
  status.hidden = true;
  const { name, password, again } = form.elements;
  const wrong = !NAME.test(name.value.trim()) ? "setup.badName" : password.value !== again.value ? "setup.differ" : null;
  if (wrong) {
    status.textContent = t(wrong);
    status.hidden = false;
    return;
  }
  try {
    await postJSON("/api/v1/auth/setup", { token, name: name.value.trim(), password: password.value });
    location.replace("/");
  } catch (error) {
    if (error instanceof ApiError && error.status === 410) return showClosed();
    status.textContent = problem(error);
    status.hidden = false;
  }
}

startShell();
form.addEventListener("submit", submit);
getJSON(`/api/v1/auth/setup?token=${encodeURIComponent(token)}`).then(
  (state) => (state.open ? (form.hidden = false) : showClosed()),
  showClosed,
);
