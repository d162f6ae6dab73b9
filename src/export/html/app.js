// kgx's graph view: draws the embedded entity graph with Cytoscape.js.
// Every text from the store is untrusted: it reaches the page only through
// textContent and Cytoscape's canvas labels, never as markup.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("kgx-data").textContent);
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var maxMentions = data.nodes.reduce(function (m, n) { return Math.max(m, n.mentions); }, 1);
  var maxWeight = data.edges.reduce(function (m, e) { return Math.max(m, e.weight); }, 1);
  var big = data.nodes.length > 1500;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  document.getElementById("kgx-title").textContent = data.title;
  document.title = data.title;

  var elements = [];
  data.nodes.forEach(function (n) {
    elements.push({ group: "nodes", data: { id: n.id, label: n.label, mentions: n.mentions, kind: n.kind }, position: { x: n.x, y: n.y } });
  });
  data.edges.forEach(function (e) {
    elements.push({ group: "edges", data: { id: e.id, source: e.source, target: e.target, label: e.label, weight: e.weight } });
  });

  var cy = cytoscape({
    container: document.getElementById("kgx-graph"),
    elements: elements,
    layout: { name: "preset", fit: true, padding: 30 },
    wheelSensitivity: 0.3,
    textureOnViewport: big,
    hideEdgesOnViewport: big,
    style: [
      { selector: "node", style: {
        "width": "mapData(mentions, 0, " + maxMentions + ", 12, 60)",
        "height": "mapData(mentions, 0, " + maxMentions + ", 12, 60)",
        "background-color": "#3b6fd4", "label": "data(label)", "font-size": 11,
        "min-zoomed-font-size": 7, "text-valign": "bottom", "text-margin-y": 3,
        "text-max-width": 160, "text-wrap": "ellipsis" } },
      { selector: "node[kind = 'description']", style: { "background-color": "#8d96a8", "shape": "round-rectangle" } },
      { selector: "edge", style: {
        "width": "mapData(weight, 1, " + Math.max(2, maxWeight) + ", 1, 7)",
        "line-color": "#b8c0cf", "curve-style": big ? "haystack" : "bezier",
        "target-arrow-shape": big ? "none" : "triangle", "target-arrow-color": "#b8c0cf",
        "label": "data(label)", "font-size": 9, "min-zoomed-font-size": 9, "color": "#5a6478",
        "text-rotation": "autorotate", "text-background-color": "#fff", "text-background-opacity": 0.8 } },
      { selector: ":selected", style: { "background-color": "#e0681d", "line-color": "#e0681d", "target-arrow-color": "#e0681d", "z-index": 9 } }
    ]
  });
  window.kgxView = { cy: cy, data: data };

  var info = document.getElementById("kgx-info");

  function nodeLink(id) {
    var a = el("span", byId[id].label, "link");
    a.addEventListener("click", function () { focus(cy.getElementById(id)); });
    return a;
  }

  function showNode(node) {
    var n = byId[node.id()];
    info.replaceChildren();
    info.appendChild(el("h2", n.label));
    info.appendChild(el("div", n.kind + " \u00b7 " + n.mentions + " mention" + (n.mentions === 1 ? "" : "s"), "meta"));
    info.appendChild(el("div", n.iri, "meta"));
    if (n.names.length) {
      info.appendChild(el("h3", "Other names"));
      var names = el("ul");
      n.names.forEach(function (name) { names.appendChild(el("li", name)); });
      info.appendChild(names);
    }
    var list = el("ul");
    node.connectedEdges().forEach(function (edge) {
      var e = edge.data();
      var li = el("li");
      if (e.source === node.id()) {
        li.append(e.label + " \u2192 ");
        li.appendChild(nodeLink(e.target));
      } else {
        li.appendChild(nodeLink(e.source));
        li.append(" \u2192 " + e.label);
      }
      li.appendChild(el("span", " (" + e.weight + ")", "meta"));
      list.appendChild(li);
    });
    info.appendChild(el("h3", "Neighbours (" + node.connectedEdges().length + " edges)"));
    info.appendChild(list);
  }

  function highlighted(sentence, spans) {
    // spans: [[start, end, class]...] in code points, end exclusive.
    var chars = Array.from(sentence);
    var p = el("div", undefined, "sentence");
    var marks = spans.filter(function (s) { return s[0] < s[1]; }).sort(function (a, b) { return a[0] - b[0]; });
    var at = 0;
    marks.forEach(function (s) {
      if (s[0] < at) return;
      p.append(chars.slice(at, s[0]).join(""));
      p.appendChild(el("mark", chars.slice(s[0], s[1]).join(""), s[2]));
      at = s[1];
    });
    p.append(chars.slice(at).join(""));
    return p;
  }

  function showEdge(edge) {
    var e = data.edges[Number(edge.id().slice(1))];
    info.replaceChildren();
    var title = el("h2");
    title.appendChild(nodeLink(e.source));
    title.append(" \u2014 " + e.label + " \u2192 ");
    title.appendChild(nodeLink(e.target));
    info.appendChild(title);
    info.appendChild(el("div", e.weight + " extraction" + (e.weight === 1 ? "" : "s") + ", mean confidence " + e.confidence.toFixed(3), "meta"));
    info.appendChild(el("div", e.relation, "meta"));
    var heading = "Extractions" + (e.extractions.length < e.weight ? " (the " + e.extractions.length + " most confident)" : "");
    info.appendChild(el("h3", heading));
    var list = el("ul", undefined, "extractions");
    e.extractions.forEach(function (x) {
      var li = el("li");
      li.appendChild(highlighted(data.sentences[x[0]], [[x[3], x[4], "src"], [x[5], x[6], "rel"], [x[7], x[8], "tgt"]]));
      li.appendChild(el("div", "confidence " + x[1].toFixed(3) + " \u00b7 document " + x[2], "meta"));
      list.appendChild(li);
    });
    info.appendChild(list);
  }

  function focus(node) {
    cy.$(":selected").unselect();
    node.select();
    cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1.2) }, { duration: 200 });
    showNode(node);
  }

  cy.on("tap", "node", function (evt) { showNode(evt.target); });
  cy.on("tap", "edge", function (evt) { showEdge(evt.target); });

  // Search: exact name or alias first, then prefix, then substring; more mentions first.
  var search = document.getElementById("kgx-search");
  var results = document.getElementById("kgx-results");
  function matches(text) {
    var q = text.trim().toLowerCase();
    if (!q) return [];
    var scored = [];
    data.nodes.forEach(function (n) {
      var best = 9;
      [n.label].concat(n.names).forEach(function (name) {
        var s = name.toLowerCase();
        var rank = s === q ? 0 : s.indexOf(q) === 0 ? 1 : s.indexOf(q) >= 0 ? 2 : 9;
        best = Math.min(best, rank);
      });
      if (best < 9) scored.push([best, -n.mentions, n.label, n.id]);
    });
    scored.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1] || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0); });
    return scored.slice(0, 12).map(function (s) { return s[3]; });
  }
  search.addEventListener("input", function () {
    results.replaceChildren();
    matches(search.value).forEach(function (id) {
      var li = el("li", byId[id].label);
      li.addEventListener("click", function () { results.replaceChildren(); focus(cy.getElementById(id)); });
      results.appendChild(li);
    });
  });
  search.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter") return;
    var found = matches(search.value);
    results.replaceChildren();
    if (found.length) focus(cy.getElementById(found[0]));
    else { info.replaceChildren(); info.appendChild(el("p", "No name or alias contains \u201c" + search.value + "\u201d.", "hint")); }
  });

  // Written once drawn, from Cytoscape's own state (what it drew).
  cy.ready(function () {
    requestAnimationFrame(function () {
      requestAnimationFrame(function () {
        var summary = document.getElementById("kgx-summary");
        summary.textContent = cy.nodes().length + " nodes, " + cy.edges().length + " edges";
        summary.dataset.drawnMs = String(Math.round(performance.now()));
      });
    });
  });
})();
