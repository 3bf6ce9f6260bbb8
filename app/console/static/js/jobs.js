// Jobs across hooks: search, dead letters, and replay or redeliver many, with
// the dry-run count shown before anything runs.
import { api, clearError, showError } from "./api.js";
import { $, clear, h, ms, statusBadge, table, when } from "./dom.js";
import { showJob } from "./jobview.js";
import { can, chosen, withProject } from "./session.js";

if (!can("jobs:write")) $(".bulk")?.remove(); // no replay or redeliver: the token cannot

const list = $("#jobs-list");
const selected = new Set();
let cursor = null;
let rows = [];

function filter() {
  const f = {};
  for (const name of ["hook", "status", "reason", "delivery", "since"]) {
    const value = $(`#f-${name}`).value;
    if (value) f[name] = value;
  }
  if ($("#f-not-replayed").checked) f.replayed = false;
  if (chosen) f.project = chosen;
  return f;
}

async function search(more = false) {
  const params = new URLSearchParams({ ...filter(), limit: "50" });
  if (more && cursor) params.set("cursor", cursor);
  let data;
  try {
    data = await api("GET", `/api/jobs?${params}`);
    clearError();
  } catch (error) {
    showError(error);
    return;
  }
  if (!more) {
    rows = [];
    selected.clear();
  }
  rows = rows.concat(data.jobs);
  cursor = data.nextCursor;
  $("#more").hidden = !cursor;
  render();
}

function render() {
  updateButtons();
  if (!rows.length) {
    clear(list, h("p", { class: "empty" }, "No jobs match these filters."));
    return;
  }
  const all = h("input", {
    type: "checkbox",
    id: "select-all",
    "aria-label": "Select all shown",
    onchange: (e) => {
      for (const j of rows) e.target.checked ? selected.add(j.jobId) : selected.delete(j.jobId);
      render();
    },
  });
  all.checked = rows.every((j) => selected.has(j.jobId));
  const box = (j) => {
    const input = h("input", {
      type: "checkbox",
      class: "select-job",
      "data-job": j.jobId,
      "aria-label": `Select job ${j.jobId}`,
      onchange: (e) => {
        e.target.checked ? selected.add(j.jobId) : selected.delete(j.jobId);
        updateButtons();
      },
    });
    input.checked = selected.has(j.jobId);
    return input;
  };
  clear(list, table(
    [
      ...(can("jobs:write") ? [{ label: all, value: box }] : []),
      { label: "When", value: (j) => when(j.createdAt) },
      { label: "Hook", value: (j) => (j.hookId ? h("a", { href: `/ui/hooks/${j.hookId}/history` }, j.hookId) : "—") },
      { label: "Status", value: (j) => statusBadge(j.status, j.reason) },
      { label: "Error", value: (j) => (j.error || "").split("\n")[0].slice(0, 120) },
      { label: "Duration", value: (j) => ms(j.durationMs) },
      { label: "Replayed", value: (j) => (j.replayedBy ? `yes (${j.replayedBy.slice(0, 8)}…)` : "no") },
      { label: "Job", value: (j) => h("button", { type: "button", class: "link open-job", "data-job": j.jobId, onclick: () => showJob($("#job-detail"), j.jobId) }, `${j.jobId.slice(0, 8)}…`) },
    ],
    rows,
    { rowClass: (j) => `job-row status-row-${j.status}` },
  ));
}

function updateButtons() {
  if (!$("#replay-selected")) return;
  const n = selected.size;
  $("#replay-selected").disabled = n === 0;
  $("#redeliver-selected").disabled = n === 0;
  $("#replay-selected").textContent = n ? `Replay selected (${n})` : "Replay selected";
  $("#redeliver-selected").textContent = n ? `Redeliver selected (${n})` : "Redeliver selected";
}

function confirmFirst(text) {
  const panel = $("#confirm");
  $("#confirm-text").textContent = text;
  panel.hidden = false;
  $("#confirm-yes").focus();
  return new Promise((resolve) => {
    const done = (answer) => {
      panel.hidden = true;
      $("#confirm-yes").onclick = null;
      $("#confirm-no").onclick = null;
      resolve(answer);
    };
    $("#confirm-yes").onclick = () => done(true);
    $("#confirm-no").onclick = () => done(false);
  });
}

