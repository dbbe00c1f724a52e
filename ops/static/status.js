// oppbus status page: renders GET /v1/status/summary as inline SVG charts; polls every 5 s.
// No libraries, no CDN: everything here is drawn by hand.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = { published: "#60a5fa", offered: "#a78bfa", accepted: "#34d399", won: "#fbbf24",
                 declined: "#f87171", expired: "#fb923c", lost: "#94a3b8" };
  var FUNNEL = ["published", "offered", "accepted", "won"];
  var SIDE = ["declined", "expired", "lost", "withdrawn", "reoffered", "unroutable", "conflicts",
              "dead_letters"];

  function el(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function width(svg) { return Math.max(240, svg.getBoundingClientRect().width || 480); }
  function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(0) + "%"; }
  function label(s) { return String(s).replace(/_/g, " "); }
  function clock(t) { return new Date(t * 1000).toISOString().substr(11, 5); }

  function empty(svg, text) {
    svg.appendChild(el("text", { x: 8, y: 24, "class": "muted" }, text));
  }

  function drawFunnel(summary) {
    var svg = clear(document.getElementById("funnel"));
    var w = width(svg), f = summary.funnel, max = 1;
    FUNNEL.forEach(function (s) { max = Math.max(max, f[s]); });
    FUNNEL.forEach(function (step, i) {
      var y = 6 + i * 35, barW = Math.max(3, (w - 190) * f[step] / max);
      svg.appendChild(el("text", { x: 0, y: y + 19 }, label(step)));
      svg.appendChild(el("rect", { x: 90, y: y, width: barW, height: 26, rx: 4, fill: COLORS[step] }));
      var count = el("text", { x: 98 + barW, y: y + 19, "data-step": step }, f[step]);
      count.setAttribute("font-weight", "700");
      svg.appendChild(count);
    });
    var tiles = document.getElementById("tiles");
    tiles.innerHTML = "";
    SIDE.forEach(function (step) {
      var tile = document.createElement("div");
      tile.className = "tile";
      var b = document.createElement("b");
      b.textContent = f[step];
      b.setAttribute("data-step", step);
      tile.appendChild(b);
      tile.appendChild(document.createTextNode(label(step)));
      tiles.appendChild(tile);
    });
  }

  function cumulativeRates(points) {
    var acc = 0, dec = 0, exp = 0, won = 0, lost = 0, out = [];
    points.forEach(function (p) {
      acc += p.accepted; dec += p.declined; exp += p.expired; won += p.won; lost += p.lost;
      out.push({ t: p.t, acceptance: acc + dec + exp ? acc / (acc + dec + exp) : null,
                 win: won + lost ? won / (won + lost) : null });
    });
    return out;
  }

  function drawRates(summary) {
    document.getElementById("rate-acceptance").textContent = pct(summary.rates.acceptance);
    document.getElementById("rate-win").textContent = pct(summary.rates.win);
    var rev = Object.keys(summary.revenue).map(function (c) {
      return Number(summary.revenue[c]).toLocaleString("en-US") + " " + c;
    });
    document.getElementById("revenue").textContent = rev.length ? rev.join(", ") : "–";
    var fees = summary.fees;
    document.getElementById("fees").textContent = fees ?
      [fees.accrued.count, fees.approved.count, fees.settled.count].join(" / ") : "–";
    var svg = clear(document.getElementById("rates"));
    var points = cumulativeRates(summary.series.points), w = width(svg), h = 150;
    var left = 36, right = 8, top = 8, bottom = 22, plotW = w - left - right, plotH = h - top - bottom;
    [0, 0.5, 1].forEach(function (v) {
      var y = top + plotH * (1 - v);
      svg.appendChild(el("line", { x1: left, x2: w - right, y1: y, y2: y, "class": "axis" }));
      svg.appendChild(el("text", { x: 0, y: y + 4, "class": "muted" }, pct(v)));
    });
    if (!points.length) { empty(svg, "no referral decisions yet"); return; }
    var n = Math.max(points.length - 1, 1);
    [["acceptance", COLORS.accepted], ["win", COLORS.won]].forEach(function (series) {
      var d = "", dots = [];
      points.forEach(function (p, i) {
        if (p[series[0]] === null) return;
        var x = left + plotW * (points.length === 1 ? 0.5 : i / n), y = top + plotH * (1 - p[series[0]]);
        d += (d ? " L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
        dots.push([x, y]);
      });
      if (d) svg.appendChild(el("path", { d: d, fill: "none", stroke: series[1], "stroke-width": 2.5 }));
      dots.forEach(function (xy) {
        svg.appendChild(el("circle", { cx: xy[0], cy: xy[1], r: 3.5, fill: series[1] }));
      });
    });
    svg.appendChild(el("text", { x: left, y: h - 4, "class": "muted" }, clock(points[0].t)));
    svg.appendChild(el("text", { x: w - right - 34, y: h - 4, "class": "muted" },
                       clock(points[points.length - 1].t)));
  }

  function drawActivity(summary) {
    var steps = ["published", "offered", "accepted", "won", "declined"];
    var legend = document.getElementById("activity-legend");
    legend.innerHTML = steps.map(function (s) {
      return '<span><i style="background:' + COLORS[s] + '"></i>' + s + "</span>";
    }).join("") + '<span class="dim">per ' + summary.series.bucket_s + " s</span>";
    var svg = clear(document.getElementById("activity"));
    var points = summary.series.points, w = width(svg), h = 170;
    var left = 30, bottom = 20, top = 6, plotW = w - left - 4, plotH = h - top - bottom, max = 1;
    if (!points.length) { empty(svg, "no events yet"); return; }
    points.forEach(function (p) {
      max = Math.max(max, steps.reduce(function (sum, s) { return sum + p[s]; }, 0));
    });
    svg.appendChild(el("line", { x1: left, x2: w, y1: top + plotH, y2: top + plotH, "class": "axis" }));
    svg.appendChild(el("text", { x: 0, y: top + 10, "class": "muted" }, max));
    var slot = plotW / points.length, barW = Math.max(2, Math.min(28, slot - 2));
    points.forEach(function (p, i) {
      var y = top + plotH;
      steps.forEach(function (s) {  // stacked: one column per time bucket
        if (!p[s]) return;
        var bh = plotH * p[s] / max;
        y -= bh;
        svg.appendChild(el("rect", { x: left + i * slot + 1, y: y, width: barW, height: bh,
                                     fill: COLORS[s] }));
      });
    });
    svg.appendChild(el("text", { x: left, y: h - 4, "class": "muted" }, clock(points[0].t)));
    svg.appendChild(el("text", { x: w - 40, y: h - 4, "class": "muted" },
                       clock(points[points.length - 1].t)));
  }

  function drawBars(id, rows, key, color, emptyText) {
    var svg = clear(document.getElementById(id));
    if (!rows.length) { empty(svg, emptyText); return; }
    var w = width(svg), max = 1;
    rows = rows.slice(0, 5);
    rows.forEach(function (r) { max = Math.max(max, r.count); });
    rows.forEach(function (r, i) {
      var y = 4 + i * 29, barW = Math.max(3, (w - 60) * r.count / max);
      svg.appendChild(el("text", { x: 0, y: y + 11, "class": "muted" }, label(r[key])));
      svg.appendChild(el("rect", { x: 0, y: y + 14, width: barW, height: 10, rx: 3, fill: color }));
      svg.appendChild(el("text", { x: barW + 6, y: y + 24, "data-count": r[key] }, r.count));
    });
  }

  function drawLag(summary) {
    var rows = Object.keys(summary.lag).map(function (t) { return { topic: t, count: summary.lag[t] }; });
    rows.sort(function (a, b) { return b.count - a.count; });
    drawBars("lag", rows, "topic", "#38bdf8", "no committed offsets of the workers yet");
  }

  function drawDeadLetters(summary) {
    document.getElementById("dead-total").textContent = summary.dead_letters.total;
    drawBars("dead-reasons", summary.dead_letters.by_reason, "reason", "#f87171", "none");
    var body = document.getElementById("dead-rows");
    body.innerHTML = "";
    if (!summary.dead_letters.recent.length) {
      body.innerHTML = '<tr><td colspan="7" class="empty">no dead letters</td></tr>';
      return;
    }
    summary.dead_letters.recent.forEach(function (d) {
      var tr = document.createElement("tr");
      [d.at.replace("T", " ").substr(0, 19), d.reason, d.topic, d.partition, d.offset,
       d.event_type, d.consumer].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = v === null ? "" : String(v);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function render(summary) {
    var worker = document.getElementById("worker");
    worker.textContent = summary.worker_up === null ? "workers ?" : summary.worker_up ? "workers up" : "workers down";
    worker.className = "badge" + (summary.worker_up === null ? "" : summary.worker_up ? " ok" : " bad");
    var policy = summary.policy || { version: null };
    document.getElementById("policy").textContent = policy.version === null ? "policy ?" :
      policy.version === 0 ? "policy v0 (defaults)" : "policy v" + policy.version;
    document.getElementById("feed").textContent = summary.feed.error ? "feed: " + summary.feed.error : "";
    document.getElementById("updated").textContent = summary.generated_at.replace("T", " ").substr(0, 19) + " UTC";
    drawFunnel(summary);
    drawRates(summary);
    drawActivity(summary);
    drawBars("unroutable", summary.unroutable, "rule", "#fb923c", "every opportunity found a partner");
    drawBars("declines", summary.declines, "reason", "#f87171", "no declines");
    drawLag(summary);
    drawDeadLetters(summary);
    document.body.setAttribute("data-rendered", summary.generated_at);
  }

  function poll() {
    fetch("/v1/status/summary", { cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(render)
      .catch(function (e) { document.getElementById("feed").textContent = "status unavailable: " + e.message; });
  }

  var initial = document.getElementById("initial-summary");
  try { render(JSON.parse(initial.textContent)); } catch (e) { poll(); }
  setInterval(poll, 5000);
})();
