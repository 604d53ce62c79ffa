// The city map of spatial layers: a switcher grouped by sector, features loaded by viewport from each
// layer's features.geojson?bbox= (at most 5,000 per layer per request), clustering for point layers,
// pop-ups with the schema's labels, and a place search box. A static file: the content-security
// policy forbids inline scripts; the layers come from a json_script block, texts from data-* attributes.
(function () {
  "use strict";

  function num(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function baseMap(el) {
    // maxZoom on the map itself: clustering needs it, and without a tile layer nothing else sets it.
    var map = L.map(el, { attributionControl: !!el.dataset.tileUrl, maxZoom: 19 });
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
          var outline = L.geoJSON(data, {
            interactive: false,
            style: { color: "#0b3d73", weight: 1, opacity: 0.5, fillColor: "#0b3d73", fillOpacity: 0.03 }
          });
          outline.addTo(map);
          outline.bringToBack();
        })
        .catch(function () { /* the map still works without the communes */ });
    }
    return map;
  }

  function node(tag, text, className) {
    var el = document.createElement(tag);
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    if (className) { el.className = className; }
    return el;
  }

  function titleOf(layer, feature) {
    var props = feature.properties || {};
    var title = layer.name_attribute ? props[layer.name_attribute] : null;
    return title !== undefined && title !== null && title !== "" ? String(title) : String(feature.id || "");
  }

  // Built from DOM nodes: names and attributes come from imported files and must never be parsed as HTML.
  function popupFor(layer, feature, texts) {
    var props = feature.properties || {};
    var box = node("div", null, "layers-popup");
    box.dataset.fid = String(feature.id || "");
    box.appendChild(node("strong", titleOf(layer, feature), "d-block"));
    box.appendChild(node("div", layer.name, "small text-body-secondary mb-1"));
    var list = node("dl", null, "layers-attributes mb-1");
    (layer.attributes || []).forEach(function (attribute) {
      var value = props[attribute.code];
      if (value === undefined || value === null || value === "") { return; }
      if (typeof value === "boolean") { value = value ? "✓" : "✗"; }
      list.appendChild(node("dt", attribute.label));
      list.appendChild(node("dd", typeof value === "object" ? JSON.stringify(value) : value));
    });
    if (list.childNodes.length) { box.appendChild(list); }
    var link = node("a", texts.details);
    link.href = layer.url;
    box.appendChild(link);
    return box;
  }

  function LayerView(map, layer, texts) {
    this.map = map;
    this.layer = layer;
    this.texts = texts;
    this.ticket = 0;
    this.on = false;
    this.toggle = document.getElementById("layer-" + layer.code);
    this.counter = document.getElementById("layer-count-" + layer.code);
    var self = this;
    var style = { color: layer.colour, weight: 3, opacity: 0.9, fillColor: layer.colour, fillOpacity: 0.25,
                  className: "layers-f layers-f-" + layer.code };
    this.clustered = layer.geometry_kind === "point" && !!L.markerClusterGroup;
    this.group = this.clustered ? L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false })
                                : L.layerGroup();
    this.options = {
      style: function () { return style; },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: layer.colour,
                                        fillOpacity: 0.95, className: "layers-f layers-point layers-f-" + layer.code });
      },
      onEachFeature: function (feature, shape) {
        shape.feature = feature;
        shape.bindPopup(function () { return popupFor(layer, feature, self.texts); });
      }
    };
  }

  LayerView.prototype.url = function () {
    var b = this.map.getBounds();
    var box = [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90), Math.min(b.getEast(), 180),
               Math.min(b.getNorth(), 90)].map(function (v) { return v.toFixed(5); });
    var url = new URL(this.layer.features_url, window.location.href);
    url.searchParams.set("bbox", box.join(","));
    return url.toString();
  };

  LayerView.prototype.load = function () {
    if (!this.on) { return Promise.resolve(); }
    var self = this;
    var url = this.url();
    // The same view asked twice (a search moved the map, then the debounced reload): one request.
    if (url === this.lastUrl && this.lastPromise) { return this.lastPromise; }
    this.lastUrl = url;
    var ticket = ++this.ticket;
    this.lastPromise = fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (ticket !== self.ticket || !self.on) { return; } // a newer view was asked for meanwhile
        var drawn = L.geoJSON(data, self.options);
        self.group.clearLayers();
        if (self.clustered) {
          self.group.addLayers(drawn.getLayers());
        } else {
          drawn.getLayers().forEach(function (shape) { self.group.addLayer(shape); });
        }
        var n = data.features.length;
        if (self.counter) { self.counter.textContent = data.next ? n + "+ (" + self.texts.more + ")" : String(n); }
        if (self.toggle) { self.toggle.dataset.count = String(n); }
      })
      .catch(function () {
        self.lastUrl = null;
        if (self.toggle) { self.toggle.dataset.count = "error"; }
      });
    return this.lastPromise;
  };

  LayerView.prototype.show = function (on) {
    this.on = on;
    this.lastUrl = null;
    if (on) {
      this.group.addTo(this.map);
      return this.load();
    }
    this.ticket++;
    this.map.removeLayer(this.group);
    this.group.clearLayers();
    if (this.counter) { this.counter.textContent = ""; }
    if (this.toggle) { delete this.toggle.dataset.count; }
    return Promise.resolve();
  };

  LayerView.prototype.open = function (fid) {
    var found = null;
    var visit = function (shape) {
      if (!found && shape.feature && String(shape.feature.id) === String(fid)) { found = shape; }
    };
    this.group.eachLayer(visit);
    if (!found) { return false; }
    // A point inside a cluster: zoom in (without animation) until it stands alone, then open it.
    if (this.clustered && this.group.getVisibleParent(found) !== found) {
      this.map.setView(found.getLatLng(), this.map.getMaxZoom(), { animate: false });
    }
    found.openPopup();
    return true;
  };

  function search(el, map, views, texts) {
    var form = document.getElementById("layers-search");
    var input = document.getElementById("layers-search-q");
    var results = document.getElementById("layers-search-results");
    if (!form || !input || !results) { return; }
    var latest = 0;
    var timer = null;

    function go(hit) {
      var bbox = hit.bbox;
      // Without animation: the new bounds hold at once, so the features loaded next are the new view's.
      if (bbox && (bbox[2] - bbox[0] > 0.0005 || bbox[3] - bbox[1] > 0.0005)) {
        map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { maxZoom: 17, animate: false });
      } else {
        map.setView([hit.lat, hit.lon], 17, { animate: false });
      }
      var view = hit.layer ? views[hit.layer] : null;
      var fallback = function () {
        L.popup().setLatLng([hit.lat, hit.lon]).setContent(node("strong", hit.label)).openOn(map);
      };
      if (!view) { fallback(); return; }
      // Turn the layer on, load the new view's features, then open the feature's pop-up.
      if (view.toggle) { view.toggle.checked = true; }
      (view.on ? view.load() : view.show(true)).then(function () {
        if (!view.open(hit.fid)) { fallback(); }
      });
    }

    function show(hits) {
      results.replaceChildren();
      if (!hits.length) {
        results.appendChild(node("li", texts.empty, "list-group-item text-body-secondary"));
        return;
      }
      hits.forEach(function (hit) {
        var item = node("li", null, "list-group-item p-0");
        var button = node("button", null, "btn btn-link text-start w-100 layers-hit");
        button.type = "button";
        button.appendChild(node("span", hit.label, "d-block"));
        button.appendChild(node("span", hit.kind === "commune" ? texts.commune : hit.layer_name, "small text-body-secondary"));
        button.addEventListener("click", function () { go(hit); });
        item.appendChild(button);
        results.appendChild(item);
      });
    }

    function run() {
      var q = input.value.trim();
      if (q.length < 2) { results.replaceChildren(); return; }
      var ticket = ++latest;
      var url = new URL(el.dataset.searchUrl, window.location.href);
      url.searchParams.set("q", q);
      fetch(url.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) { if (ticket === latest) { show(data.results || []); } })
        .catch(function () {
          if (ticket === latest) {
            results.replaceChildren(node("li", texts.error, "list-group-item text-danger"));
          }
        });
    }

    form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
    input.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(run, 300);
    });
  }

  function init() {
    var el = document.getElementById("layers-map");
    var configEl = document.getElementById("layers-config");
    document.querySelectorAll(".layer-swatch[data-colour]").forEach(function (swatch) {
      swatch.style.backgroundColor = swatch.dataset.colour;
    });
    if (!el || !configEl || typeof L === "undefined") { return; }
    var config = JSON.parse(configEl.textContent);
    var texts = { more: el.dataset.moreText || "", details: el.dataset.detailsText || "",
                  empty: el.dataset.emptyText || "", error: el.dataset.errorText || "",
                  commune: el.dataset.communeText || "" };
    var map = baseMap(el);
    var views = {};
    config.layers.forEach(function (layer) {
      var view = new LayerView(map, layer, texts);
      views[layer.code] = view;
      if (view.toggle) {
        view.toggle.addEventListener("change", function () { view.show(view.toggle.checked); });
      }
    });
    (config.shown || []).forEach(function (code) {
      if (views[code]) {
        if (views[code].toggle) { views[code].toggle.checked = true; }
        views[code].show(true);
      }
    });
    var timer = null;
    map.on("moveend", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () {
        Object.keys(views).forEach(function (code) { views[code].load(); });
      }, 250);
    });
    search(el, map, views, texts);
    el.dataset.ready = "1";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
