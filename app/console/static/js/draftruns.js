// Runs of a hook's draft: tried on recorded events (POST .../draft/try) and
// shadowing live ones (GET .../draft/shadow), each result with its outcome
// and, where answers differ, the two side by side (sidebyside.js).
import { api, clearError, showError } from "./api.js";
import { $, clear, h, table, when } from "./dom.js";
import { sideBySide } from "./sidebyside.js";

const OUTCOMES = ["same", "differs", "diverged", "failed", "nondeterministic"];
const SHADOW_OUTCOMES = [...OUTCOMES, "skipped"]; // skipped: the shadow lane was full
const TRY_TIMEOUT_MS = 300000; // up to 500 events run through the workers

function tryBody() {
  const filter = {};
  for (const name of ["status", "reason", "delivery", "since"]) {
    const value = $(`#try-${name}`).value;
    if (value) filter[name] = value;
  }
  return { filter, limit: Number($("#try-limit").value.trim() || "20") };
}

// Every outcome with its count (a zero one muted, not coloured).
function countsLine(counts, names = OUTCOMES) {
  return h("p", { class: "outcome-counts" }, names.flatMap((name, i) => {
    const n = counts?.[name] ?? 0;
    return [i ? " · " : "", h("span", { class: n ? `outcome outcome-${name}` : "outcome muted", "data-outcome": name }, `${name} ${n}`)];
  }));
}

// In a few words, what changed (or why the draft could not answer).
function summary(row) {
  const diff = row.diff || {};
  if (diff.truncated) return `too big to keep (${diff.fields.join(", ")} changed)`;
  switch (row.result) {
    case "differs": {
      const parts = ["status", "reason", "error", "statusCode"].filter((k) => diff[k]);
      for (const name of Object.keys(diff.headers || {})) parts.push(`header ${name}`);
      if (diff.body?.json) parts.push(...diff.body.changes.slice(0, 5).map((c) => `body ${c.path}`));
      else if (diff.body) parts.push("body");
      return parts.join(", ");
    }
    case "diverged":
      return row.step ? `step ${row.step}: ${row.call}` : "the draft made a call the tape does not have";
    case "failed":
      return `${row.reason || ""}${row.error ? `: ${row.error}` : ""}`;
    case "nondeterministic":
      return "the live version does not give back its own recorded answer on this tape";
    default:
      return "";
  }
}

async function showDiff(where, jobId, diff) {
  const detail = $(where);
  clear(detail, h("p", { class: "muted" }, "Loading…"));
  let job;
  try {
    job = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`);
  } catch (error) {
    clear(detail, h("p", { class: "error" }, `Could not load job ${jobId}: ${error.message}`));
    return;
  }
  clear(detail, h("h4", {}, "Event ", h("a", { href: `/ui/jobs/${jobId}` }, h("code", {}, jobId))), sideBySide(job, diff));
  detail.scrollIntoView({ block: "nearest" });
}

function resultsTable(rows, where, outcomeOf, extra = []) {
  return table(
    [
      { label: "Event", value: (r) => h("a", { href: `/ui/jobs/${r.jobId}` }, `${r.jobId.slice(0, 8)}…`) },
      ...extra,
      { label: "Outcome", value: (r) => h("span", { class: `outcome outcome-${outcomeOf(r)}` }, outcomeOf(r)) },
      { label: "What", value: (r) => summary({ ...r, result: outcomeOf(r) }) },
      {
        label: "",
        value: (r) => (r.diff && !r.diff.truncated && Object.keys(r.diff).length
          ? h("button", { type: "button", class: "link compare", "data-job": r.jobId, onclick: () => showDiff(where, r.jobId, r.diff) }, "Compare")
          : ""),
      },
    ],
    rows,
    { rowClass: (r) => `try-row outcome-row-${outcomeOf(r)}` },
  );
}

// note: said after the count (e.g. that the editor holds unsaved changes).
export async function tryDraft(base, note = "") {
  const status = $("#try-status-line");
  const button = $("#try-draft");
  status.textContent = "Trying…";
  button.disabled = true;
  clear($("#try-detail"));
  try {
    const answer = await api("POST", `${base}/draft/try`, tryBody(), { timeoutMs: TRY_TIMEOUT_MS });
    clearError();
    status.textContent = `Tried ${answer.jobs.length} event(s).${note}`;
    clear($("#try-counts"), countsLine(answer.counts));
    // A nondeterministic job's own diff is the draft's verdict, kept under "draft".
    const rows = answer.jobs.map((r) => (r.result === "nondeterministic" ? { ...r, diff: r.draft?.diff } : r));
    const shown = rows.filter((r) => r.result !== "same");
    clear($("#try-list"), shown.length ? resultsTable(shown, "#try-detail", (r) => r.result)
      : h("p", { class: "empty" }, rows.length ? "Every event gets the same answer." : "No recorded events match."));
  } catch (error) {
    status.textContent = "";
    if (error.status === 400 || error.status === 422) status.textContent = error.message;
    else showError(error);
  } finally {
    button.disabled = false;
  }
}

// hasDraft: show the panel (and its setting) even before any shadow run.
export async function loadShadow(base, hasDraft) {
  let shadow = null;
  try {
    shadow = await api("GET", `${base}/draft/shadow`);
  } catch (error) {
    if (error.status !== 404 && error.status !== 405) showError(error);
  }
  if (!shadow) {
    $("#shadow-section").hidden = !hasDraft;
    clear($("#shadow-info"), h("p", { class: "empty", id: "no-shadow" }, "No shadow runs."));
    clear($("#shadow-list"));
    return;
  }
  renderShadow(shadow, hasDraft);
}

// A recent shadow run as a results row: a run that did not differ keeps its
// details (step and call, reason and error) where a tried event has them.
function shadowRow(run) {
  if (run.outcome === "differs") return run;
  const details = run.diff || {};
  return { ...run, ...details, diff: run.outcome === "nondeterministic" ? details.draft?.diff : undefined };
}

export function renderShadow(shadow, hasDraft = true) {
  const pct = Math.round((shadow.sample || 0) * 1000) / 10;
  $("#shadow-section").hidden = !hasDraft && !pct;
  if (document.activeElement !== $("#shadow-percent")) $("#shadow-percent").value = String(pct);
  const what = !hasDraft ? `Shadow is set to ${pct}%, but there is no draft: nothing runs.`
    : pct ? `The draft runs on ${pct}% of live events, after the live run, on its tape.` : "Shadow runs are off.";
  clear($("#shadow-info"), h("p", { id: "shadow-summary" }, what), hasDraft ? countsLine(shadow.counts, SHADOW_OUTCOMES) : null);
  const recent = (shadow.recent || []).map(shadowRow);
  clear($("#shadow-list"), !hasDraft ? null : recent.length
    ? resultsTable(recent, "#shadow-detail", (r) => r.outcome, [{ label: "When", value: (r) => when(r.at) }])
    : h("p", { class: "empty" }, "No differences yet."));
}

// onLive: the hook as PATCH answers it (setting the share makes a new version).
export async function setShadow(base, hasDraft, onLive) {
  const status = $("#shadow-status");
  const pct = Number($("#shadow-percent").value.trim());
  if (!Number.isFinite(pct) || pct < 0 || pct > 100) {
    status.textContent = "Give a share from 0 to 100.";
    return;
  }
  try {
    onLive(await api("PATCH", base, { shadow: { sample: pct / 100 } }));
    status.textContent = pct ? `Shadowing ${pct}% of live events.` : "Shadow runs off.";
    loadShadow(base, hasDraft);
  } catch (error) {
    status.textContent = `Not set: ${error.message}`;
  }
}
