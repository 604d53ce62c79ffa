// The evaluation report's "Print / Save as PDF" button (no inline script: the content-security policy).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-kpi-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
