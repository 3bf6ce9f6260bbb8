// The editor's drafts panel: save the editor as the hook's draft, try it on
// recorded events, see each difference side by side, shadow runs, and
// promote or roll back after a confirmation in the page.
import { api, clearError, showError } from "./api.js";
import { $, clear, h, when } from "./dom.js";
import { loadShadow, setShadow, tryDraft } from "./draftruns.js";

let ctx = null; // what initDrafts was given
let draft = null; // the saved draft, or null

function base() {
  return `/api/hooks/${encodeURIComponent(ctx.hookId)}`;
}

function confirmFirst(text) {
  const panel = $("#draft-confirm");
  $("#draft-confirm-text").textContent = text;
  panel.hidden = false;
  $("#draft-confirm-yes").focus();
  return new Promise((resolve) => {
    const done = (answer) => {
      panel.hidden = true;
      $("#draft-confirm-yes").onclick = null;
      $("#draft-confirm-no").onclick = null;
      resolve(answer);
    };
    $("#draft-confirm-yes").onclick = () => done(true);
    $("#draft-confirm-no").onclick = () => done(false);
  });
}

function say(text) {
  $("#draft-status").textContent = text;
}

async function loadDraft() {
  try {
    draft = await api("GET", `${base()}/draft`);
  } catch (error) {
    if (error.status !== 404) showError(error);
    draft = null;
  }
  render();
}

function render() {
  const live = ctx.live();
  const line = $("#draft-line");
  line.hidden = false;
  $("#rollback-to").placeholder = live.version > 1 ? String(live.version - 1) : "";
  $("#rollback").disabled = !(live.version > 1);
  for (const id of ["#load-draft", "#discard-draft", "#promote"]) $(id).hidden = !draft;
  $("#try-section").hidden = !draft;
  if (!draft) {
    line.textContent = `No draft. Live: version ${live.version}.`;
    clear($("#draft-info"), h("p", { class: "empty" }, "No draft. Edit the script and use Save draft."));
    return;
  }
  const stale = draft.baseVersion !== live.version;
  line.textContent = `Draft saved (from version ${draft.baseVersion}; live: version ${live.version}).`;
  clear($("#draft-info"), h("p", { id: "draft-summary" },
    "Draft saved ", when(draft.savedAt), `, from version ${draft.baseVersion}. Live: version ${live.version}.`,
    stale ? h("strong", {}, " Live has changed since.") : null));
}

async function saveDraft() {
  let body;
  try {
    body = ctx.collect();
  } catch (error) {
    ctx.onSaveError(error);
    return;
  }
  delete body.shadow; // the live hook's setting about its draft, not part of the draft
  const status = $("#save-status");
  status.textContent = "Saving draft…";
  try {
    draft = await api("PUT", `${base()}/draft`, body);
    clearError();
    status.textContent = "Draft saved. Live is unchanged.";
    render();
    loadShadow(base(), Boolean(draft));
  } catch (error) {
    status.textContent = "Draft not saved.";
    ctx.onSaveError(error);
  }
}

async function discard() {
  if (!(await confirmFirst("Discard the draft? Live stays as it is."))) return say("Cancelled.");
  try {
    await api("DELETE", `${base()}/draft`);
    say("Draft discarded.");
    draft = null;
    render();
    loadShadow(base(), Boolean(draft));
  } catch (error) {
    showError(error);
  }
}

async function promote() {
  const live = ctx.live();
  const ok = await confirmFirst(`Promote the draft? Live events will run it as version ${live.version + 1}.`);
  if (!ok) return say("Cancelled.");
  try {
    const hook = await api("POST", `${base()}/draft/promote`, { etag: draft.etag });
    ctx.setLive(hook);
    say(`Promoted: live is version ${hook.version}.`);
    draft = null;
    render();
    loadShadow(base(), Boolean(draft));
  } catch (error) {
    if (error.status === 409) say("The draft was saved again elsewhere: reload and check it first.");
    else showError(error);
  }
}

async function rollback() {
  const live = ctx.live();
  const raw = $("#rollback-to").value.trim();
  const to = raw ? Number(raw) : live.version - 1;
  if (!Number.isInteger(to) || to < 1 || to >= live.version) {
    say(`Pick a version from 1 to ${live.version - 1}.`);
    return;
  }
  const ok = await confirmFirst(`Roll back to version ${to}? Its script and settings come back as version ${live.version + 1}.`);
  if (!ok) return say("Cancelled.");
  try {
    const hook = await api("POST", `${base()}/rollback`, { version: to });
    ctx.setLive(hook);
    $("#rollback-to").value = "";
    say(`Rolled back: live is version ${hook.version} (the script of version ${hook.restoredVersion}).`);
    loadDraft();
  } catch (error) {
    showError(error);
  }
}

// context: {hookId, script() (the editor's text), collect() (the form as a
// definition), live() (the live hook), setLive(hook) (show it in the form),
// keepLive(hook) (a new live version, the form left as it is),
// loadDraft(draft) (show it in the form), onSaveError(error)}
export function initDrafts(context) {
  ctx = context;
  $("#drafts-panel").hidden = false;
  $("#save-draft").hidden = false;
  $("#save-draft").addEventListener("click", saveDraft);
  $("#load-draft").addEventListener("click", () => {
    ctx.loadDraft(draft);
    say("The editor shows the draft: Save draft keeps it a draft; Save makes it live.");
  });
  $("#discard-draft").addEventListener("click", discard);
  $("#promote").addEventListener("click", promote);
  $("#rollback").addEventListener("click", rollback);
  $("#try-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const edited = ctx.script() !== draft.script && ctx.script() !== ctx.live().script;
    tryDraft(base(), edited ? " The editor has unsaved changes: this tried the saved draft." : "");
  });
  $("#shadow-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setShadow(base(), Boolean(draft), (hook) => {
      ctx.keepLive(hook);
      render();
    });
  });
  refreshDrafts();
  setInterval(() => draft && loadShadow(base(), true), 15000); // shadow results as they come
}

// The draft and shadow runs as the API has them now (after a save, promote...).
export async function refreshDrafts() {
  if (!ctx) return;
  await loadDraft();
  await loadShadow(base(), Boolean(draft));
}
