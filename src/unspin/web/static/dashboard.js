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
}());
