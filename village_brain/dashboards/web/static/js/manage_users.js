// Accounts, for admins: add, change role, reset a password, API tokens, end logins, remove.

import { currentAccount, may, requireLogin } from "./auth.js";
import { getJSON, postJSON, sendJSON } from "./api.js";
import { $, h } from "./dom.js";
import { onLanguageChange, t } from "./i18n.js";
import { startShell } from "./shell.js";

const ROLES = ["viewer", "operator", "admin"];
const USERS = "/api/v1/users";
let users = [];

function say(text, isError = false) {
  const line = $("#mu-status");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

function roleSelect(chosen, onchange, name) {
  const select = h("select", { class: "role-select", onchange, "aria-label": `${t("mu.col.role")} · ${name}` });
  select.replaceChildren(...ROLES.map((r) => h("option", { value: r, text: t(`role.${r}`) })));
  select.value = chosen;
  return select;
}

function showSecret(value) {
  $("#mu-secret").hidden = false;
  $("#mu-secret-value").textContent = value;
  $("#mu-secret").scrollIntoView({ block: "nearest" });
}

async function act(work, done) {
  try {
    const answer = await work();
    if (done) say(done);
    await load();
    return answer;
  } catch (error) {
    say(t("md.failed", { error: error.message }), true);
    await load().catch(() => {});
    return null;
  }
}

function row(user) {
  const name = encodeURIComponent(user.name);
  const mine = user.name === currentAccount()?.name;
  return h(
    "tr",
    { "data-user": user.name },
    h("th", { scope: "row" }, user.name, mine ? h("span", { class: "muted", text: t("mu.you") }) : null,
      h("span", { class: "sub", text: `${t("mu.col.created")} ${user.created.slice(0, 10)}` })),
    h(
      "td",
      {},
      roleSelect(user.role, (event) => {
        const role = event.target.value;
        act(() => sendJSON("PUT", `${USERS}/${name}/role`, { role }), t("mu.role.changed", { name: user.name, role: t(`role.${role}`) }));
      }, user.name),
    ),
    h("td", { class: "tokens", text: String(user.tokens) }),
    h(
      "td",
      { class: "actions-cell" },
      h(
      "span",
      { class: "row-actions" },
      h("button", {
        type: "button",
        class: "quiet reset",
        text: t("mu.reset"),
        onclick: () => {
          const password = prompt(t("mu.reset.prompt", { name: user.name }));
          if (password) act(() => sendJSON("PUT", `${USERS}/${name}/password`, { password }), t("mu.reset.done", { name: user.name }));
        },
      }),
      h("button", {
        type: "button",
        class: "quiet new-token",
        text: t("mu.token.new"),
        onclick: async () => {
          const made = await act(() => postJSON(`${USERS}/${name}/tokens`));
          if (made) showSecret(made.token);
        },
      }),
      user.tokens
        ? h("button", { type: "button", class: "quiet revoke", text: t("mu.token.revoke"),
            onclick: () => act(() => sendJSON("DELETE", `${USERS}/${name}/tokens`), t("mu.token.revoked", { name: user.name })) })
        : null,
      h("button", { type: "button", class: "quiet end-sessions", text: t("mu.sessions"),
        onclick: () => act(() => sendJSON("DELETE", `${USERS}/${name}/sessions`), t("mu.sessions.done", { name: user.name })) }),
      mine
        ? null
        : h("button", {
            type: "button",
            class: "danger remove",
            text: t("mu.remove"),
            onclick: () => {
              if (confirm(t("mu.remove.confirm", { name: user.name }))) {
                act(() => sendJSON("DELETE", `${USERS}/${name}`), t("mu.removed", { name: user.name }));
              }
            },
          }),
      ),
    ),
  );
}

function render() {
  $("#users tbody").replaceChildren(...users.map(row));
  const add = $("#add-user").elements.role;
  const chosen = add.value || "viewer";
  add.replaceChildren(...ROLES.map((r) => h("option", { value: r, text: t(`role.${r}`) })));
  add.value = chosen;
}

async function load() {
  users = await getJSON(USERS);
  render();
}

async function addUser(event) {
  event.preventDefault();
  const form = event.target;
  const body = { name: form.elements.name.value.trim(), role: form.elements.role.value, password: form.elements.password.value };
  const made = await act(() => postJSON(USERS, body), t("mu.added", { name: body.name }));
  if (made) form.reset();
}

startShell();
await requireLogin();
if (!may("admin")) {
  for (const card of document.querySelectorAll("main .card")) card.hidden = true;
  say(t("mu.admin.only"), true);
} else {
  $("#add-user").addEventListener("submit", addUser);
  await load().catch((error) => say(t("md.failed", { error: error.message }), true));
  onLanguageChange(render);
}
