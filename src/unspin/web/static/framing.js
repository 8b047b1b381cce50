// The article page's cast and narratives panels: choosing an entity lights up its mentions in the text,
// choosing a narrative lights up its evidence sentences; choosing it again clears them.
// A layer of its own: it adds and removes the classes ent-on / nar-on on the text's framing marks (.fm) and never
// touches what the technique script styles (the pieces' colours, underlines and the coverage figure).
(function () {
  "use strict";

  var textEl = document.getElementById("article-text");
  if (!textEl) { return; }

  var marks = {};  // key ("e0", "n1") -> the text elements it covers, in text order
  textEl.querySelectorAll(".fm[data-f]").forEach(function (el) {
    el.dataset.f.split(" ").forEach(function (key) {
      if (!marks[key]) { marks[key] = []; }
      marks[key].push(el);
    });
  });

  function layer(panelId, statusId, cls, noun) {
    var panel = document.getElementById(panelId);
    if (!panel) { return; }
    var status = document.getElementById(statusId);
    var buttons = Array.prototype.slice.call(panel.querySelectorAll("button[data-mark]"));
    var current = null;

    function clear() {
      if (!current) { return; }
      (marks[current.dataset.mark] || []).forEach(function (el) { el.classList.remove(cls); });
      current.setAttribute("aria-pressed", "false");
      if (cls === "ent-on") { delete textEl.dataset.role; }
      current = null;
      if (status) { status.textContent = ""; }
    }

    function choose(button) {
      var again = current === button;
      clear();
      if (again) { return; }
      current = button;
      button.setAttribute("aria-pressed", "true");
      if (cls === "ent-on") { textEl.dataset.role = button.dataset.role; }
      var lit = marks[button.dataset.mark] || [];
      lit.forEach(function (el) { el.classList.add(cls); });
      var n = parseInt(button.dataset.count, 10) || 0;
      if (status) {
        status.textContent = n
          ? n + " " + noun + (n === 1 ? "" : "s") + " of \u201c" + button.dataset.name + "\u201d highlighted."
          : "No " + noun + " of \u201c" + button.dataset.name + "\u201d to highlight.";
      }
      if (lit.length) { lit[0].scrollIntoView({ block: "center", inline: "nearest" }); }
    }

    buttons.forEach(function (button) {
      button.addEventListener("click", function () { choose(button); });
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { clear(); }
    });
  }

  layer("cast-panel", "cast-status", "ent-on", "mention");
  layer("narratives-panel", "narratives-status", "nar-on", "evidence sentence");
}());
