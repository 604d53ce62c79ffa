// The control centre's live screen: a full-width Leaflet map with every module's geojson panel as a
// layer (coloured by each feature's `level`) and the spatial layers of the catalogue in the layer
// switcher (loaded by viewport), the side panels (counts, series, lists) each refreshed by itself every
// `refresh_seconds` without reloading the page, and a side drawer for a feature's fragment or a ward's
// summary. The alarm list refreshes itself by htmx polling (see the template).
//
// A static file: the content-security policy forbids inline scripts. Configuration comes from a
// json_script element and data-* attributes; text from the modules is set as text, never parsed as
// HTML (only the fragments the modules' own pages render are inserted as HTML, from this site).
(function () {
  "use strict";

  var COLOURS = { normal: "#198754", info: "#0d6efd", warning: "#fd7e14", danger: "#dc3545", muted: "#adb5bd" };
  var RANK = { muted: 0, normal: 1, info: 2, warning: 3, danger: 4 };
  var root, cfg, map, drawer;
  // What the screen shows, for scripts and tests: per panel its features' levels and when it was drawn.
  var state = { panels: {}, levels: {}, layers: {} };
  var markers = {};  // panel code -> feature id -> its marker (the latest drawing)
  var fitted = false;  // the map has been fitted to the first points drawn

  function num(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function lang() { return document.documentElement.lang || "vi"; }

  function say(key) { return (root && root.dataset["text" + key]) || ""; }

  function levelOf(p) {
    var level = p && p.level;
    return COLOURS[level] ? level : "info";
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text === undefined || text === null ? "" : String(text);
    return div.innerHTML;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function formatNumber(value) {
    if (value === null || value === undefined || value === "") { return "–"; }
    if (typeof value !== "number") { return String(value); }
    return value.toLocaleString(lang(), { maximumFractionDigits: 1 });
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
  }

  // --- The side drawer --------------------------------------------------------------------------------

  function openDrawer(title, meta, link) {
    drawer.box.hidden = false;
    drawer.title.textContent = title || "";
    drawer.meta.textContent = "";
    if (meta) { drawer.meta.appendChild(el("div", "small text-body-secondary", meta)); }
    if (link) {
      var a = el("a", "small", say("Open"));
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener";
      drawer.meta.appendChild(a);
    }
    drawer.body.textContent = "";
    drawer.box.focus();
  }

  function loadIntoDrawer(url) {
    var mine = (drawer.ticket = (drawer.ticket || 0) + 1);
    drawer.body.textContent = say("Loading");
    drawer.box.dataset.loaded = "";
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        if (mine !== drawer.ticket) { return; }
        drawer.body.innerHTML = html;
        drawer.box.dataset.loaded = url;
        // A module may need to start its widgets in the fragment: the sensing module's script draws a
        // sensor's charts (window.dothiSensing.initCharts, loaded with this page when sensing is there).
        var sensing = window.dothiSensing;
        if (sensing && typeof sensing.initCharts === "function") { sensing.initCharts(drawer.body); }
      })
      .catch(function () {
        if (mine === drawer.ticket) { drawer.body.textContent = say("Error"); drawer.box.dataset.loaded = "error"; }
      });
  }

  function closeDrawer() {
    drawer.box.hidden = true;
    drawer.ticket = (drawer.ticket || 0) + 1;
  }

  function openFeature(panel, feature) {
    var p = feature.properties || {};
    openDrawer(p.title || p.headline || p.name || panel.title, p.meta || "", p.url || "");
    if (p.fragment) { loadIntoDrawer(p.fragment); }
  }

  function openWard(code, name) {
    openDrawer((say("Ward") ? say("Ward") + ": " : "") + (name || code), "", "");
    loadIntoDrawer(cfg.ward_url.replace("00000", encodeURIComponent(code)));
  }

  // --- The map ------------------------------------------------------------------------------------------

  function baseMap(box) {
    var m = L.map(box, { attributionControl: !!cfg.tile_url, maxZoom: 19, preferCanvas: false });
    if (cfg.tile_url) {
      L.tileLayer(cfg.tile_url, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(m);
    }
    var centre = cfg.centre || {};
    var bbox = (centre.bbox || "").split(",").map(num);
    if (bbox.length === 4 && bbox.every(function (v) { return v !== null; })) {
      m.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]]);
    } else {
      m.setView([num(centre.lat) || 16.05, num(centre.lon) || 108.2], 12);
    }
    m.createPane("wards").style.zIndex = 350;
    return m;
  }

  function wards() {
    if (!cfg.communes_url) { return; }
    getJson(cfg.communes_url).then(function (data) {
      var layer = L.geoJSON(data, {
        pane: "wards",
        style: { color: "#0b3d73", weight: 1, opacity: 0.45, fillColor: "#0b3d73", fillOpacity: 0.02 },
        onEachFeature: function (feature, shape) {
          var p = feature.properties || {};
          if (p.name) { shape.bindTooltip(p.name, { sticky: true }); }
          shape.on("click", function () { if (p.code) { openWard(p.code, p.name); } });
        }
      });
      layer.addTo(map);
      root.dataset.wards = String(data.features ? data.features.length : 0);
    }).catch(function () { root.dataset.wards = "error"; });
  }

  function clusterGroup() {
    if (typeof L.markerClusterGroup !== "function") { return L.featureGroup(); }
    return L.markerClusterGroup({
      disableClusteringAtZoom: 15, maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
      iconCreateFunction: function (cluster) {
        var worst = "muted";
        cluster.getAllChildMarkers().forEach(function (m) {
          var level = m.options.iocLevel || "info";
          if (RANK[level] > RANK[worst]) { worst = level; }
        });
        return L.divIcon({
          html: "<span>" + cluster.getChildCount() + "</span>",
          className: "ioc-cluster ioc-level-" + worst,
          iconSize: L.point(34, 34)
        });
      }
    });
  }

  function pointMarker(latlng, level, colour) {
    return L.circleMarker(latlng, {
      radius: 8, weight: 1.5, color: "#1f2937", fillColor: colour || COLOURS[level], fillOpacity: 0.9,
      className: "ioc-marker ioc-level-" + level, iocLevel: level
    });
  }

  // One geojson panel: a layer group holding its points (clustered) and its shapes; redrawn whole on
  // each refresh (a panel is a query or two, bounded).
  function geojsonPanel(panel, overlays) {
    var group = L.layerGroup();
    var points = clusterGroup();
    var shapes = L.geoJSON(null, {
      style: function (feature) {
        var level = levelOf(feature.properties);
        return { color: COLOURS[level], weight: 2, fillColor: COLOURS[level], fillOpacity: 0.2,
                 className: "ioc-shape ioc-level-" + level };
      },
      onEachFeature: function (feature, shape) {
        var p = feature.properties || {};
        shape.bindTooltip(p.title || p.headline || "", { sticky: true });
        shape.on("click", function (event) { L.DomEvent.stopPropagation(event); openFeature(panel, feature); });
      }
    });
    group.addLayer(points);
    group.addLayer(shapes);
    overlays[escapeHtml(panel.title)] = group;
    if (panel.default_on) { group.addTo(map); }
    var counter = document.querySelector('[data-panel-count="' + CSS.escape(panel.code) + '"] span');

    function draw(body) {
      var data = body.data || {};
      var features = data.features || [];
      var levels = {};
      var byId = {};
      points.clearLayers();
      shapes.clearLayers();
      var drawn = [];
      features.forEach(function (feature) {
        var p = feature.properties || {};
        var level = levelOf(p);
        var id = p.id !== undefined ? p.id : feature.id;
        if (id !== undefined && id !== null) { levels[String(id)] = level; }
        var g = feature.geometry;
        if (g && g.type === "Point" && g.coordinates && g.coordinates.length >= 2) {
          var marker = pointMarker([g.coordinates[1], g.coordinates[0]], level);
          marker.feature = feature;
          var title = p.title || p.name || "";
          marker.bindTooltip(p.meta ? title + " · " + p.meta : title);
          marker.on("click", function () { openFeature(panel, feature); });
          drawn.push(marker);
          if (id !== undefined && id !== null) { byId[String(id)] = marker; }
        } else if (g) {
          shapes.addData(feature);
        }
      });
      if (typeof points.addLayers === "function") { points.addLayers(drawn); } else {
        drawn.forEach(function (m) { points.addLayer(m); });
      }
      markers[panel.code] = byId;
      // The city's box may hold far islands: the first time, show where the live points are.
      if (!fitted && panel.default_on && drawn.length > 1) {
        fitted = true;
        map.fitBounds(L.latLngBounds(drawn.map(function (m) { return m.getLatLng(); })), { padding: [20, 20] });
      }
      state.levels[panel.code] = levels;
      state.panels[panel.code] = { count: features.length, ok: body.ok !== false, at: Date.now() };
      if (counter) { counter.textContent = String(features.length); }
      root.dataset["panel_" + panel.code.replace(/[^a-z0-9]/gi, "_")] = String(features.length);
    }

    function refresh() {
      getJson(panel.url)
        .then(draw)
        .catch(function () {
          state.panels[panel.code] = { count: 0, ok: false, at: Date.now() };
          if (counter) { counter.textContent = say("Error"); }
        })
        .then(function () { setTimeout(refresh, panel.refresh * 1000); });
    }
    refresh();
  }

  // A spatial layer of the catalogue: loaded by viewport while it is switched on.
  function catalogueLayer(item, overlays) {
    var colour = /^#[0-9a-f]{3,8}$/i.test(item.colour || "") ? item.colour : "#3366cc";
    var group = L.layerGroup();
    var points = clusterGroup();
    var shapes = L.geoJSON(null, {
      style: { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.15 },
      pointToLayer: function (feature, latlng) { return pointMarker(latlng, "info", colour); },
      onEachFeature: function (feature, shape) { shape.bindPopup(function () { return featurePopup(item, feature); }); }
    });
    group.addLayer(points);
    group.addLayer(shapes);
    var label = escapeHtml(item.name) + (item.sector ? ' <span class="small text-body-secondary">' +
      escapeHtml(item.sector) + "</span>" : "");
    overlays[label] = group;
    var ticket = 0;

    function load() {
      if (!map.hasLayer(group)) { return; }
      var b = map.getBounds();
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(5); });
      var url = item.features_url + (item.features_url.indexOf("?") >= 0 ? "&" : "?") + "bbox=" + bbox.join(",");
      var mine = ++ticket;
      getJson(url).then(function (data) {
        if (mine !== ticket) { return; }
        points.clearLayers();
        shapes.clearLayers();
        var drawn = [];
        (data.features || []).forEach(function (feature) {
          var g = feature.geometry;
          if (g && g.type === "Point") {
            var m = pointMarker([g.coordinates[1], g.coordinates[0]], "info", colour);
            m.bindPopup(function () { return featurePopup(item, feature); });
            drawn.push(m);
          } else if (g) {
            shapes.addData(feature);
          }
        });
        if (typeof points.addLayers === "function") { points.addLayers(drawn); } else {
          drawn.forEach(function (m) { points.addLayer(m); });
        }
        state.layers[item.code] = (data.features || []).length;
      }).catch(function () { state.layers[item.code] = "error"; });
    }

    group.on("add", load);
    return load;
  }

  function featurePopup(item, feature) {
    var p = feature.properties || {};
    var box = el("div");
    box.appendChild(el("strong", "", p.title || p.name || p.label || item.name));
    var list = el("dl", "small mb-0");
    Object.keys(p).filter(function (k) {
      return ["title", "name", "label", "id"].indexOf(k) < 0 && typeof p[k] !== "object";
    }).slice(0, 8).forEach(function (k) {
      list.appendChild(el("dt", "fw-normal text-body-secondary", k));
      list.appendChild(el("dd", "mb-1", p[k]));
    });
    box.appendChild(list);
    return box;
  }

  // --- Side panels ----------------------------------------------------------------------------------

  function renderCounts(body, data) {
    var list = el("div");
    (data.items || []).forEach(function (item) {
      var row = el("div", "ioc-figure");
      var label = item.url ? el("a", "", item.label) : el("span", "", item.label);
      if (item.url) { label.href = item.url; label.target = "_blank"; label.rel = "noopener"; }
      row.appendChild(label);
      var value = el("span", "ioc-figure-value" + (item.level ? " ioc-text-" + item.level : ""), formatNumber(item.value));
      row.appendChild(value);
      list.appendChild(row);
    });
    body.textContent = "";
    body.appendChild(list.childNodes.length ? list : el("span", "small text-body-secondary", say("Empty")));
  }

  function renderList(body, data) {
    var items = data.items || [];
    body.textContent = "";
    if (!items.length) { body.appendChild(el("span", "small text-body-secondary", say("Empty"))); return; }
    var list = el("ul");
    items.slice(0, 12).forEach(function (item) {
      var li = el("li", "ioc-alarm ioc-alarm-" + levelOf(item));
      var title = item.title || item.label || "";
      var head = item.url ? el("a", "", title) : el("span", "", title);
      if (item.url) { head.href = item.url; head.target = "_blank"; head.rel = "noopener"; }
      li.appendChild(head);
      var meta = [];
      if (item.meta) { meta.push(item.meta); }
      if (item.at) {
        var d = new Date(item.at);
        if (!isNaN(d)) { meta.push(d.toLocaleString(lang(), { dateStyle: "short", timeStyle: "short" })); }
      }
      if (meta.length) { li.appendChild(el("div", "small text-body-secondary", meta.join(" · "))); }
      list.appendChild(li);
    });
    body.appendChild(list);
  }

  var SERIES_COLOURS = ["#0b3d73", "#dc3545", "#198754", "#fd7e14", "#6f42c1"];

  function renderSeries(body, data, box) {
    var labels = data.labels || [];
    var series = data.series || [];
    var times = labels.map(function (t) { var ms = Date.parse(t); return isNaN(ms) ? null : ms / 1000; });
    if (!labels.length || !series.length || times.some(function (t) { return t === null; })) {
      if (box.plot) { box.plot.destroy(); box.plot = null; }
      body.textContent = "";
      body.appendChild(el("span", "small text-body-secondary", say("Empty")));
      return;
    }
    var columns = [times].concat(series.map(function (s) { return s.values || []; }));
    // A table for screen readers and without uPlot: the last values of each series.
    var summary = series.map(function (s) {
      var values = s.values || [];
      return s.label + ": " + formatNumber(values[values.length - 1]) + (data.unit ? " " + data.unit : "");
    }).join(" · ");
    if (typeof uPlot === "undefined") {
      body.textContent = summary;
      return;
    }
    if (box.plot && box.plot.series.length === columns.length) {
      box.plot.setData(columns);
      box.querySelector("[data-series-summary]").textContent = summary;
      return;
    }
    if (box.plot) { box.plot.destroy(); box.plot = null; }
    body.textContent = "";
    var target = el("div", "ioc-chart");
    body.appendChild(target);
    var caption = el("p", "small text-body-secondary mb-0", summary);
    caption.setAttribute("data-series-summary", "");
    body.appendChild(caption);
    var width = Math.max(240, body.clientWidth || 320);
    box.plot = new uPlot({
      width: width,
      height: 150,
      legend: { show: false },
      scales: { x: { time: true } },
      axes: [{ size: 30 }, { size: 44, values: function (u, splits) { return splits.map(formatNumber); } }],
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.label, stroke: SERIES_COLOURS[i % SERIES_COLOURS.length], width: 2,
                 points: { show: labels.length < 40 } };
      }))
    }, columns, target);
  }

  function sidePanel(box) {
    var body = box.querySelector("[data-panel-body]");
    var status = box.querySelector("[data-panel-status]");
    var every = Math.max(2, parseInt(box.dataset.refresh, 10) || 15);
    var kind = box.dataset.kind;

    function refresh() {
      getJson(box.dataset.url)
        .then(function (answer) {
          var data = answer.data || {};
          if (kind === "counts") { renderCounts(body, data); }
          else if (kind === "series") { renderSeries(body, data, box); }
          else { renderList(body, data); }
          status.textContent = answer.ok === false ? say("Error") : "";
          box.dataset.updated = String(Date.now());
          box.dataset.ok = answer.ok === false ? "false" : "true";
        })
        .catch(function () { status.textContent = say("Error"); box.dataset.ok = "false"; })
        .then(function () { setTimeout(refresh, every * 1000); });
    }
    refresh();
  }

  // --- Start ----------------------------------------------------------------------------------------

  function start() {
    root = document.getElementById("ioc-screen");
    var source = document.getElementById("ioc-config");
    if (!root || !source) { return; }
    cfg = JSON.parse(source.textContent);
    drawer = {
      box: document.getElementById("ioc-drawer"),
      title: document.getElementById("ioc-drawer-title"),
      meta: document.getElementById("ioc-drawer-meta"),
      body: document.getElementById("ioc-drawer-body")
    };
    document.getElementById("ioc-drawer-close").addEventListener("click", closeDrawer);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !drawer.box.hidden) { closeDrawer(); }
    });
    document.querySelectorAll("[data-panel]").forEach(sidePanel);
    if (typeof L === "undefined") { return; }
    map = baseMap(document.getElementById("ioc-map"));
    wards();
    var live = {};
    var spatial = {};
    (cfg.panels || []).forEach(function (panel) { geojsonPanel(panel, live); });
    var loaders = (cfg.layers || []).map(function (item) { return catalogueLayer(item, spatial); });
    var overlays = {};
    Object.keys(live).forEach(function (k) { overlays[k] = live[k]; });
    Object.keys(spatial).forEach(function (k) { overlays[k] = spatial[k]; });
    if (Object.keys(overlays).length) {
      L.control.layers(null, overlays, { collapsed: window.innerWidth < 992 }).addTo(map);
    }
    var timer = null;
    map.on("moveend", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () { loaders.forEach(function (load) { load(); }); }, 250);
    });
    // An alarm with a place: its title in the list centres the map there (the list is swapped by htmx,
    // hence one listener on the document).
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest(".ioc-locate");
      if (!button) { return; }
      var lat = num(button.dataset.lat), lon = num(button.dataset.lon);
      if (lat !== null && lon !== null) { map.setView([lat, lon], Math.max(map.getZoom(), 16)); }
    });
    root.dataset.ready = "true";
  }

  window.dothiIoc = {
    state: state,
    level: function (panel, id) { return (state.levels[panel] || {})[String(id)] || null; },
    marker: function (panel, id) { return (markers[panel] || {})[String(id)] || null; },
    map: function () { return map; }
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
