/**
 * GET /docs: a small, self-contained viewer of /openapi.json (no CDN, no third-party code). Relative
 * URLs make it work at /docs and under /v0 and /v0.1 alike.
 */
export function docsHtml(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MCP Registry API ${escapeHtml(version)}</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #1d2330; }
  h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d8dde6; }
  input[type=search] { width: 100%; padding: .5rem; font-size: 1rem; margin: 1rem 0; box-sizing: border-box; }
  details { border: 1px solid #d8dde6; border-radius: 6px; margin: .4rem 0; background: #fbfcfd; }
  summary { cursor: pointer; padding: .5rem .7rem; display: flex; gap: .8rem; align-items: baseline; }
  .body { padding: .3rem 1rem 1rem; }
  .method { font: 700 12px monospace; padding: 2px 6px; border-radius: 4px; color: #fff; min-width: 3.5rem; text-align: center; }
  .get { background: #2b7bb9; } .post { background: #3a9a50; } .put { background: #b7791f; } .patch { background: #805ad5; } .delete { background: #c53030; }
  code, .path { font-family: ui-monospace, monospace; } .path { font-weight: 600; }
  table { border-collapse: collapse; width: 100%; margin: .3rem 0; } td, th { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eceff3; vertical-align: top; }
  .schema { font-family: ui-monospace, monospace; font-size: 13px; white-space: pre-wrap; background: #f3f5f8; padding: .5rem; border-radius: 4px; }
  .muted { color: #5b6475; } a { color: #2b6cb0; }
</style>
</head>
<body>
<h1>MCP Registry API</h1>
<p class="muted">Version ${escapeHtml(version)} &middot; <a href="openapi.json">openapi.json</a></p>
<input type="search" id="filter" placeholder="Filter operations (path, summary, tag)">
<div id="app">Loading openapi.json&hellip;</div>
<script src="docs/viewer.js"></script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Browser script of the viewer; builds the page with DOM calls only (no innerHTML of document data). */
export const docsScript = `"use strict";
(function () {
  var app = document.getElementById("app");
  var filter = document.getElementById("filter");
  var docsPath = location.pathname.replace(/\\/docs$/, "");
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function refName(ref) { return ref.split("/").pop(); }
  function typeOf(schema) {
    if (!schema || typeof schema !== "object") return "any";
    if (schema.$ref) return refName(schema.$ref);
    if (schema.enum) return schema.enum.map(function (v) { return JSON.stringify(v); }).join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.anyOf || schema.oneOf) return (schema.anyOf || schema.oneOf).map(typeOf).join(" | ");
    if (schema.allOf) return schema.allOf.map(typeOf).join(" & ");
    if (schema.type === "array") return typeOf(schema.items) + "[]";
    return schema.type || "object";
  }
  function schemaLink(schema) {
    if (schema && schema.$ref) return el("a", { href: "#schema-" + refName(schema.$ref) }, [refName(schema.$ref)]);
    if (schema && schema.type === "array" && schema.items && schema.items.$ref) {
      return el("span", {}, [schemaLink(schema.items), "[]"]);
    }
    return el("code", {}, [typeOf(schema)]);
  }
  function propertiesTable(schema) {
    var props = (schema && schema.properties) || {};
    var required = (schema && schema.required) || [];
    var rows = Object.keys(props).map(function (name) {
      var prop = props[name];
      var notes = [];
      if (required.indexOf(name) >= 0) notes.push("required");
      ["minLength", "maxLength", "minimum", "maximum", "pattern", "format"].forEach(function (k) {
        if (prop[k] !== undefined) notes.push(k + ": " + prop[k]);
      });
      return el("tr", {}, [
        el("td", {}, [el("code", {}, [name])]),
        el("td", {}, [schemaLink(prop)]),
        el("td", {}, [(prop.description || "") + (notes.length ? " (" + notes.join(", ") + ")" : "")]),
      ]);
    });
    if (rows.length === 0) return el("div", { class: "schema" }, [JSON.stringify(schema, null, 2)]);
    return el("table", {}, [el("tr", {}, [el("th", {}, ["field"]), el("th", {}, ["type"]), el("th", {}, ["notes"])])].concat(rows));
  }
  function contentOf(content) {
    var types = Object.keys(content || {});
    return types.map(function (type) {
      return el("div", {}, [el("span", { class: "muted" }, [type + ": "]), schemaLink(content[type].schema)]);
    });
  }
  function operation(path, method, op) {
    var body = el("div", { class: "body" }, []);
    if (op.description) body.appendChild(el("p", {}, [op.description]));
    if (op.security) body.appendChild(el("p", { class: "muted" }, ["Requires Authorization: Bearer <registry token>"]));
    if (op.parameters && op.parameters.length) {
      body.appendChild(el("h4", {}, ["Parameters"]));
      body.appendChild(el("table", {}, op.parameters.map(function (p) {
        return el("tr", {}, [
          el("td", {}, [el("code", {}, [p.name])]),
          el("td", {}, [p.in + (p.required ? ", required" : "")]),
          el("td", {}, [schemaLink(p.schema)]),
          el("td", {}, [p.description || ""]),
        ]);
      })));
    }
    if (op.requestBody) {
      body.appendChild(el("h4", {}, ["Request body"]));
      contentOf(op.requestBody.content).forEach(function (n) { body.appendChild(n); });
    }
    body.appendChild(el("h4", {}, ["Responses"]));
    body.appendChild(el("table", {}, Object.keys(op.responses || {}).map(function (status) {
      var response = op.responses[status];
      return el("tr", {}, [
        el("td", {}, [el("code", {}, [status])]),
        el("td", {}, [response.description || ""]),
        el("td", {}, contentOf(response.content)),
      ]);
    })));
    var details = el("details", { "data-search": (method + " " + path + " " + (op.summary || "") + " " + (op.tags || []).join(" ")).toLowerCase() }, [
      el("summary", {}, [
        el("span", { class: "method " + method }, [method.toUpperCase()]),
        el("span", { class: "path" }, [path]),
        el("span", { class: "muted" }, [op.summary || ""]),
      ]),
      body,
    ]);
    return details;
  }
  function render(doc) {
    app.textContent = "";
    if (doc.info && doc.info.description) app.appendChild(el("p", {}, [doc.info.description]));
    var byTag = {};
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags && op.tags[0]) || "other";
        (byTag[tag] = byTag[tag] || []).push(operation(path, method, op));
      });
    });
    (doc.tags || []).map(function (t) { return t.name; }).concat(Object.keys(byTag)).forEach(function (tag, i, all) {
      if (all.indexOf(tag) !== i || !byTag[tag]) return;
      app.appendChild(el("h2", {}, [tag]));
      byTag[tag].forEach(function (node) { app.appendChild(node); });
    });
    app.appendChild(el("h2", {}, ["Schemas"]));
    var schemas = (doc.components && doc.components.schemas) || {};
    Object.keys(schemas).sort().forEach(function (name) {
      app.appendChild(el("details", { id: "schema-" + name, "data-search": name.toLowerCase() }, [
        el("summary", {}, [el("span", { class: "path" }, [name]), el("span", { class: "muted" }, [schemas[name].description || ""])]),
        el("div", { class: "body" }, [propertiesTable(schemas[name])]),
      ]));
    });
    if (location.hash) {
      var target = document.getElementById(location.hash.slice(1));
      if (target) target.open = true;
    }
  }
  window.addEventListener("hashchange", function () {
    var target = document.getElementById(location.hash.slice(1));
    if (target) target.open = true;
  });
  filter.addEventListener("input", function () {
    var needle = filter.value.trim().toLowerCase();
    Array.prototype.forEach.call(app.querySelectorAll("details[data-search]"), function (node) {
      node.style.display = !needle || node.getAttribute("data-search").indexOf(needle) >= 0 ? "" : "none";
    });
  });
  fetch(docsPath + "/openapi.json", { headers: { accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(render)
    .catch(function (error) { app.textContent = "Could not load openapi.json: " + error.message; });
})();
`;
