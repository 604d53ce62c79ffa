// Warning pages: the public map of active warnings (Leaflet, from the installed django-js-lib-leaflet
// package), the "share my location" box of the "are you safe?" answer, and the commune search of the
// subscription form. A static file: the content-security policy forbids inline scripts. Texts from
// the server are set as text, never parsed as HTML.
(function () {
  "use strict";

  // Colours of the severities, worst last (as the badges on the page).
  var COLOURS = { Extreme: "#6a040f", Severe: "#d62828", Moderate: "#f28c28", Minor: "#2e9ec4", Unknown: "#6c757d" };
  var NEWS_COLOUR = "#0b5ed7";

  function num(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function baseMap(el) {
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: !!el.dataset.tileUrl, maxZoom: 19 });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    }
    var bbox = (el.dataset.bbox || "").split(",").map(num);
    if (bbox.length === 4 && bbox.every(function (v) { return v !== null; })) {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
    } else {
      map.setView([num(el.dataset.centreLat) || 16.05, num(el.dataset.centreLon) || 108.2], 11);
    }
    if (el.dataset.communesUrl) {
      fetch(el.dataset.communesUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var layer = L.geoJSON(data, {
            interactive: false,
            style: { color: "#0b3d73", weight: 1, opacity: 0.35, fillOpacity: 0 }
          });
          layer.addTo(map);
          layer.bringToBack();
        })
        .catch(function () { /* the map still works without the communes */ });
    }
    return map;
  }

  function popupFor(props, approximateText) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = props.url;
    link.className = "fw-semibold";
    link.textContent = props.headline;
    box.appendChild(link);
    var meta = document.createElement("div");
    meta.className = "small";
    meta.textContent = props.category_name + (props.is_news ? "" : " · " + props.severity_label);
    box.appendChild(meta);
    if (props.area) {
      var area = document.createElement("div");
      area.className = "small text-body-secondary";
      area.textContent = props.area;
      box.appendChild(area);
    }
    if (props.approximate && approximateText) {
      var note = document.createElement("div");
      note.className = "small fst-italic";
      note.textContent = approximateText;
      box.appendChild(note);
    }
    return box;
  }

  function warningMap(el) {
    var map = baseMap(el);
    var counter = document.getElementById("alerts-map-count");
    fetch(el.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var features = (data.features || []).slice();
        // Draw the mildest first so the worst lie on top.
        features.sort(function (a, b) { return a.properties.severity_rank - b.properties.severity_rank; });
        var layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
          style: function (f) {
            var colour = f.properties.is_news ? NEWS_COLOUR : (COLOURS[f.properties.severity] || COLOURS.Unknown);
            return { color: colour, weight: 2, opacity: 0.9, fillColor: colour, fillOpacity: 0.3 };
          },
          onEachFeature: function (f, l) {
            l.bindTooltip(f.properties.headline);
            l.bindPopup(function () { return popupFor(f.properties, el.dataset.approximateText); });
            if (l.getElement) {
              l.on("add", function () {
                var path = l.getElement();
                if (path) { path.setAttribute("data-uid", f.properties.uid); }
              });
            }
          }
        }).addTo(map);
        if (features.length) {
          var bounds = layer.getBounds();
          if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 }); }
        }
        if (counter) { counter.textContent = String(features.length); }
        el.dataset.loaded = String(features.length);
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }

  // --- "Share my location" of the safety answer -----------------------------------------------------

  function shareLocation(box) {
    var lat = document.getElementById(box.dataset.lat);
    var lon = document.getElementById(box.dataset.lon);
    var status = document.getElementById(box.dataset.status);
    function say(key) { if (status) { status.textContent = status.dataset[key] || ""; } }
    box.addEventListener("change", function () {
      if (!box.checked) {
        lat.value = ""; lon.value = ""; say("none");
        return;
      }
      if (!navigator.geolocation) { box.checked = false; say("failed"); return; }
      say("wait");
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lon.value = pos.coords.longitude.toFixed(6);
          say("done");
        },
        function () { box.checked = false; lat.value = ""; lon.value = ""; say("failed"); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  // --- Commune search of the subscription form --------------------------------------------------------

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }

  function communeSearch(input) {
    var selects = document.querySelectorAll(input.dataset.filter);
    input.addEventListener("input", function () {
      var q = fold(input.value.trim());
      selects.forEach(function (select) {
        Array.prototype.forEach.call(select.options, function (option) {
          // A chosen commune and the empty choice always stay visible.
          var keep = !q || !option.value || option.selected || fold(option.textContent).indexOf(q) !== -1;
          option.hidden = !keep;
        });
      });
    });
  }

  function start() {
    var el = document.getElementById("alerts-map");
    if (el && window.L) { warningMap(el); }
    var box = document.getElementById("safety-share-location");
    if (box) { shareLocation(box); }
    var search = document.getElementById("commune-search");
    if (search) { communeSearch(search); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
