// One draft result side by side: the answer the event got (recorded) and the
// draft's, with status, headers and body (JSON pretty-printed) and the lines
// that differ marked. The try API sends only the differences, so the draft's
// answer is the recorded one with them applied (app/draft_diff.py's paths).
import { h } from "./dom.js";

const MAX_CELLS = 4_000_000; // past this, lines are compared by position

export function pretty(text, encoding) {
  if (text === undefined || text === null || text === "") return "";
  if (encoding === "base64") return `(base64) ${text}`;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return String(text);
  }
}

// The indices of the lines of a and of b outside a longest common subsequence
// (compared as key(line): JSON lines without their trailing comma).
export function changedLines(lines1, lines2, key = (line) => line) {
  const a = lines1.map(key);
  const b = lines2.map(key);
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    const left = new Set();
    const right = new Set();
    for (let i = 0; i < Math.max(n, m); i++) {
      if (a[i] !== b[i]) {
        if (i < n) left.add(i);
        if (i < m) right.add(i);
      }
    }
    return [left, right];
  }
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1
        : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const left = new Set();
  const right = new Set();
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) left.add(i++);
    else right.add(j++);
  }
  while (i < n) left.add(i++);
  while (j < m) right.add(j++);
  return [left, right];
}

// Where each value sits in a parsed JSON body, by the server's path names
// ("$.a.b[0]"): path -> [container, key], and path -> container.
function locate(root) {
  const places = new Map();
  const containers = new Map([["$", root]]);
  const walk = (path, value) => {
    if (Array.isArray(value)) {
      containers.set(path, value);
      value.forEach((item, i) => {
        places.set(`${path}[${i}]`, [value, i]);
        walk(`${path}[${i}]`, item);
      });
    } else if (value && typeof value === "object") {
      containers.set(path, value);
      for (const key of Object.keys(value)) {
        places.set(`${path}.${key}`, [value, key]);
        walk(`${path}.${key}`, value[key]);
      }
    }
  };
  walk("$", root);
  return { places, containers };
}

// A value the draft added: its container is the longest known container path
// the change's path starts with.
function parentOf(path, containers) {
  let best = null;
  for (const [at, container] of containers) {
    if (!path.startsWith(at) || (best && best[0].length >= at.length)) continue;
    const rest = path.slice(at.length);
    const index = /^\[(\d+)\]$/.exec(rest);
    if (Array.isArray(container) && index) best = [at, container, Number(index[1])];
    else if (!Array.isArray(container) && rest.startsWith(".")) best = [at, container, rest.slice(1)];
  }
  return best ? [best[1], best[2]] : null;
}

export function applyChanges(value, changes) {
  if (changes.some((c) => c.path === "$")) return changes.find((c) => c.path === "$").draft;
  const copy = structuredClone(value);
  const { places, containers } = locate(copy);
  const removed = [];
  for (const change of changes) {
    const place = places.get(change.path) || parentOf(change.path, containers);
    if (!place) continue;
    const [container, key] = place;
    if ("draft" in change) container[key] = change.draft;
    else removed.push([container, key]);
  }
  removed.sort((x, y) => (typeof y[1] === "number" ? y[1] : 0) - (typeof x[1] === "number" ? x[1] : 0));
  for (const [container, key] of removed) {
    if (Array.isArray(container)) container.splice(key, 1);
    else delete container[key];
  }
  return copy;
}

// The two answers, from the job's view ({status, reason, error, result}) and a diff.
export function answers(job, diff) {
  const result = job.result || {};
  const recorded = {
    status: job.status, reason: job.reason, error: job.error,
    statusCode: result.statusCode, headers: result.headers || {},
    body: pretty(result.body, result.bodyEncoding),
  };
  const draft = { ...recorded, headers: { ...recorded.headers } };
  for (const name of ["status", "reason", "error", "statusCode"]) {
    if (diff[name]) draft[name] = diff[name].draft ?? undefined;
  }
  for (const [name, change] of Object.entries(diff.headers || {})) {
    if (change.draft === null || change.draft === undefined) delete draft.headers[name];
    else draft.headers[name] = change.draft;
  }
  const body = diff.body;
  let note = "";
  if (body?.json && body.changes.length) {
    try {
      draft.body = JSON.stringify(applyChanges(JSON.parse(result.body), body.changes), null, 2);
    } catch {
      draft.body = body.changes.map((c) => `${c.path}: ${JSON.stringify(c.draft)}`).join("\n");
    }
    if (body.more) note = "More than 50 changes: the draft side shows the first 50.";
  } else if (body?.json) {
    note = "Same JSON value, different bytes.";
  } else if (body) {
    recorded.body = pretty(body.stored.body, body.stored.bodyEncoding);
    draft.body = pretty(body.draft.body, body.draft.bodyEncoding);
    if (body.stored.bytes > 4096 || body.draft.bytes > 4096) note = "Bodies cut at 4 KiB.";
  }
  return { recorded, draft, note };
}

function isJson(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return !text;
  }
}

function headLine(answer) {
  if (answer.status === "failed") return `failed${answer.reason ? ` (${answer.reason})` : ""}`;
  return answer.statusCode === undefined || answer.statusCode === null ? answer.status || "—" : `Status ${answer.statusCode}`;
}

function headerLines(answer) {
  return Object.keys(answer.headers).sort().map((name) => `${name}: ${answer.headers[name]}`);
}

function block(lines, changed, cls) {
  if (!lines.length) return h("p", { class: "muted" }, "none");
  return h("pre", { class: cls }, lines.map((line, i) =>
    h("span", { class: changed.has(i) ? "line changed" : "line" }, `${line}\n`)));
}

function side(title, cls, answer, marks) {
  return h("div", { class: `side ${cls}` },
    h("h4", {}, title),
    h("p", { class: marks.head ? "line changed head" : "head" }, headLine(answer)),
    answer.error ? h("pre", { class: `error-text${marks.error ? " changed" : ""}` }, answer.error) : null,
    h("h5", {}, "Headers"),
    block(headerLines(answer), marks.headers, "headers"),
    h("h5", {}, "Body"),
    block(answer.body ? answer.body.split("\n") : [], marks.body, "body"));
}

export function sideBySide(job, diff) {
  const { recorded, draft, note } = answers(job, diff);
  const [headersLeft, headersRight] = changedLines(headerLines(recorded), headerLines(draft));
  const split = (a) => (a.body ? a.body.split("\n") : []);
  const json = isJson(recorded.body) && isJson(draft.body);
  const [bodyLeft, bodyRight] = changedLines(split(recorded), split(draft), json ? (line) => line.replace(/,$/, "") : undefined);
  const head = headLine(recorded) !== headLine(draft);
  const error = recorded.error !== draft.error;
  return h("div", { class: "side-by-side" },
    note ? h("p", { class: "muted note" }, note) : null,
    h("div", { class: "sides" },
      side("Live (recorded)", "recorded", recorded, { head, error, headers: headersLeft, body: bodyLeft }),
      side("Draft", "draft", draft, { head, error, headers: headersRight, body: bodyRight })));
}
