// Places the bars of the programme's Gantt view (templates/programme/_gantt.html): each element carries
// its position as fractions (0–1) of the period in data-start / data-width (or data-end) / data-at, and a
// project's progress (0–100) in data-progress. Styles are set through the CSSOM, which the
// content-security policy allows (inline style attributes it does not).
(function () {
  "use strict";
  function pct(value) {
    var n = parseFloat(value);
    if (!isFinite(n)) { return null; }
    return Math.min(100, Math.max(0, n * 100));
  }
  function place(root) {
    root.querySelectorAll("[data-start]").forEach(function (el) {
      var start = pct(el.dataset.start);
      var width = el.dataset.width !== undefined ? pct(el.dataset.width)
        : pct(parseFloat(el.dataset.end) - parseFloat(el.dataset.start));
      if (start === null || width === null) { return; }
      el.style.left = start + "%";
      el.style.width = Math.max(width, 0.5) + "%";
    });
    root.querySelectorAll("[data-at]").forEach(function (el) {
      var at = pct(el.dataset.at);
      if (at !== null) { el.style.left = at + "%"; }
    });
    root.querySelectorAll("[data-progress]").forEach(function (el) {
      var p = parseFloat(el.dataset.progress);
      if (isFinite(p)) { el.style.width = Math.min(100, Math.max(0, p)) + "%"; }
    });
    root.dataset.ready = "true";
  }
  function init() { document.querySelectorAll("[data-gantt]").forEach(place); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
