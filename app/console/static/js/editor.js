// The hook editor: the script in CodeMirror, the settings as a form (the
// API's 422 messages next to their field), the test panel, and the drafts
// panel (drafts.js).
import { api, clearError, page, showError } from "./api.js";
import { $, clear, h, ms, pre, statusBadge } from "./dom.js";
import { initDrafts, refreshDrafts } from "./drafts.js";
import { NOT_IN_FORM } from "./hookdef.js";
import { can } from "./session.js";

const form = $("#hook-form");
const hookId = page.hook || "";
let saved = null; // the hook as last loaded or saved
let marked = null; // the CodeMirror line showing an error

const STARTER = `(async () => {
  const text = new TextDecoder().decode(new Uint8Array(context.body));
  console.log("got", context.method, context.path);
  return { statusCode: 200, body: { ok: true, received: text.length } };
})();
`;

const editor = window.CodeMirror.fromTextArea($("#script"), {
  mode: "javascript",
  lineNumbers: true,
  indentUnit: 2,
  tabSize: 2,
  viewportMargin: Infinity,
});

// A token without hooks:write sees the hook, with no way to save it or run
// it (the test runs are hooks:write too); the API would answer 403 anyway.
const writable = can("hooks:write");
if (!writable) {
  editor.setOption("readOnly", true);
  for (const input of form.querySelectorAll("input, select, textarea")) input.disabled = true;
  $("#save")?.remove();
  $("#save-draft")?.remove();
  $("#test-panel")?.remove();
  form.prepend(h("p", { class: "notice", id: "read-only" }, "Read-only: this token cannot change hooks (no hooks:write scope)."));
}

function field(name) {
  return form.querySelector(`[name="${name}"]`);
}

function setForm(hook) {
  editor.setValue(hook.script || "");
  field("id").value = hook.id || "";
  field("id").readOnly = Boolean(hook.id);
  field("mode").value = hook.mode || "async";
  field("methods").value = (hook.methods || []).join(", ");
  field("enabled").checked = hook.enabled !== false;
  field("isolation").value = hook.isolation || "warm";
  for (const key of ["timeoutMs", "heapMb", "waitMs", "maxConcurrent"]) {
    field(`limits.${key}`).value = hook.limits?.[key] ?? "";
  }
  field("requestsToTrack").value = hook.requestsToTrack ?? "";
  field("callbackUrl").value = hook.callbackUrl || "";
  field("idempotencyHeader").value = hook.idempotencyHeader || "";
  field("response").value = JSON.stringify(hook.response || {}, null, 2);
  field("secrets").value = "";
  const names = hook.secretNames || [];
  $("#secret-names").textContent = names.length
    ? `Stored secrets: ${names.join(", ")} (left as they are unless you type new ones)`
    : "No secrets stored.";
  $("#version").textContent = hook.version ? `version ${hook.version}` : "not saved yet";
}

function number(name) {
  const raw = field(name).value.trim();
  return raw === "" ? undefined : Number(raw);
}

function collect() {
  const body = { script: editor.getValue(), mode: field("mode").value, enabled: field("enabled").checked };
  body.isolation = field("isolation").value;
  const methods = field("methods").value.split(/[\s,]+/).filter(Boolean).map((m) => m.toUpperCase());
  if (methods.length) body.methods = methods;
  const limits = {};
  for (const key of ["timeoutMs", "heapMb", "waitMs", "maxConcurrent"]) {
    const value = number(`limits.${key}`);
    if (value !== undefined) limits[key] = value;
  }
  body.limits = limits;
  const track = number("requestsToTrack");
  if (track !== undefined) body.requestsToTrack = track;
  if (field("callbackUrl").value.trim()) body.callbackUrl = field("callbackUrl").value.trim();
  if (field("idempotencyHeader").value.trim()) body.idempotencyHeader = field("idempotencyHeader").value.trim();
  try {
    body.response = JSON.parse(field("response").value || "{}");
  } catch {
    throw fieldError("response", "is not valid JSON");
  }
  const secrets = field("secrets").value.trim();
  if (secrets) {
    body.secrets = {};
    for (const line of secrets.split("\n")) {
      const at = line.indexOf("=");
      if (at < 1) throw fieldError("secrets", "write one NAME=value per line");
      body.secrets[line.slice(0, at).trim()] = line.slice(at + 1);
    }
  }
  if (saved?.verify) body.verify = saved.verify;
  for (const key of NOT_IN_FORM) if (saved?.[key] !== undefined && saved[key] !== null) body[key] = saved[key];
  return body;
}

function fieldError(name, message) {
  const error = new Error(message);
  error.field = name;
  return error;
}

function showFieldError(name, message) {
  const slot = form.querySelector(`[data-error-for="${name}"]`) || form.querySelector('[data-error-for="_form"]');
  slot.textContent = slot.dataset.errorFor === name ? message : `${name}: ${message}`;
  field(name)?.setAttribute("aria-invalid", "true");
}

function clearFieldErrors() {
  for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearFieldErrors();
  const status = $("#save-status");
  const id = hookId || field("id").value.trim();
  let body;
  try {
    body = collect();
    if (!id) throw fieldError("id", "is required");
  } catch (error) {
    showFieldError(error.field || "_form", error.message);
    return;
  }
  status.textContent = "Saving…";
  try {
    const keep = body.secrets ? "" : "?keepSecrets=true";
    saved = await api("PUT", `/api/hooks/${encodeURIComponent(id)}${keep}`, body);
    clearError();
    status.textContent = `Saved: version ${saved.version}`;
    if (!hookId) {
      location.assign(`/ui/hooks/${saved.id}?saved=${saved.version}`);
      return;
    }
    setForm(saved);
    refreshDrafts();
  } catch (error) {
    status.textContent = "Not saved.";
    showSaveError(error);
  }
});

