// Staff pages of warnings: drawing a warning's area on a map (it fills the GeoJSON textarea), and the
// control centre's map of "I need help" / "I am safe" replies. A static file: the content-security
// policy forbids inline scripts. Notes typed by citizens are set as text, never parsed as HTML.
(function () {
  "use strict";

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
      map.setView([16.05, 108.2], 11);
    }
    if (el.dataset.communesUrl) {
      fetch(el.dataset.communesUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var layer = L.geoJSON(data, {
            interactive: false,
            style: { color: "#0b3d73", weight: 1, opacity: 0.5, fillColor: "#0b3d73", fillOpacity: 0.03 }
          });
          layer.addTo(map);
          layer.bringToBack();
        })
        .catch(function () { /* the map still works without the communes */ });
    }
    return map;
  }

  // --- Drawing the area ---------------------------------------------------------------------------

  function areaMap(el) {
    var textarea = document.getElementById(el.dataset.target || "");
    var finish = document.getElementById("area-finish");
    var clear = document.getElementById("area-clear");
    if (!textarea) { return; }
    var map = baseMap(el);
    var points = [];
    var sketch = L.polyline([], { color: "#dc3545", weight: 2, dashArray: "4 4" }).addTo(map);
    var shape = L.geoJSON(null, { style: { color: "#dc3545", weight: 2, fillOpacity: 0.15 } }).addTo(map);
    finish.hidden = false;
    clear.hidden = false;

    function showText() {
      shape.clearLayers();
      var text = textarea.value.trim();
      if (!text) { return; }
      try {
        shape.addData(JSON.parse(text));
        var bounds = shape.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 }); }
      } catch (e) { /* not GeoJSON yet: the server says so on submit */ }
    }

    map.on("click", function (event) {
      points.push([event.latlng.lat, event.latlng.lng]);
      sketch.setLatLngs(points);
    });
    finish.addEventListener("click", function () {
      if (points.length < 3) { return; }
      var ring = points.map(function (p) { return [Number(p[1].toFixed(6)), Number(p[0].toFixed(6))]; });
      ring.push(ring[0]);
      textarea.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      points = [];
      sketch.setLatLngs([]);
      showText();
    });
    clear.addEventListener("click", function () {
      points = [];
      sketch.setLatLngs([]);
      textarea.value = "";
      shape.clearLayers();
    });
    textarea.addEventListener("change", showText);
    showText();
  }

  // --- Safety replies -----------------------------------------------------------------------------

  var COLOURS = { help: "#dc3545", handled: "#adb5bd", safe: "#198754" };

  function repliesMap(el) {
    var map = baseMap(el);
    var counter = document.getElementById(el.dataset.counter || "");
    fetch(el.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          pointToLayer: function (feature, latlng) {
            var p = feature.properties;
            var colour = p.status === "safe" ? COLOURS.safe : (p.handled ? COLOURS.handled : COLOURS.help);
            return L.circleMarker(latlng, { radius: 7, weight: 1.5, color: "#1f2937", fillColor: colour,
                                            fillOpacity: 0.9 });
          },
          onEachFeature: function (feature, marker) {
            var p = feature.properties;
            marker.bindPopup(function () {
              var box = document.createElement("div");
              var title = document.createElement("strong");
              title.textContent = p.status === "safe" ? el.dataset.textSafe : el.dataset.textNeedHelp;
              box.appendChild(title);
              if (p.handled) { box.appendChild(document.createTextNode(" (" + el.dataset.textHandled + ")")); }
              var meta = document.createElement("div");
              meta.className = "small text-body-secondary";
              meta.textContent = [p.commune, new Date(p.at).toLocaleString(document.documentElement.lang || "vi")]
                .filter(Boolean).join(" · ");
              box.appendChild(meta);
              if (p.note) {
                var note = document.createElement("div");
                note.textContent = p.note;
                box.appendChild(note);
              }
              return box;
            });
          }
        }).addTo(map);
        var bounds = layer.getBounds();
        if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 }); }
        if (counter) { counter.textContent = String(data.features.length); }
        el.dataset.loaded = String(data.features.length);
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }

  function start() {
    if (typeof L === "undefined") { return; }
    var area = document.getElementById("area-map");
    if (area) { areaMap(area); }
    var replies = document.getElementById("replies-map");
    if (replies) { repliesMap(replies); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
