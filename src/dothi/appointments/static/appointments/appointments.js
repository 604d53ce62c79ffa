// Appointment pages: nearest offices from the browser's location, the office map, the counter
// screen's focus, and showing the refusals htmx receives. A static file: the content-security policy
// forbids inline scripts.
(function () {
  "use strict";

  // A refusal (409 Conflict, 422 invalid input) carries the form with its errors: show it, as a form
  // post without JavaScript would. htmx swaps only 2xx answers unless told otherwise.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr && event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // --- Offices, nearest first ---------------------------------------------------------------------
  function locate(button, quiet) {
    var status = document.getElementById("locate-status");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var url = button.dataset.locateUrl + "?lat=" + pos.coords.latitude.toFixed(5) +
          "&lon=" + pos.coords.longitude.toFixed(5);
        if (window.htmx) {
          window.htmx.ajax("GET", url, { target: button.dataset.locateTarget, swap: "outerHTML" });
        } else {
          window.location.assign(url);
        }
      },
      function () {
        if (!quiet && status) { status.textContent = button.dataset.locateError; status.classList.remove("visually-hidden"); }
      },
      { maximumAge: 600000, timeout: 10000 }
    );
  }

  var locateButton = document.getElementById("locate-button");
  if (locateButton && navigator.geolocation) {
    locateButton.classList.remove("d-none");
    locateButton.addEventListener("click", function () { locate(locateButton, false); });
    var list = document.querySelector(locateButton.dataset.locateTarget);
    // Ask without a click only when the person already allowed it: no surprise permission prompt.
    if (list && list.dataset.located !== "1" && navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" }).then(function (result) {
        if (result.state === "granted") { locate(locateButton, true); }
      }).catch(function () { /* the button is still there */ });
    }
  }

  // --- The office on a map ------------------------------------------------------------------------
  function num(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  var mapEl = document.getElementById("office-map");
  if (mapEl && typeof L !== "undefined") {
    var lat = num(mapEl.dataset.lat), lon = num(mapEl.dataset.lon);
    var map = L.map(mapEl, { scrollWheelZoom: false, attributionControl: !!mapEl.dataset.tileUrl, maxZoom: 19 });
    if (mapEl.dataset.tileUrl) {
      L.tileLayer(mapEl.dataset.tileUrl, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    }
    if (lat !== null && lon !== null) {
      map.setView([lat, lon], 15);
      L.marker([lat, lon], { keyboard: false, interactive: false }).addTo(map);
    }
    // Without a tile server, the city's communes are the base map (nothing leaves the machine).
    if (mapEl.dataset.communesUrl) {
      fetch(mapEl.dataset.communesUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var layer = L.geoJSON(data, {
            interactive: false,
            style: { color: "#0b3d73", weight: 1, opacity: 0.6, fillColor: "#0b3d73", fillOpacity: 0.04 }
          });
          layer.addTo(map);
          layer.bringToBack();
        })
        .catch(function () { /* the marker alone still shows the place */ });
    }
  }

  // --- The counter: the check-in box is ready for the next scan ---------------------------------
  var scanInput = document.getElementById("checkin_code");
  if (scanInput) {
    document.body.addEventListener("htmx:afterSettle", function () {
      var active = document.activeElement;
      if (!active || active === document.body) {
        var input = document.getElementById("checkin_code");
        if (input) { input.focus(); }
      }
    });
  }
})();
