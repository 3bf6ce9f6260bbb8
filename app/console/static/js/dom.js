// Small DOM helpers. Every piece of text goes in as a text node (textContent):
// nothing from a request, a log line or an error is ever parsed as HTML.

export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "href" && !/^(\/|#|https?:)/.test(String(value))) continue;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function table(columns, rows, options = {}) {
  // columns: [{label, value: row => text or Node, class}]
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)));
  const body = rows.map((row) =>
    h(
      "tr",
      { class: options.rowClass ? options.rowClass(row) : undefined },
      columns.map((c) => h("td", { class: c.class, "data-label": c.label }, c.value(row))),
    ),
  );
  return h("div", { class: "scroll" }, h("table", {}, h("thead", {}, head), h("tbody", {}, body)));
}

export function when(iso) {
  if (!iso) return "—";
  const date = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const ago =
    seconds < 60 ? `${seconds}s ago` : seconds < 3600 ? `${Math.round(seconds / 60)} min ago`
      : seconds < 86400 ? `${Math.round(seconds / 3600)} h ago` : date.toISOString().slice(0, 10);
  return h("time", { datetime: date.toISOString(), title: date.toISOString() }, ago);
}

export function statusBadge(status, reason) {
  const marks = { succeeded: "✓", failed: "✗", running: "…", queued: "◷" };
  const text = `${marks[status] || ""} ${status || "—"}${reason ? ` (${reason})` : ""}`.trim();
  return h("span", { class: `status status-${status}` }, text);
}

export function ms(value) {
  if (value === null || value === undefined) return "—";
  return value < 10 ? `${value.toFixed(2)} ms` : `${Math.round(value)} ms`;
}

export function pre(text, cls) {
  return h("pre", { class: cls }, text === undefined || text === null ? "" : String(text));
}
