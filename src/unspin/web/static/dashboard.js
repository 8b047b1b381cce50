/* Corpus dashboard charts. The data come from a JSON block in the page (not executed as script). */
(function () {
  "use strict";
  var block = document.getElementById("dashboard-data");
  if (!block || typeof window.Plotly === "undefined") { return; }
  var data = JSON.parse(block.textContent);
  var layout = { margin: { l: 40, r: 10, t: 10, b: 80 }, font: { size: 12 }, paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)" };
  var config = { displayModeBar: false, responsive: true };

  var mixEl = document.getElementById("mix-by-outlet");
  if (mixEl && data.mix.length) {
    var traces = data.mix.map(function (t) {
      return { type: "bar", name: t.name, x: t.outlets, y: t.shares, marker: { color: t.colour },
        hovertemplate: "%{x}<br>" + t.name + ": %{y:.0%}<extra></extra>" };
    });
    window.Plotly.newPlot(mixEl, traces, Object.assign({}, layout, { barmode: "stack",
      yaxis: { tickformat: ".0%", range: [0, 1] }, showlegend: true, legend: { orientation: "h", y: -0.35 } }), config);
  } else if (mixEl) {
    mixEl.textContent = "No technique spans stored yet.";
  }

  var tlEl = document.getElementById("timeline");
  if (tlEl && data.timeline.months.length) {
    window.Plotly.newPlot(tlEl, [
      { type: "bar", name: "articles", x: data.timeline.months, y: data.timeline.articles, marker: { color: "#9aa7b4" } },
      { type: "scatter", mode: "lines+markers", name: "mean score", x: data.timeline.months, y: data.timeline.score,
        yaxis: "y2", line: { color: "#b5452b" } }
    ], Object.assign({}, layout, { yaxis: { title: "articles" },
      yaxis2: { title: "mean score", overlaying: "y", side: "right", rangemode: "tozero" },
      legend: { orientation: "h", y: -0.35 } }), config);
  } else if (tlEl) {
    tlEl.textContent = "No dated articles yet.";
  }

  var narEl = document.getElementById("narratives-by-month");
  var nar = data.narratives;
  if (narEl && nar && nar.months.length && nar.series.some(function (s) { return s.kind !== "not_analysed"; })) {
    var narTraces = nar.series.map(function (s) {
      var trace = { type: "bar", name: s.name, x: nar.months, y: s.counts,
        hovertemplate: "%{x}<br>%{fullData.name}: %{y} articles<extra></extra>" };
      if (s.kind === "not_analysed") {
        trace.marker = { color: "#ffffff", line: { color: "#7d8a97", width: 1 },
          pattern: { shape: "/", fgcolor: "#9aa7b4" } };
      } else if (s.colour) {
        trace.marker = { color: s.colour };
      }
      return trace;
    });
    narEl.style.height = Math.max(340, 260 + 20 * nar.series.length) + "px";  // room for the legend
    window.Plotly.newPlot(narEl, narTraces, Object.assign({}, layout, { barmode: "stack",
      xaxis: { type: "category" }, yaxis: { title: "articles" }, showlegend: true,
      legend: { orientation: "h", yanchor: "top", y: -0.12 } }), config);
  } else if (narEl) {
    narEl.textContent = "No articles analysed for framing yet (the framing stage fills entities and narratives).";
  }

  var castEl = document.getElementById("cast-by-outlet");
  var cast = data.cast;
  if (castEl && cast && cast.entities.length) {
    var rows = [cast.outlets, cast.entities];
    var castTraces = cast.series.map(function (s) {
      return { type: "bar", orientation: "h", name: s.role, x: s.counts, y: rows, marker: { color: s.colour },
        hovertemplate: "%{y}<br>%{fullData.name}: %{x} articles<extra></extra>" };
    });
    castEl.style.height = Math.max(340, 60 + 22 * cast.entities.length) + "px";
    window.Plotly.newPlot(castEl, castTraces, Object.assign({}, layout, { barmode: "stack",
      margin: { l: 220, r: 10, t: 10, b: 60 }, xaxis: { title: "articles" },
      yaxis: { autorange: "reversed", automargin: true }, legend: { orientation: "h", y: -0.15 } }), config);
  } else if (castEl) {
    castEl.textContent = "No entities with roles stored yet.";
  }
}());
