// Report pages: the pin map of the report form, the single-report map, the clustered public map and
// the response-template picker. A static file: the content-security policy forbids inline scripts.
(function () {
  "use strict";

  function num(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  // The base map: the city's communes from the platform's own GeoJSON (the tile server is empty by
  // default, so nothing leaves the machine), plus a tile layer only when a deployment configures one.
  function baseMap(el) {
    // maxZoom on the map itself: clustering needs it, and without a tile layer nothing else sets it.
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: !!el.dataset.tileUrl, maxZoom: 19 });
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    }
    var bbox = (el.dataset.bbox || "").split(",").map(num);
    if (bbox.length === 4 && bbox.every(function (v) { return v !== null; })) {
      map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
    } else {
      map.setView([num(el.dataset.centreLat) || 16.05, num(el.dataset.centreLon) || 108.2], 12);
    }
    if (el.dataset.communesUrl) {
      fetch(el.dataset.communesUrl, { credentials: "same-origin" })
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
        .catch(function () { /* the map still works without the communes */ });
    }
    return map;
  }

  function pickMap(el) {
    var map = baseMap(el);
    var latInput = document.getElementById(el.dataset.latInput);
    var lonInput = document.getElementById(el.dataset.lonInput);
    var marker = null;

    function place(lat, lon, fromMap) {
      if (marker) {
        marker.setLatLng([lat, lon]);
      } else {
        marker = L.marker([lat, lon], { draggable: true, keyboard: true, title: el.getAttribute("aria-label") });
        marker.on("dragend", function () {
          var p = marker.getLatLng();
          place(p.lat, p.lng, true);
        });
        marker.addTo(map);
      }
      if (fromMap) {
        latInput.value = lat.toFixed(6);
        lonInput.value = lon.toFixed(6);
        // One event for the preview (htmx listens for it), not one per coordinate.
        document.body.dispatchEvent(new CustomEvent("pin-placed"));
      }
    }

    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, true); });

    function fromInputs() {
      var lat = num(latInput.value), lon = num(lonInput.value);
      if (lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
        place(lat, lon, false);
        // Typed coordinates: show the place close enough to adjust the pin with a click.
        map.setView([lat, lon], Math.max(map.getZoom(), 16), { animate: false });
      }
    }
    latInput.addEventListener("change", fromInputs);
    lonInput.addEventListener("change", fromInputs);
    fromInputs(); // a form shown again after an error keeps its pin

    if (navigator.geolocation && el.dataset.locateLabel) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm btn-outline-secondary mb-2";
      button.textContent = el.dataset.locateLabel;
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          place(pos.coords.latitude, pos.coords.longitude, true);
          map.setView([pos.coords.latitude, pos.coords.longitude], 17);
        });
      });
      el.parentNode.insertBefore(button, el.nextSibling);
    }
  }

  function showMap(el) {
    var lat = num(el.dataset.lat), lon = num(el.dataset.lon);
    var map = baseMap(el);
    if (lat !== null && lon !== null) {
      map.setView([lat, lon], 16);
      L.marker([lat, lon], { keyboard: false, interactive: false }).addTo(map);
    }
  }

  function popupFor(props) {
    // Built from DOM nodes: names come from the database and must never be parsed as HTML.
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = props.url;
    link.textContent = props.category_name + " · " + props.reference;
    var status = document.createElement("div");
    status.textContent = props.status_label;
    box.appendChild(link);
    box.appendChild(status);
    return box;
  }

  // The public map asks for the newest points in its viewport (map.json, compact rows) and asks again,
  // debounced, when the view moves, so zooming in shows reports the city-wide answer left out.
  function clusterMap(el) {
    var map = baseMap(el);
    var group = L.markerClusterGroup ? L.markerClusterGroup({ chunkedLoading: true }) : L.layerGroup();
    group.addTo(map);
    var counter = document.getElementById("reports-map-count");
    var latest = 0;
    var timer = null;

    function viewportUrl() {
      var b = map.getBounds();
      var box = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
      var url = new URL(el.dataset.url, window.location.href);
      url.searchParams.set("bbox", box.join(","));
      return url.toString();
    }

    function load() {
      var ticket = ++latest;
      fetch(viewportUrl(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (ticket !== latest) { return; } // a newer view was asked for meanwhile
          var markers = data.points.map(function (p) {
            var category = data.categories[String(p[3])] || ["", ""];
            var m = L.marker([p[0], p[1]], { title: p[2] });
            m.bindPopup(function () {
              return popupFor({ reference: p[2], category_name: category[1], status_label: data.statuses[p[4]] || p[4],
                                url: data.url + p[2] + "/" });
            });
            return m;
          });
          group.clearLayers();
          if (group.addLayers) { group.addLayers(markers); } else { markers.forEach(function (m) { group.addLayer(m); }); }
          if (counter) {
            counter.textContent = data.truncated ? (el.dataset.truncatedText || "").replace("%s", String(markers.length)) : String(markers.length);
          }
          el.dataset.loaded = String(markers.length);
        })
        .catch(function () { el.dataset.loaded = "error"; });
    }

    map.on("moveend", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(load, 250);
    });
    load();
  }

  function init() {
    if (typeof L !== "undefined") {
      document.querySelectorAll("[data-mode=pick]").forEach(pickMap);
      document.querySelectorAll("[data-mode=show]").forEach(showMap);
      document.querySelectorAll("[data-mode=cluster]").forEach(clusterMap);
    }
    // Response templates: choosing one fills the public response, which staff can still edit.
    document.querySelectorAll("select[data-fills]").forEach(function (select) {
      select.addEventListener("change", function () {
        var target = document.getElementById(select.dataset.fills);
        var source = document.querySelector('#response-templates [data-template="' + CSS.escape(select.value) + '"]');
        if (target && source) { target.value = source.textContent; }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
