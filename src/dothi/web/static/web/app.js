// dothi shell behaviour. A static file: the content-security policy forbids inline scripts.
(function () {
  "use strict";

  // Installable app: register the service worker whose URL the page gives in data-sw-url.
  var body = document.body;
  var swUrl = body && body.getAttribute("data-sw-url");
  if (swUrl && "serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(swUrl).catch(function () {
        // Offline support is an enhancement: the site works without it.
      });
    });
  }

  // The language form has a submit button for keyboards and no-JS; with JS, changing the select submits.
  document.querySelectorAll("form.lang-form").forEach(function (form) {
    var select = form.querySelector("select");
    var button = form.querySelector("button[type=submit]");
    if (!select) {
      return;
    }
    select.addEventListener("change", function () {
      form.submit();
    });
    if (button) {
      button.classList.add("visually-hidden-focusable");
    }
  });
})();
