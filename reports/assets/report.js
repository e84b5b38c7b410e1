/* podmem report script: draws the per-pod charts with uPlot (lazily, as they scroll
   into view), updates the moment tables, filters pods, prepares printing, and records
   a self-check in <body> attributes (used by the browser test):
     data-js-errors  script errors seen (set by the handler in <head>)
     data-drawn      on each chart container once drawn; data-charts-drawn on <body>
     data-finding-drawn, data-marks, data-ink, data-top, data-in-card
                     on each finding's small chart once drawn (marks drawn, share of
                     the plot's pixels inked in per mille, page offset and offset in
                     its card in CSS px); data-finding-charts-drawn on <body>
     data-injected   elements the report never emits (img, iframe, foreign scripts,
                     on* attributes): non-zero means markup got into the page
     data-canary     "tripped" if window.__podmemCanary was set by injected script */
(function () {
  "use strict";
  var body = document.body;
  var COLORS = ["#4c6ef5", "#12b886", "#7950f2", "#1098ad", "#82c91e", "#5c7cfa", "#20c997", "#9775fa"];
  var KIND = { "unattr-other": "#f59f00", "unattr-shmem": "#d6336c" };
  var EVC = { oom: "#c92a2a", start: "#2b8a3e", gone: "#868e96" };
  var charts = {};
  var minis = [];
  var drawnCount = 0;

  function fmtKiB(k) {
    if (k == null) return "";
    var b = k * 1024, u = ["KiB", "MiB", "GiB", "TiB", "PiB"], v = b / 1024, i = 0;
    if (b < 1024) return b + " B";
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return v.toFixed(1) + " " + u[i];
  }
  function fmtTime(s) {
    if (s == null) return "";
    return new Date(s * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }
  function undelta(a) {
    var out = new Array(a.length), last = 0;
    for (var i = 0; i < a.length; i++) {
      if (a[i] == null) { out[i] = null; } else { last += a[i]; out[i] = last; }
    }
    return out;
  }
  var cache = {};
  // The block holds a JSON string (tojson of compact JSON); see ChartData in html.rs.
  // y ticks at binary-round sizes (16 MiB, 512 MiB, 2 GiB), as memory limits are.
  var BIN = [];
  for (var p2 = 0; p2 < 44; p2++) BIN.push(Math.pow(2, p2));
  // x ticks in UTC, 24-hour clock; the date where it changes.
  function tick(v, i, vals) {
    var iso = new Date(v * 1000).toISOString();
    var step = vals.length > 1 ? vals[1] - vals[0] : 60;
    var clock = step < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
    var prev = i > 0 ? new Date(vals[i - 1] * 1000).toISOString().slice(0, 10) : "";
    return i === 0 || prev !== iso.slice(0, 10) ? clock + "\n" + iso.slice(0, 10) : clock;
  }
  function podData(i) {
    if (cache[i]) return cache[i];
    var el = document.getElementById("pod-data-" + i);
    if (!el) return null;
    var d = JSON.parse(JSON.parse(el.textContent));
    var n = d.t.length, none = new Array(n).fill(null);
    d.t = undelta(d.t);
    d.vals = d.pool.map(undelta);
    d.series = function (k) { return k == null ? none : d.vals[k]; };
    cache[i] = d;
    return d;
  }
  function lighten(hex) {
    var n = parseInt(hex.slice(1), 16), r = n >> 16, g = (n >> 8) & 255, b = n & 255;
    function m(c) { return Math.round(c + (255 - c) * 0.45); }
    return "rgb(" + m(r) + "," + m(g) + "," + m(b) + ")";
  }
  function colValue(d, col, i) {
    return col == null ? null : d.vals[col][i];
  }

  // Event lines over a drawn chart: OOM kills solid and labelled, others dashed; a
  // container removal is labelled when `gone` names it. Returns how many were drawn.
  function markEvents(u, events, gone) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, left = u.bbox.left, w = u.bbox.width;
    var drawn = 0;
    ctx.save();
    ctx.font = Math.round(10 * devicePixelRatio) + "px system-ui, sans-serif";
    events.forEach(function (ev) {
      var x = Math.round(u.valToPos(ev.t, "x", true));
      if (x < left || x > left + w) return;
      ctx.strokeStyle = EVC[ev.kind] || "#495057";
      ctx.lineWidth = (ev.kind === "oom" ? 2 : 1) * devicePixelRatio;
      ctx.setLineDash(ev.kind === "oom" ? [] : [4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke();
      if (ev.kind === "oom") { ctx.fillStyle = EVC.oom; ctx.fillText("OOM", x + 3, top + 11 * devicePixelRatio); }
      else if (gone && ev.kind === "gone") { ctx.fillStyle = EVC.gone; ctx.fillText(gone, x + 3, top + h - 4 * devicePixelRatio); }
      drawn++;
    });
    ctx.restore();
    return drawn;
  }
  // Axes and scales every chart shares: UTC time ticks, binary-round sizes from 0.
  function baseOpts(width, height, series, draw) {
    return {
      width: width, height: height,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, (max || 1) * 1.05]; } } },
      axes: [
        { values: function (u, vals) { return vals.map(function (v, i) { return tick(v, i, vals); }); } },
        { size: 76, incrs: BIN, values: function (u, vals) { return vals.map(fmtKiB); } }
      ],
      series: series,
      hooks: { draw: [draw] }
    };
  }

  function updateMoment(pod, d, i) {
    var box = document.querySelector('.moment[data-pod="' + pod + '"]');
    if (!box) return;
    d.moment = i;
    box.querySelector(".moment-time").textContent = fmtTime(d.t0 + d.t[i]);
    var why = box.querySelector(".moment-why");
    if (why) why.textContent = "Chosen on the chart or slider (capture " + (i + 1) + " of " + d.t.length + " chart points).";
    var rows = box.querySelectorAll("tbody tr");
    for (var r = 0; r < rows.length && r < d.rows.length; r++) {
      var cells = rows[r].querySelectorAll("td[data-col]");
      for (var c = 0; c < cells.length; c++) {
        var v = colValue(d, d.rows[r][c], i);
        cells[c].textContent = v == null ? "" : fmtKiB(v);
        cells[c].title = v == null ? "" : "≈ " + v + " KiB";
      }
    }
    var slider = box.querySelector(".moment-slider");
    if (slider && String(slider.value) !== String(i)) slider.value = String(i);
    var u = charts[pod];
    if (u) u.redraw(false, false);
  }

  function drawChart(el, width) {
    if (el.getAttribute("data-drawn")) return;
    var pod = el.getAttribute("data-pod");
    var d = podData(pod);
    if (!d || typeof uPlot === "undefined") return;
    var n = d.t.length, xs = new Array(n), cum = new Array(n).fill(0);
    for (var i = 0; i < n; i++) xs[i] = d.t0 + d.t[i];
    // Cumulative sums bottom to top; drawn top first so lower bands paint over.
    var layers = [];
    var ci = 0;
    d.stack.forEach(function (s) {
      var acc = new Array(n);
      var raw = d.series(s.v);
      for (var i = 0; i < n; i++) { cum[i] += raw[i] || 0; acc[i] = cum[i]; }
      var color = KIND[s.kind] || COLORS[ci++ % COLORS.length];
      layers.push({ s: s, raw: raw, acc: acc, color: color });
    });
    layers.reverse();
    var data = [xs], series = [{ value: function (u, v) { return fmtTime(v); } }];
    layers.forEach(function (l) {
      data.push(l.acc);
      series.push({ label: l.s.label, stroke: l.color, fill: lighten(l.color), width: 1, points: { show: false },
        value: (function (raw) { return function (u, v, si, idx) { return idx == null || raw[idx] == null ? "—" : fmtKiB(raw[idx]); }; })(l.raw) });
    });
    data.push(d.series(d.top));
    series.push({ label: "kubectl top", stroke: "#1c7ed6", width: 2, dash: [6, 4], value: function (u, v) { return v == null ? "—" : fmtKiB(v); } });
    data.push(d.series(d.limit));
    series.push({ label: "limit", stroke: "#c92a2a", width: 2, dash: [3, 3], points: { show: false }, value: function (u, v) { return v == null ? "—" : fmtKiB(v); } });
    function drawMarks(u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, left = u.bbox.left, w = u.bbox.width;
      markEvents(u, d.events);
      ctx.save();
      var mx = Math.round(u.valToPos(xs[d.moment] || xs[0], "x", true));
      if (mx >= left && mx <= left + w) {
        ctx.strokeStyle = "rgba(0,0,0,0.55)"; ctx.lineWidth = 1 * devicePixelRatio; ctx.setLineDash([2, 2]);
        ctx.beginPath(); ctx.moveTo(mx, top); ctx.lineTo(mx, top + h); ctx.stroke();
      }
      ctx.restore();
    }
    var opts = baseOpts(width || Math.max(320, el.clientWidth || 900), 280, series, drawMarks);
    opts.cursor = { drag: { x: true, y: false } };
    opts.legend = { live: true };
    var u = new uPlot(opts, data, el);
    charts[pod] = u;
    u.over.addEventListener("click", function () {
      if (u.cursor.idx != null) updateMoment(pod, d, u.cursor.idx);
    });
    var slider = document.querySelector('.moment-slider[data-pod="' + pod + '"]');
    if (slider) slider.addEventListener("input", function () { updateMoment(pod, d, Number(slider.value)); });
    el.setAttribute("data-drawn", "1");
    drawnCount++;
    body.setAttribute("data-charts-drawn", String(drawnCount));
  }

  // A finding's small chart: the pod's series (the same pod-data block as the pod's
  // chart) folded into live containers and unattributed shmem, the limit, and the OOM
  // kills and container removals. No zoom or moment: the pod's chart has those.
  function drawFinding(el, width) {
    if (el.getAttribute("data-finding-drawn")) return;
    var d = podData(el.getAttribute("data-pod"));
    if (!d || typeof uPlot === "undefined") return;
    var n = d.t.length, xs = new Array(n), live = new Array(n).fill(null), shmem = d.series(null);
    for (var i = 0; i < n; i++) xs[i] = d.t0 + d.t[i];
    d.stack.forEach(function (s) {
      var raw = d.series(s.v);
      if (s.kind === "unattr-shmem") { shmem = raw; return; }
      if (s.kind !== "container") return;
      for (var i = 0; i < n; i++) if (raw[i] != null) live[i] = (live[i] || 0) + raw[i];
    });
    var top = new Array(n);
    for (var j = 0; j < n; j++) top[j] = live[j] == null && shmem[j] == null ? null : (live[j] || 0) + (shmem[j] || 0);
    function val(raw) { return function (u, v, si, idx) { return idx == null || raw[idx] == null ? "—" : fmtKiB(raw[idx]); }; }
    var series = [
      { value: function (u, v) { return fmtTime(v); } },
      { label: "unattributed shmem", stroke: KIND["unattr-shmem"], fill: lighten(KIND["unattr-shmem"]), width: 1, points: { show: false }, value: val(shmem) },
      { label: "live containers", stroke: COLORS[0], fill: lighten(COLORS[0]), width: 1, points: { show: false }, value: val(live) },
      { label: "limit", stroke: "#c92a2a", width: 2, dash: [3, 3], points: { show: false }, value: function (u, v) { return v == null ? "—" : fmtKiB(v); } }
    ];
    var events = d.events.filter(function (ev) { return ev.kind === "oom" || ev.kind === "gone"; });
    function marks(u) {
      el.setAttribute("data-marks", String(markEvents(u, events, "removed")));
      el.setAttribute("data-ink", String(ink(u)));
    }
    var opts = baseOpts(width || Math.max(320, el.clientWidth || 900), 170, series, marks);
    opts.legend = { show: false };
    opts.cursor = { drag: { x: false, y: false } };
    var u = new uPlot(opts, [xs, top, live, d.series(d.limit)], el);
    minis.push({ el: el, u: u });
    var r = el.getBoundingClientRect(), card = el.closest("article");
    el.setAttribute("data-top", String(Math.round(r.top + window.scrollY)));
    if (card) el.setAttribute("data-in-card", String(Math.round(r.top - card.getBoundingClientRect().top)));
    el.setAttribute("data-finding-drawn", "1");
    body.setAttribute("data-finding-charts-drawn", String(minis.length));
  }
  // Per mille of the plot area's pixels that are not transparent: a drawn chart has
  // some, a blank one none.
  function ink(u) {
    var b = u.bbox, w = Math.max(1, Math.floor(b.width)), h = Math.max(1, Math.floor(b.height));
    var px = u.ctx.getImageData(Math.floor(b.left), Math.floor(b.top), w, h).data, on = 0;
    for (var i = 3; i < px.length; i += 4) if (px[i] > 0) on++;
    return Math.round(on * 1000 / (w * h));
  }
  function drawAny(el, width) {
    if (el.classList.contains("fchart")) drawFinding(el, width); else drawChart(el, width);
  }
  // Chart containers of one kind share one width.
  function widthOf(el, seen) {
    var k = el.className;
    if (!seen[k]) seen[k] = Math.max(320, el.clientWidth || 900);
    return seen[k];
  }

  // All charts share one width: reading it once avoids a layout of the whole page
  // per chart, which made drawing 110 charts take seconds.
  function drawAll() {
    var t = performance.now();
    var els = document.querySelectorAll(".fchart, .chart"), seen = {};
    for (var i = 0; i < els.length; i++) drawAny(els[i], widthOf(els[i], seen));
    body.setAttribute("data-draw-ms", String(Math.round(performance.now() - t)));
  }

  // Sliders work before the chart is drawn too.
  var sliders = document.querySelectorAll(".moment-slider");
  for (var s = 0; s < sliders.length; s++) {
    (function (sl) {
      sl.addEventListener("input", function () {
        var pod = sl.getAttribute("data-pod");
        if (charts[pod]) return;
        var d = podData(pod);
        if (d) updateMoment(pod, d, Number(sl.value));
      });
    })(sliders[s]);
  }

  // Fragment options, joined by "&": "draw-all" draws every chart now (print, tests,
  // screenshots); "moment=P:I" opens pod P's moment table at chart point I (a link to
  // a moment).
  var opts = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var eq = kv.indexOf("=");
    if (kv) opts[eq < 0 ? kv : kv.slice(0, eq)] = eq < 0 ? true : decodeURIComponent(kv.slice(eq + 1));
  });
  body.setAttribute("data-charts-drawn", "0");
  body.setAttribute("data-finding-charts-drawn", "0");
  if (opts["draw-all"] || typeof IntersectionObserver === "undefined") {
    drawAll();
  } else {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { drawAny(e.target); io.unobserve(e.target); }
      });
    }, { rootMargin: "400px 0px" });
    var els = document.querySelectorAll(".fchart, .chart"), seen = {};
    // Charts already in view are drawn now rather than on the observer's first
    // callback, so the first screen is complete when the page reports loaded.
    var reach = window.innerHeight + 400;
    for (var i = 0; i < els.length; i++) {
      if (els[i].getBoundingClientRect().top < reach) {
        drawAny(els[i], widthOf(els[i], seen));
      } else {
        io.observe(els[i]);
      }
    }
  }

  if (typeof opts.moment === "string") {
    var m = /^(\d+):(\d+)$/.exec(opts.moment);
    var md = m && podData(m[1]);
    if (md && Number(m[2]) < md.t.length) updateMoment(m[1], md, Number(m[2]));
  }

  window.addEventListener("beforeprint", function () {
    drawAll();
    var ds = document.querySelectorAll("details");
    for (var i = 0; i < ds.length; i++) ds[i].open = true;
  });

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      Object.keys(charts).forEach(function (k) {
        var el = document.querySelector('.chart[data-pod="' + k + '"]');
        if (el) charts[k].setSize({ width: Math.max(320, el.clientWidth), height: 280 });
      });
      minis.forEach(function (m) { m.u.setSize({ width: Math.max(320, m.el.clientWidth), height: 170 }); });
    }, 150);
  });

  // Pod search: name, namespace, UID or node, case-insensitive substring.
  var search = document.getElementById("pod-search");
  var count = document.getElementById("pod-count");
  var noMatch = document.getElementById("no-match");
  function filter() {
    var q = search.value.trim().toLowerCase(), shown = 0;
    var items = document.querySelectorAll("section.pod, tr.pod-row");
    for (var i = 0; i < items.length; i++) {
      var hit = !q || (items[i].getAttribute("data-search") || "").indexOf(q) !== -1;
      items[i].hidden = !hit;
      // A pod is its section, or its index row alone when it has no section.
      if (hit && (items[i].tagName === "SECTION" || items[i].classList.contains("compact"))) shown++;
    }
    count.textContent = q ? shown + " matching" : "";
    if (noMatch) noMatch.hidden = !q || shown > 0;
  }
  if (search) search.addEventListener("input", filter);

  // Self-check: nothing the report does not emit itself may be in the DOM.
  function selfCheck() {
    var bad = document.querySelectorAll("img, iframe, object, embed, frame, link, meta[http-equiv=refresh], script:not([data-podmem]):not([type='application/json'])").length;
    var all = document.getElementsByTagName("*");
    for (var i = 0; i < all.length; i++) {
      var at = all[i].attributes;
      for (var j = 0; j < at.length; j++) if (/^on/i.test(at[j].name)) { bad++; break; }
    }
    body.setAttribute("data-injected", String(bad));
    body.setAttribute("data-canary", window.__podmemCanary ? "tripped" : "clean");
    body.setAttribute("data-checked", "1");
  }
  selfCheck();
  window.addEventListener("load", function () { setTimeout(selfCheck, 300); });
})();