async function bulk(action, body) {
  const path = `/api/jobs/${action}`;
  const status = $("#bulk-status");
  try {
    const dry = await api("POST", path, { ...body, dryRun: true });
    if (!dry.matched) {
      status.textContent = `No jobs to ${action}.`;
      return;
    }
    const count = `${dry.matched}${dry.capped ? "+" : ""}`;
    const ok = await confirmFirst(`${action === "replay" ? "Replay" : "Redeliver"} ${count} job(s)? (dry run: ${count} match; up to ${dry.max} per call)`);
    if (!ok) {
      status.textContent = "Cancelled.";
      return;
    }
    let done = 0;
    let refused = 0;
    let next = null;
    do {
      const answer = await api("POST", path, { ...body, cursor: next });
      const key = action === "replay" ? "replayed" : "redelivered";
      done += answer[key].length;
      refused += answer.failed.length;
      next = body.ids ? null : answer.nextCursor;
      status.textContent = `${action}: ${done} done, ${refused} refused…`;
      if (!answer[key].length && !answer.failed.length) break;
    } while (next);
    status.textContent = `${action === "replay" ? "Replayed" : "Redelivered"} ${done} job(s)${refused ? `; ${refused} refused` : ""}.`;
    setTimeout(() => search(), 1500);
  } catch (error) {
    showError(error);
  }
}

// Ordered hooks' blocked keys (issue 24): listed above the jobs, each with
// resume (its failed event runs again first) and skip buttons.
async function loadBlocked() {
  const wanted = $("#f-hook").value;
  const found = [];
  try {
    // Any hook with blocked keys: one may have dropped its ordering since.
    const withBlocked = await api("GET", withProject("/api/keys?blocked=true"));
    const hooks = withBlocked.hooks.map((each) => each.hookId).filter((id) => !wanted || id === wanted);
    for (const id of hooks) {
      let cursor = "";
      do {  // every page
        const data = await api("GET", `/api/hooks/${encodeURIComponent(id)}/keys?blocked=true&cursor=${encodeURIComponent(cursor)}`);
        for (const key of data.keys) found.push({ hookId: id, ...key });
        cursor = data.nextCursor;
      } while (cursor);
    }
  } catch (error) {
    showError(error);
    return;
  }
  $("#blocked").hidden = !found.length;
  const action = (k, skip) => h("button", {
    type: "button",
    class: skip ? "skip-key" : "resume-key",
    "data-key": k.key,
    onclick: () => resumeKey(k, skip),
  }, skip ? "Skip" : "Resume");
  clear($("#blocked-keys"), table(
    [
      { label: "Hook", value: (k) => k.hookId },
      { label: "Key", value: (k) => h("code", {}, k.key) },
      { label: "Blocked by", value: (k) => h("button", { type: "button", class: "link open-job", onclick: () => showJob($("#job-detail"), k.blockedBy) }, `${k.blockedBy.slice(0, 8)}…`) },
      { label: "Waiting", value: (k) => String(k.waiting) },
      { label: "Since", value: (k) => when(k.since) },
      ...(can("jobs:write") ? [{ label: "", value: (k) => h("span", {}, action(k, false), " ", action(k, true)) }] : []),
    ],
    found,
    { rowClass: () => "blocked-key" },
  ));
}

async function resumeKey(k, skip) {
  const path = `/api/hooks/${encodeURIComponent(k.hookId)}/keys/${encodeURIComponent(k.key)}/resume`;
  try {
    const answer = await api("POST", path, { skip });
    const then = skip ? (answer.nextJobId ? `next: ${answer.nextJobId.slice(0, 8)}…` : "nothing waits") : `rerun: ${answer.rerunJobId.slice(0, 8)}…`;
    $("#blocked-status").textContent = `Key ${k.key} of ${k.hookId} ${skip ? "skipped its failed event" : "resumed"} (${then}).`;
    clearError();
  } catch (error) {
    showError(error);
  }
  await loadBlocked();
  search();
}

$("#filters").addEventListener("submit", (e) => {
  e.preventDefault();
  search();
  loadBlocked();
});
$("#dead-letters").addEventListener("click", () => {
  $("#f-status").value = "failed";
  search();
});
$("#more").addEventListener("click", () => search(true));
$("#replay-selected")?.addEventListener("click", () => bulk("replay", { ids: [...selected] }));
$("#redeliver-selected")?.addEventListener("click", () => bulk("redeliver", { ids: [...selected] }));
$("#replay-matching")?.addEventListener("click", () => bulk("replay", { filter: filter() }));
$("#redeliver-matching")?.addEventListener("click", () => bulk("redeliver", { filter: filter() }));

async function init() {
  const params = new URLSearchParams(location.search);
  for (const name of ["status", "reason", "delivery", "since"]) {
    if (params.has(name)) $(`#f-${name}`).value = params.get(name);
  }
  try {
    const hooks = await api("GET", withProject("/api/hooks"));
    for (const hook of hooks.hooks) $("#f-hook").append(h("option", { value: hook.id }, hook.id));
    if (params.has("hook")) $("#f-hook").value = params.get("hook");
    loadBlocked();
  } catch (error) {
    showError(error);
  }
  search();
}

init();
