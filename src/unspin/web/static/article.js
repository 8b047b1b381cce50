// The article page: confidence slider, technique filters, highlight styling, details, chart.
// Document text is only ever read and written with textContent: nothing from the article becomes markup.
(function () {
  "use strict";

  var textEl = document.getElementById("article-text");
  var listEl = document.getElementById("span-list");
  if (!textEl || !listEl) { return; }

  var spans = Array.prototype.map.call(listEl.querySelectorAll("li[data-i]"), function (li) {
    var excerpt = li.querySelector(".excerpt");
    var explanation = li.querySelector(".explanation");
    return {
      technique: li.dataset.technique,
      name: li.dataset.name,
      colour: li.dataset.colour,
      score: parseFloat(li.dataset.score),
      precise: li.dataset.precise !== "0",
      text: excerpt ? excerpt.textContent : "",
      explanation: explanation ? explanation.textContent : "",
      el: li
    };
  });
  var pieces = Array.prototype.map.call(textEl.querySelectorAll(".piece"), function (el) {
    // nonSpace: the piece's characters that count for coverage, counted by the server with the
    // definition of the document's scores.article.share (white space does not count)
    return { el: el, spans: el.dataset.s.split(" ").map(Number), nonSpace: parseInt(el.dataset.n, 10) || 0 };
  });
  var notes = {};
  document.querySelectorAll(".technique-note[data-label]").forEach(function (note) {
    notes[note.dataset.label] = note;
  });

  var slider = document.getElementById("min-score");
  // unchecked (the default): only the spans at the model's precise operating point
  var allSpans = document.getElementById("all-spans");
  var sliderValue = document.getElementById("min-score-value");
  var filters = Array.prototype.slice.call(document.querySelectorAll("#technique-filters input[type=checkbox]"));
  var noneNotice = document.getElementById("no-techniques");
  var coverageEl = document.getElementById("coverage");
  var visibleCountEl = document.getElementById("visible-count");
  var chartEl = document.getElementById("mix-chart");
  var details = document.getElementById("details");
  var reportLink = document.getElementById("export-report");
  var reportBase = reportLink ? reportLink.getAttribute("href") : null;
  var totalNonSpace = parseInt(textEl.dataset.nonSpace, 10) || 1;
  var visible = [];
  var selected = null;

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ", " + alpha + ")";
  }

  function percent(x) { return Math.round(100 * x) + "%"; }

  function noteText(label, cls) {
    var source = notes[label] ? notes[label].querySelector("." + cls) : null;
    return source ? source.textContent : "";
  }

  function visibleAt(piece) {
    return piece.spans.filter(function (i) { return visible[i]; }).map(function (i) { return spans[i]; });
  }

  function stylePiece(piece) {
    var covering = visibleAt(piece);
    var el = piece.el;
    el.classList.toggle("hl", covering.length > 0);
    if (!covering.length) {
      el.style.backgroundColor = "";
      el.style.boxShadow = "";
      el.style.paddingBottom = "";
      el.removeAttribute("title");
      el.removeAttribute("tabindex");
      el.removeAttribute("role");
      return false;
    }
    var strongest = covering.reduce(function (a, b) { return b.score > a.score ? b : a; });
    // A tint of the most confident technique, and one underline per technique, stacked.
    el.style.backgroundColor = rgba(strongest.colour, 0.16 + 0.16 * Math.min(covering.length - 1, 2));
    el.style.boxShadow = covering.slice(0, 4).map(function (s, k) {
      return "inset 0 -" + (3 * (k + 1)) + "px 0 " + s.colour;
    }).join(", ");
    el.style.paddingBottom = (3 * Math.min(covering.length, 4)) + "px";
    el.title = covering.map(function (s) {
      var definition = noteText(s.technique, "definition");
      return s.name + " (" + percent(s.score) + ")" + (definition ? ": " + definition : "");
    }).join("\n") + "\nClick for details.";
    el.tabIndex = 0;
    el.setAttribute("role", "button");
    return true;
  }

  function drawChart(counts) {
    if (!chartEl || typeof window.Plotly === "undefined") { return; }
    var rows = Object.keys(counts).map(function (label) { return counts[label]; })
      .filter(function (row) { return row.count > 0; })
      .sort(function (a, b) { return b.count - a.count || (a.name < b.name ? -1 : 1); });
    chartEl.hidden = rows.length === 0;
    if (!rows.length) { window.Plotly.purge(chartEl); return; }
    var total = rows.reduce(function (n, r) { return n + r.count; }, 0);
    // A donut: the filter list below it is its legend (same colours, same counts).
    window.Plotly.react(chartEl, [{
      type: "pie",
      hole: 0.58,
      sort: false,
      direction: "clockwise",
      values: rows.map(function (r) { return r.count; }),
      labels: rows.map(function (r) { return r.name; }),
      marker: { colors: rows.map(function (r) { return r.colour; }), line: { color: "#ffffff", width: 2 } },
      textinfo: "none",
      hovertemplate: "%{label}: %{value} (%{percent})<extra></extra>"
    }], {
      height: 220,
      margin: { l: 8, r: 8, t: 8, b: 8 },
      showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)",
      font: { family: "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size: 13, color: "#1d2329" },
      annotations: [{
        text: total + (total === 1 ? " span" : " spans"), showarrow: false, font: { size: 16 }, x: 0.5, y: 0.5
      }]
    }, { displayModeBar: false, responsive: true });
  }

  function render() {
    var minScore = slider ? parseFloat(slider.value) : 0;
    if (sliderValue) { sliderValue.textContent = minScore.toFixed(2); }
    var on = {};
    filters.forEach(function (box) { on[box.value] = box.checked; });
    var every = !allSpans || allSpans.checked;
    visible = spans.map(function (s) {
      return s.score >= minScore && on[s.technique] !== false && (every || s.precise);
    });

    var counts = {};
    var shown = 0;
    spans.forEach(function (s, i) {
      s.el.hidden = !visible[i];
      if (!counts[s.technique]) { counts[s.technique] = { name: s.name, colour: s.colour, count: 0 }; }
      if (visible[i]) { counts[s.technique].count += 1; shown += 1; }
    });
    document.querySelectorAll("#technique-filters .count[data-label]").forEach(function (el) {
      var row = counts[el.dataset.label];
      el.textContent = row ? String(row.count) : "0";
    });

    var covered = 0;
    pieces.forEach(function (piece) { if (stylePiece(piece)) { covered += piece.nonSpace; } });
    if (coverageEl) { coverageEl.textContent = percent(covered / totalNonSpace); }
    if (visibleCountEl) { visibleCountEl.textContent = String(shown); }
    if (noneNotice) { noneNotice.hidden = shown > 0; }
    drawChart(counts);
    if (selected && !selected.el.classList.contains("hl")) { select(null); }
    updateReportLink(minScore, on, every);
  }

  function updateReportLink(minScore, on, every) {
    if (!reportLink || !reportBase) { return; }
    var params = new URLSearchParams();
    params.set("min_score", minScore.toFixed(2));
    if (every) { params.set("all_spans", "true"); }
    var all = filters.every(function (box) { return box.checked; });
    if (!all) {
      filters.forEach(function (box) { if (on[box.value]) { params.append("t", box.value); } });
      if (!filters.some(function (box) { return box.checked; })) { params.append("t", "-"); }
    }
    reportLink.setAttribute("href", reportBase + "?" + params.toString());
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function noteLine(label, cls, heading) {
    var note = notes[label];
    var source = note ? note.querySelector("." + cls) : null;
    if (!source) { return null; }
    var p = el("p", cls);
    var text = source.textContent;
    if (heading && text.indexOf(heading) === 0) { text = text.slice(heading.length).trim(); }
    if (heading) { p.appendChild(el("strong", null, heading + " ")); }
    p.appendChild(document.createTextNode(text));
    return p;
  }

  function select(piece) {
    if (selected) { selected.el.classList.remove("selected"); }
    selected = piece;
    if (!details) { return; }
    Array.prototype.slice.call(details.querySelectorAll(".item")).forEach(function (n) { n.remove(); });
    var hint = document.getElementById("details-hint");
    if (!piece) { if (hint) { hint.hidden = false; } return; }
    piece.el.classList.add("selected");
    if (hint) { hint.hidden = true; }
    visibleAt(piece).sort(function (a, b) { return b.score - a.score; }).forEach(function (s) {
      var item = el("div", "item");
      var head = el("div", "head");
      var swatch = el("span", "swatch");
      swatch.style.setProperty("--c", s.colour);
      head.appendChild(swatch);
      head.appendChild(el("span", "name", s.name));
      head.appendChild(el("span", "conf", percent(s.score) + " confident"));
      item.appendChild(head);
      var quote = el("p");
      quote.appendChild(el("q", null, s.text));
      item.appendChild(quote);
      if (s.explanation) { item.appendChild(el("p", "explanation", s.explanation)); }
      var parts = [noteLine(s.technique, "definition"), noteLine(s.technique, "why", "Why it persuades:"),
        noteLine(s.technique, "example", "Example:")].filter(Boolean);
      if (!parts.length) { parts = [el("p", "muted", "No explanation is available for this technique yet.")]; }
      parts.forEach(function (p) { item.appendChild(p); });
      details.appendChild(item);
    });
    // On a narrow screen the panel sits under the text: bring the explanation into view.
    if (window.matchMedia && window.matchMedia("(max-width: 60rem)").matches) {
      details.scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  }

  function pieceFor(target) {
    for (var i = 0; i < pieces.length; i += 1) { if (pieces[i].el === target) { return pieces[i]; } }
    return null;
  }

  textEl.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest(".piece.hl") : null;
    if (target) { select(pieceFor(target)); }
  });
  textEl.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") { return; }
    var target = event.target.closest ? event.target.closest(".piece.hl") : null;
    if (target) { event.preventDefault(); select(pieceFor(target)); }
  });
  if (slider) { slider.addEventListener("input", render); }
  if (allSpans) { allSpans.addEventListener("change", render); }
  filters.forEach(function (box) { box.addEventListener("change", render); });
  render();
}());
