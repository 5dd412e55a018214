// The interactive API page of a Bento service: reads /docs.json, renders one form per API (pre-filled with
// the example the server computed, valid for the API), its request and response schemas, calls it and
// shows the response (JSON, text, streams as they arrive, images/audio/video previewed, files as
// downloads). Plain JS, no dependencies, so the page works offline and ships inside the wheel.
"use strict";

const $ = (root, sel) => root.querySelector(sel);

function resolve(doc, schema) {
  let depth = 0;
  while (schema && schema.$ref && depth++ < 20) {
    const name = schema.$ref.split("/").pop();
    schema = (doc.components && doc.components.schemas && doc.components.schemas[name]) || {};
  }
  return schema || {};
}

function example(doc, schema, depth) {
  schema = resolve(doc, schema);
  if (depth > 6) return null;
  if ("default" in schema) return schema.default;
  if (schema.examples && schema.examples.length) return schema.examples[0];
  const options = schema.anyOf || schema.oneOf;
  if (options) return example(doc, options.find((s) => resolve(doc, s).type !== "null") || options[0], depth + 1);
  switch (schema.type) {
    case "object": {
      const out = {};
      for (const [key, sub] of Object.entries(schema.properties || {})) out[key] = example(doc, sub, depth + 1);
      return out;
    }
    case "array": return [example(doc, schema.items || {}, depth + 1)];
    case "string": return schema.format === "binary" ? "" : "string";
    case "integer": return 0;
    case "number": return 0.0;
    case "boolean": return false;
    default: return null;
  }
}

function buildForm(doc, section, op) {
  const body = op.requestBody && op.requestBody.content;
  const multipart = body && body["multipart/form-data"];
  const jsonBox = $(section, ".json-input");
  const formBox = $(section, ".form-input");
  if (!multipart) {
    formBox.remove();
    const media = (body && body["application/json"]) || {};
    // The server computes an example that passes the API's validation; fall back to one from the schema.
    const value = "example" in media ? media.example : example(doc, media.schema || {}, 0);
    $(jsonBox, "textarea").value = JSON.stringify(value === undefined ? {} : value, null, 2);
    return () => ({ body: $(jsonBox, "textarea").value || "{}", headers: { "content-type": "application/json" } });
  }
  jsonBox.remove();
  const schema = resolve(doc, multipart.schema);
  const required = new Set(schema.required || []);
  const encoding = multipart.encoding || {};
  for (const [name, raw] of Object.entries(schema.properties || {})) {
    const prop = resolve(doc, raw);
    const isFile = prop.format === "binary" || (prop.type === "array" && resolve(doc, prop.items).format === "binary");
    const field = document.createElement("div");
    field.className = "field";
    const label = document.createElement("label");
    label.textContent = name;
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent = (required.has(name) ? "required" : "optional") +
      (encoding[name] ? ", " + encoding[name].contentType : "") + (isFile ? "" : ", JSON or text");
    label.appendChild(hint);
    const input = document.createElement("input");
    input.name = name;
    if (isFile) {
      input.type = "file";
      if (prop.type === "array") input.multiple = true;
      if (encoding[name]) input.accept = encoding[name].contentType;
    } else {
      input.type = "text";
      const given = multipart.example || {};
      const value = name in given ? given[name] : example(doc, prop, 0);
      input.value = typeof value === "string" ? value : JSON.stringify(value);
    }
    field.append(label, input);
    formBox.appendChild(field);
  }
  return () => {
    const data = new FormData();
    for (const input of formBox.querySelectorAll("input")) {
      if (input.type === "file") for (const file of input.files) data.append(input.name, file, file.name);
      else if (input.value !== "") data.append(input.name, input.value);
    }
    return { body: data, headers: {} };
  };
}

async function showResponse(section, response) {
  const result = $(section, ".result");
  const status = $(result, ".status");
  const pre = $(result, ".body");
  const media = $(result, ".media");
  result.hidden = false;
  media.textContent = "";
  pre.textContent = "";
  const type = response.headers.get("content-type") || "";
  status.textContent = `${response.status} ${response.statusText} · ${type}`;
  status.className = "status " + (response.ok ? "ok" : "bad");
  if (type.startsWith("application/json")) {
    const text = await response.text();
    try { pre.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch { pre.textContent = text; }
  } else if (type.startsWith("text/") || type.includes("ndjson")) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pre.textContent += decoder.decode(value, { stream: true });
    }
  } else {
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    pre.textContent = `${blob.size} bytes`;
    const kind = type.split("/")[0];
    if (kind === "image" || kind === "video" || kind === "audio") {
      const el = document.createElement(kind === "image" ? "img" : kind);
      el.src = url;
      if (kind !== "image") el.controls = true;
      media.appendChild(el);
    }
    const disposition = response.headers.get("content-disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    const link = document.createElement("a");
    link.href = url;
    link.download = match ? match[1] : "response";
    link.textContent = "download " + link.download;
    media.appendChild(document.createElement("br"));
    media.appendChild(link);
  }
}