// A 422 from a save (live or draft) next to its field; anything else in the banner.
function showSaveError(error) {
  if (error.field) {
    showFieldError(error.field, error.message);
  } else if (error.status === 422) {
    const at = error.message.indexOf(": ");
    const name = at > 0 ? error.message.slice(0, at) : "_form";
    showFieldError(name.startsWith("limits.") || field(name) ? name : "_form", at > 0 ? error.message.slice(at + 2) : error.message);
  } else {
    showError(error);
  }
}

// The test panel.
function sampleRequest() {
  const headers = {};
  for (const line of $("#test-headers").value.split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return {
    method: $("#test-method").value,
    path: $("#test-path").value || "/",
    rawQuery: $("#test-query").value.replace(/^\?/, ""),
    headers,
    body: $("#test-body").value,
  };
}

function markLine(error) {
  if (marked !== null) editor.removeLineClass(marked, "background", "cm-error-line");
  marked = null;
  const match = /hook\.js:(\d+)(?::(\d+))?/.exec(error || "");
  if (!match) return null;
  marked = Number(match[1]) - 1;
  editor.addLineClass(marked, "background", "cm-error-line");
  return Number(match[1]);
}

$("#test-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("#test-status");
  const out = $("#test-result");
  status.textContent = "Running…";
  const unchanged = saved && saved.script === editor.getValue();
  try {
    let body;
    let path;
    if (unchanged && hookId) {
      path = `/api/hooks/${hookId}/test`;
      body = { request: sampleRequest() };
    } else {
      path = "/api/scripts/test";
      body = { script: editor.getValue(), request: sampleRequest() };
      const c = collect();
      body.limits = c.limits;
      body.response = c.response;
    }
    const result = await api("POST", path, body);
    status.textContent = "";
    renderResult(out, result, unchanged && hookId ? "the saved hook (with its secrets)" : "the script in the editor");
  } catch (error) {
    status.textContent = "";
    if (error.field) showFieldError(error.field, error.message);
    else if (error.status === 422) clear(out, h("p", { class: "error" }, error.message));
    else showError(error);
  }
});

function renderResult(out, result, what) {
  const line = markLine(result.error);
  const r = result.result;
  clear(out,
    h("p", {}, statusBadge(result.status, result.reason), " · ", ms(result.durationMs), ` · ran ${what}`),
    result.error ? h("div", {}, h("h3", {}, line ? `Error (line ${line})` : "Error"), pre(result.error, "error-text")) : null,
    r ? h("div", {},
      h("h3", {}, `Status ${r.statusCode}`),
      h("dl", { class: "pairs" }, Object.entries(r.headers || {}).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      pre(r.bodyEncoding === "base64" ? `(base64) ${r.body}` : r.body, "body")) : null,
    h("h3", {}, "Logs"),
    result.logs?.length
      ? h("ol", { class: "logs" }, result.logs.map((l) => h("li", {}, `[${l.level}] ${l.message}`)))
      : h("p", { class: "muted" }, "no log lines"));
}

async function loadHistory() {
  if (!hookId || !writable) return;
  const select = $("#test-from");
  try {
    const data = await api("GET", `/api/hooks/${hookId}/jobs`);
    const jobs = data.jobs.filter((j) => j.request);
    for (const job of jobs) {
      const req = job.request;
      select.append(h("option", { value: job.jobId }, `${job.createdAt} ${req.method} ${req.path} (${job.status})`));
    }
    select.addEventListener("change", () => {
      const job = jobs.find((j) => j.jobId === select.value);
      if (!job) return;
      const req = job.request;
      $("#test-method").value = req.method;
      $("#test-path").value = req.path;
      $("#test-query").value = req.rawQuery || "";
      $("#test-headers").value = Object.entries(req.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
      $("#test-body").value = req.bodyEncoding === "base64" ? "" : req.body;
    });
  } catch {
    // The panel works without history.
  }
}

async function init() {
  if (!hookId) {
    setForm({ script: STARTER, mode: "async", enabled: true, response: {} });
    return;
  }
  $("#hook-links").hidden = false;
  $("#history-link").href = `/ui/hooks/${hookId}/history`;
  $("#charts-link").href = `/ui/charts?hook=${hookId}`;
  try {
    saved = await api("GET", `/api/hooks/${hookId}`);
    setForm(saved);
    const params = new URLSearchParams(location.search);
    if (params.get("saved")) $("#save-status").textContent = `Saved: version ${params.get("saved")}`;
  } catch (error) {
    showError(error);
  }
  loadHistory();
  if (!writable || !saved) return;
  const setLive = (hook) => setForm((saved = hook));
  const loadDraft = (draft) => {
    setForm(draft);
    $("#version").textContent = `draft (live: version ${saved.version})`;
  };
  // keepLive: a new live version whose script the editor may not show (the shadow share).
  const keepLive = (hook) => (saved = hook);
  const script = () => editor.getValue();
  initDrafts({ hookId, script, collect: () => (clearFieldErrors(), collect()), live: () => saved, setLive, keepLive, loadDraft, onSaveError: showSaveError });
}

init();
