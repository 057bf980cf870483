// Who is looking. Each page asks once; a visitor who has to log in is sent to /login, and the
// CSRF token that comes with a login goes along with every change the page posts.

import { ApiError, getJSON, postJSON, useCsrfToken } from "./api.js";
import { h } from "./dom.js";
import { onLanguageChange, t } from "./i18n.js";
import "./words_manage.js";
import "./words_more.js";
import "./words_hotspots.js";
import "./words_work.js";

const RANK = { viewer: 1, operator: 2, admin: 3 };
let me = null;

export function may(role) {
  return (RANK[me?.role] ?? 0) >= RANK[role];
}

export function currentAccount() {
  return me;
}

// Management pages, each shown only to those whose role may use it.
const NAV = [
  { href: "/", key: "nav.overview", role: "viewer" },
  { href: "/work", key: "nav.work", role: "viewer" },
  { href: "/alerts/history", key: "nav.history", role: "viewer" },
  { href: "/hotspots", key: "nav.hotspots", role: "viewer" },
  { href: "/manage/rules", key: "nav.rules", role: "viewer" },
  { href: "/manage/devices", key: "nav.devices", role: "admin" },
  { href: "/manage/channels", key: "nav.channels", role: "admin" },
  { href: "/manage/users", key: "nav.users", role: "admin" },
  { href: "/account", key: "nav.account", role: "viewer", named: true },
];

function showNav() {
  const nav = document.getElementById("manage-nav");
  if (!nav || !me) return;
  const links = NAV.filter((link) => may(link.role) && (!link.named || !me.anonymous));
  // An anonymous visitor has nothing to manage, so sees no bar at all.
  nav.hidden = me.anonymous || links.length < 2;
  nav.replaceChildren(
    ...links.map((link) =>
      h("a", {
        href: link.href,
        text: t(link.key),
        "aria-current": location.pathname === link.href ? "page" : null,
      }),
    ),
  );
}

export function loginUrl() {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

// Resolves once the visitor may read; otherwise leaves for the login page and never resolves,
// so nothing after it in a view runs against an API that would refuse it.
export async function requireLogin() {
  try {
    me = await getJSON("/api/v1/auth/me");
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    location.replace(loginUrl());
    return new Promise(() => {});
  }
  useCsrfToken(me.csrf_token);
  showAccount();
  onLanguageChange(showAccount);
  return me;
}

function showAccount() {
  showNav();
  const slot = document.getElementById("account");
  if (!slot || !me) return;
  if (me.anonymous) {
    slot.replaceChildren(h("a", { href: loginUrl(), id: "login-link", text: t("auth.login") }));
    return;
  }
  slot.replaceChildren(
    h("span", { class: "who", text: `${me.name} · ${t(`role.${me.role}`)}` }),
    h("button", { type: "button", id: "logout", class: "lang", text: t("auth.logout"), onclick: logout }),
  );
}

async function logout() {
  await postJSON("/api/v1/auth/logout", {});
  location.reload();
}
