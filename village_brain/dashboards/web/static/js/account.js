// One's own account: who one is, and changing one's password.

import { currentAccount, loginUrl, requireLogin } from "./auth.js";
import { sendJSON } from "./api.js";
import { $, h } from "./dom.js";
import { onLanguageChange, t } from "./i18n.js";
import { startShell } from "./shell.js";

function showWho() {
  const me = currentAccount();
  $("#acc-who").textContent = me.anonymous ? t("acc.anonymous") : t("acc.who", { name: me.name, role: t(`role.${me.role}`) });
  $("#acc-password").hidden = me.anonymous;
}

async function change(event) {
  event.preventDefault();
  const form = event.target;
  const error = $("#acc-error");
  error.textContent = "";
  if (form.elements.new.value !== form.elements.repeat.value) {
    error.textContent = t("acc.mismatch");
    return;
  }
  try {
    await sendJSON("PUT", "/api/v1/account/password", { current: form.elements.current.value, new: form.elements.new.value });
  } catch (failure) {
    error.textContent = t("md.failed", { error: failure.message });
    return;
  }
  // A new password ends every login, this one too.
  $("#acc-password").hidden = true;
  $("#acc-who").replaceChildren(t("acc.changed"), " ", h("a", { href: loginUrl(), id: "login-again", text: t("auth.login") }));
}

startShell();
await requireLogin();
showWho();
onLanguageChange(showWho);
$("#password-form").addEventListener("submit", change);
