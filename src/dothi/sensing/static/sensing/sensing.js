// Sensor pages: the public map of sensors coloured by their latest values, and a sensor's charts
// (uPlot, from the installed `youplot` package). A static file: the content-security policy forbids
// inline scripts; colours come from the JSON answer, names are set as text, never parsed as HTML.
(function () {
  "use strict";

  function num(value) {
    var n = parseFloat(value);
    return isFinite(n) ? n : null;
  }

  function lang() {
    return document.documentElement.lang || "vi";
  }

  function formatValue(value, digits) {
    if (value === null || value === undefined) { return "–"; }
    return Number(value).toLocaleString(lang(), { maximumFractionDigits: digits === undefined ? 1 : digits });
  }

  // --- The map ------------------------------------------------------------------------------------

  function baseMap(el) {
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
            style: { color: "#0b3d73", weight: 1, opacity: 0.5, fillColor: "#0b3d73", fillOpacity: 0.03 }
          });
          layer.addTo(map);
          layer.bringToBack();
        })
        .catch(function () { /* the map still works without the communes */ });
    }
    return map;
  }

  function popupFor(data, p) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = data.url + encodeURIComponent(p[2]) + "/";
    link.textContent = p[3];
    box.appendChild(link);
    var meta = document.createElement("div");
    meta.className = "small text-body-secondary";
    var kind = data.kinds[p[4]] || ["", ""];
    var status = data.statuses[p[5]] || ["", ""];
    meta.textContent = kind[1] + " · " + status[1];
    box.appendChild(meta);
    var values = p[7] || [];
    if (values.length) {
      var list = document.createElement("ul");
      list.className = "list-unstyled mb-0 mt-1";
      values.forEach(function (v) {
        var q = data.quantities[v[0]] || ["", "", "", 1];
        var item = document.createElement("li");
        item.textContent = q[1] + ": " + formatValue(v[1], q[3]) + " " + q[2] + (v[2] ? " (" + v[3] + ")" : "");
        list.appendChild(item);
      });
      box.appendChild(list);
    } else {
      var none = document.createElement("div");
      none.textContent = data.no_data_text || "";
      box.appendChild(none);
    }
    return box;
  }

  function sensorMap(el) {
    var map = baseMap(el);
    var renderer = L.canvas({ padding: 0.3 });
    var group = L.layerGroup().addTo(map);
    var counter = document.getElementById(el.dataset.counter || "");
    fetch(el.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var markers = data.points.map(function (p) {
          var level = data.levels[p[6]] || data.levels[0];
          var marker = L.circleMarker([p[0], p[1]], {
            renderer: renderer, radius: 7, weight: 1.5, color: "#1f2937", fillColor: level[1], fillOpacity: 0.9
          });
          marker.bindTooltip(p[3]);
          marker.bindPopup(function () { return popupFor(data, p); });
          return marker;
        });
        markers.forEach(function (m) { group.addLayer(m); });
        // The city's box may hold far islands: show where the sensors are.
        if (markers.length > 1) {
          map.fitBounds(L.latLngBounds(data.points.map(function (p) { return [p[0], p[1]]; })), { padding: [20, 20] });
        } else if (markers.length === 1) {
          map.setView([data.points[0][0], data.points[0][1]], 14);
        }
        if (counter) { counter.textContent = String(markers.length); }
        el.dataset.loaded = String(markers.length);
      })
      .catch(function () { el.dataset.loaded = "error"; });
  }

  function pointMap(el) {
    var lat = num(el.dataset.lat), lon = num(el.dataset.lon);
    var map = baseMap(el);
    if (lat !== null && lon !== null) {
      map.setView([lat, lon], 15);
      L.circleMarker([lat, lon], { radius: 8, weight: 2, color: "#0b3d73", fillColor: "#0b3d73", fillOpacity: 0.7,
                                   interactive: false }).addTo(map);
      // A camera's view: the direction it looks in, as a short line (no video is ever shown).
      var heading = num(el.dataset.heading);
      if (heading !== null) {
        var rad = heading * Math.PI / 180;
        var dLat = 0.0012 * Math.cos(rad), dLon = 0.0012 * Math.sin(rad) / Math.cos(lat * Math.PI / 180);
        L.polyline([[lat, lon], [lat + dLat, lon + dLon]], { color: "#b35c00", weight: 4, interactive: false }).addTo(map);
      }
    }
  }

  // --- Charts ---------------------------------------------------------------------------------------

  // Axis and legend labels in the page's language and the city's time zone (uPlot's own templates
  // are American): hours for short spans, with the date at each midnight; dates beyond.
  function timeFormats(tz) {
    var opts = function (o) { o.timeZone = tz; return new Intl.DateTimeFormat(lang(), o); };
    return {
      hour: opts({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
      day: opts({ day: "numeric", month: "numeric" }),
      month: opts({ month: "short", year: "numeric" }),
      full: opts({ day: "numeric", month: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
    };
  }

  function timeAxis(f) {
    return function (u, splits, axisIdx, space, incr) {
      return splits.map(function (ts) {
        var d = new Date(ts * 1000);
        if (incr >= 86400 * 28) { return f.month.format(d); }
        if (incr >= 86400) { return f.day.format(d); }
        var hour = f.hour.format(d);
        return hour === "00:00" ? f.day.format(d) + "\n" + hour : hour;
      });
    };
  }

  function chart(box) {
    var target = box.querySelector("[data-chart-target]");
    var status = box.querySelector("[data-chart-status]");
    var summary = box.querySelector("[data-chart-summary]");
    var plot = null;
    var ticket = 0;
    var tz = box.dataset.timeZone || "Asia/Ho_Chi_Minh";
    var formats = timeFormats(tz);
    var height = num(box.dataset.chartHeight) || 260;

    function say(text) {
      if (status) { status.textContent = text; status.hidden = !text; }
    }

    function draw(data) {
      if (plot) { plot.destroy(); plot = null; }
      target.textContent = "";
      if (!data.t.length) {
        say(box.dataset.emptyText || "");
        if (summary) { summary.textContent = ""; }
        box.dataset.drawn = "empty";
        return;
      }
      say("");
      var raw = data.resolution === "raw";
      var colour = "#0b3d73";
      var series = [{ value: function (u, ts) { return ts === null ? "–" : formats.full.format(new Date(ts * 1000)); } },
                    { label: data.label + (data.unit ? " (" + data.unit + ")" : ""), stroke: colour, width: 2,
                         value: function (u, v) { return v === null ? "–" : formatValue(v, 2); } }];
      var columns = [data.t, data.v];
      var bands = [];
      if (!raw && data.min && data.max) {
        var fmt = function (u, v) { return v === null ? "–" : formatValue(v, 2); };
        series.push({ label: box.dataset.minText || "min", stroke: "#6c9bd2", width: 1, value: fmt });
        series.push({ label: box.dataset.maxText || "max", stroke: "#6c9bd2", width: 1, value: fmt });
        columns.push(data.min, data.max);
        bands.push({ series: [3, 2], fill: "rgba(11, 61, 115, 0.12)" });
      }
      var width = Math.max(280, target.clientWidth || box.clientWidth || 600);
      var opts = {
        width: width,
        height: height,
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); },
        series: series,
        bands: bands,
        scales: { x: { time: true } },
        axes: [
          { values: timeAxis(formats) },
          { label: data.unit, size: 64, values: function (u, splits) { return splits.map(function (v) { return formatValue(v, 2); }); } }
        ],
        legend: { live: true }
      };
      plot = new uPlot(opts, columns, target);
      box.dataset.drawn = String(data.t.length);
      box.dataset.resolution = data.resolution;
      if (summary) {
        summary.textContent = (box.dataset.summaryText || "")
          .replace("%(count)s", String(data.t.length))
          .replace("%(resolution)s", (data.resolution_label || data.resolution));
      }
    }

    function load(period) {
      var mine = ++ticket;
      say(box.dataset.loadingText || "");
      var url = new URL(box.dataset.url, window.location.href);
      url.searchParams.set("period", period);
      fetch(url.toString(), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
        .then(function (data) { if (mine === ticket) { draw(data); } })
        .catch(function () {
          if (mine === ticket) { say(box.dataset.errorText || ""); box.dataset.drawn = "error"; }
        });
    }

    var timer = null;
    function resized() {
      // A chart in a fragment that was replaced (the control centre's drawer) stops listening.
      if (!box.isConnected) { window.removeEventListener("resize", resized); return; }
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(function () {
        if (plot) { plot.setSize({ width: Math.max(280, target.clientWidth), height: height }); }
      }, 200);
    }
    window.addEventListener("resize", resized);
    load(box.dataset.period || "24h");
    return load;
  }

  // One period picker for every chart of the page: links that work without scripts (?period=7d),
  // turned into buttons that reload the charts in place.
  function periodPicker(picker, loaders) {
    var buttons = picker.querySelectorAll("[data-period]");
    buttons.forEach(function (b) {
      b.addEventListener("click", function (event) {
        event.preventDefault();
        var period = b.dataset.period;
        buttons.forEach(function (other) {
          var on = other === b;
          other.classList.toggle("active", on);
          other.setAttribute("aria-pressed", on ? "true" : "false");
        });
        loaders.forEach(function (load) { load(period); });
        // In a fragment inside another page (the control centre), the page's address stays as it is.
        if (picker.hasAttribute("data-keep-url")) { return; }
        var url = new URL(window.location.href);
        url.searchParams.set("period", period);
        window.history.replaceState(null, "", url.pathname + url.search);
      });
    });
  }

  // The charts (and their period picker) inside `root`, each drawn once: the page's own at load, and
  // a fragment's when another page inserts one (the control centre calls
  // window.dothiSensing.initCharts(drawer) after putting a sensor's fragment in its drawer).
  function initCharts(root) {
    root = root || document;
    if (typeof uPlot === "undefined") { return 0; }
    var loaders = [];
    root.querySelectorAll("[data-chart]").forEach(function (box) {
      if (box.dataset.chartReady) { return; }
      box.dataset.chartReady = "1";
      loaders.push(chart(box));
    });
    root.querySelectorAll("[data-period-picker]").forEach(function (picker) {
      if (picker.dataset.pickerReady) { return; }
      picker.dataset.pickerReady = "1";
      periodPicker(picker, loaders);
    });
    return loaders.length;
  }

  window.dothiSensing = { initCharts: initCharts };

  function init() {
    if (typeof L !== "undefined") {
      document.querySelectorAll("[data-mode=sensors]").forEach(sensorMap);
      document.querySelectorAll("[data-mode=sensor-point]").forEach(pointMap);
    }
    initCharts(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
