// What the server told the page: view, time zone, default language, optional map tiles.

const raw = document.getElementById("vb-config")?.textContent || "{}";
export const config = Object.freeze(JSON.parse(raw));
