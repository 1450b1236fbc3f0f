// Live updates of the status page through Server-Sent Events; the page reads the same without this.
"use strict";
(function () {
  const live = document.getElementById("live");
  const body = document.querySelector("#sites tbody");
  const headline = document.getElementById("headline");
  if (!body || !window.EventSource) return;
  function update(site) {
    const row = document.getElementById("site-" + site.id);
    if (!row) return;
    const badge = row.querySelector(".badge");
    badge.className = "badge state-" + site.state;
    badge.querySelector(".shape").textContent = site.shape;
    badge.querySelector(".label").textContent = site.label;
    row.querySelector(".since").textContent = site.sinceText;
    row.querySelector(".reason").textContent = site.reason;
    row.querySelector(".certificate").textContent = site.certificateText;
    row.querySelectorAll("td.uptime").forEach(function (cell) {
      const text = site.uptimeText[cell.dataset.span];
      if (text !== undefined) cell.textContent = text;
    });
    row.dataset.rank = site.rank;
  }
  function reorder() {
    const rows = Array.from(body.rows);
    rows.sort(function (a, b) { return (a.dataset.rank - b.dataset.rank) || (a.dataset.order - b.dataset.order); });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function connect() {
    const events = new EventSource("/events");
    events.addEventListener("open", function () { live.dataset.state = "on"; });
    events.addEventListener("error", function () {
      live.dataset.state = "off";
      // A lost connection is tried again by the browser itself; an answer that is not a stream (a 503: every
      // place taken) closes it for good, so the page asks again, 5 to 10 s later (not all pages at once).
      if (events.readyState === EventSource.CLOSED) window.setTimeout(connect, 5000 + Math.random() * 5000);
    });
    events.addEventListener("sites", function (message) {
      const news = JSON.parse(message.data);
      news.sites.forEach(update);
      reorder();
      if (headline && news.headline) headline.textContent = news.headline;
      live.textContent = "updated " + news.at.slice(0, 16).replace("T", " ") + " UTC";
    });
    // The list of sites changed (a reloaded config): rows come and go, which only the server draws.
    events.addEventListener("reload", function () { window.location.reload(); });
  }
  connect();
  // Hover shows a bar's title; focus (keyboard) shows it under the strip too.
  body.addEventListener("focusin", function (event) {
    const title = event.target.querySelector && event.target.querySelector("title");
    const detail = event.target.closest("td") && event.target.closest("td").querySelector(".detail");
    if (title && detail) detail.textContent = title.textContent;
  });
})();