function shellQuote(text) {
  return "'" + String(text).replace(/'/g, "'\\''") + "'";
}

// The same call from a terminal, so a user can move from the page to scripts.
function curlCommand(route, body, headers) {
  const parts = ["curl", shellQuote(location.origin + route)];
  for (const [key, value] of Object.entries(headers)) parts.push("-H", shellQuote(`${key}: ${value}`));
  if (body instanceof FormData) {
    for (const [key, value] of body.entries()) {
      parts.push("-F", shellQuote(value instanceof File ? `${key}=@${value.name}` : `${key}=${value}`));
    }
  } else {
    let text = body;
    try { text = JSON.stringify(JSON.parse(body)); } catch { /* sent as typed */ }
    parts.push("-d", shellQuote(text));
  }
  return parts.join(" ");
}

// A schema with its $refs written out (to a depth), for reading on the page.
function inline(doc, schema, depth) {
  if (Array.isArray(schema)) return schema.map((s) => inline(doc, s, depth));
  if (!schema || typeof schema !== "object") return schema;
  if (schema.$ref) return depth > 6 ? { $ref: schema.$ref } : inline(doc, resolve(doc, schema), depth + 1);
  const out = {};
  for (const [key, value] of Object.entries(schema)) out[key] = inline(doc, value, depth);
  return out;
}

function describeContent(doc, content) {
  const parts = [];
  for (const [type, media] of Object.entries(content || {})) {
    parts.push(type + "\n" + JSON.stringify(inline(doc, media.schema || {}, 0), null, 2));
  }
  return parts.join("\n\n") || "(none)";
}

function renderApi(doc, template, route, op) {
  const section = template.content.firstElementChild.cloneNode(true);
  $(section, ".route").textContent = route;
  $(section, ".doc").textContent = op.description || "";
  $(section, ".input-schema").textContent = describeContent(doc, op.requestBody && op.requestBody.content);
  const ok = op.responses && op.responses["200"];
  $(section, ".output-schema").textContent = describeContent(doc, ok && ok.content);
  const streams = op["x-bento-output-kind"] === "stream";
  if (!streams) $(section, ".sse").remove();
  const collect = buildForm(doc, section, op);
  const form = $(section, "form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $(form, "button");
    button.disabled = true;
    try {
      const { body, headers } = collect();
      const sse = streams && $(section, ".sse-box").checked;
      if (sse) headers.accept = "text/event-stream";
      const response = await fetch(route, { method: "POST", body, headers });
      await showResponse(section, response);
      $(section, ".curl").textContent = curlCommand(route, body, headers);
    } catch (error) {
      const result = $(section, ".result");
      result.hidden = false;
      $(result, ".status").textContent = "request failed";
      $(result, ".status").className = "status bad";
      $(result, ".body").textContent = String(error);
    } finally {
      button.disabled = false;
    }
  });
  return section;
}

async function checkHealth() {
  const badge = document.getElementById("health");
  try {
    const response = await fetch("/readyz");
    badge.textContent = response.ok ? "ready" : "not ready";
    badge.className = "badge " + (response.ok ? "ok" : "bad");
  } catch {
    badge.textContent = "unreachable";
    badge.className = "badge bad";
  }
}

async function main() {
  const main = document.getElementById("apis");
  checkHealth();
  setInterval(checkHealth, 5000);
  let doc;
  try {
    doc = await (await fetch("/docs.json")).json();
  } catch (error) {
    main.textContent = "Could not load /docs.json: " + error;
    return;
  }
  document.title = doc.info.title;
  document.getElementById("title").textContent = doc.info.title;
  document.getElementById("description").textContent = doc.info.description || "";
  const template = document.getElementById("api-template");
  main.textContent = "";
  for (const [route, item] of Object.entries(doc.paths)) {
    if (item.post) main.appendChild(renderApi(doc, template, route, item.post));
  }
  if (!main.children.length) main.textContent = "This service has no APIs.";
}

main();
