// The live feed (Server-Sent Events) and the badge that says whether it is connected.

import { t } from "./i18n.js";

const KINDS = ["readings", "status", "alert", "work", "resync"];

export function connectLive(handlers) {
  const badge = document.getElementById("live-state");
  const show = (state) => {
    if (!badge) return;
    badge.dataset.state = state;
    const label = badge.querySelector(".label");
    const key = { connecting: "live.connecting", open: "live.open", closed: "live.closed" }[state];
    label.dataset.i18n = key;
    label.textContent = t(key);
  };
  const source = new EventSource("/api/v1/live");
  source.addEventListener("open", () => {
    show("open");
    // Whatever happened while the feed was down is fetched afresh.
    handlers.resync?.({ reconnected: true });
  });
  source.addEventListener("error", () => show(source.readyState === EventSource.CLOSED ? "closed" : "connecting"));
  for (const kind of KINDS) {
    source.addEventListener(kind, (event) => {
      const handler = handlers[kind];
      if (handler) handler(JSON.parse(event.data));
    });
  }
  window.addEventListener("pagehide", () => source.close());
  return source;
}
