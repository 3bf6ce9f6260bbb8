// The hooks page: every hook with its last hour, and quick actions.
import { api, clearError, showError } from "./api.js";
import { $, clear, h, ms, table, when } from "./dom.js";
import { can, isAdmin, withProject } from "./session.js";

const writable = can("hooks:write");
if (!writable) $("#new-hook")?.remove();

const list = $("#hooks-list");

async function load() {
  let hooks, summary;
  try {
    [hooks, summary] = await Promise.all([
      api("GET", withProject("/api/hooks")),
      // The last hour's figures need stats:read; without it the list still shows.
      can("stats:read") ? api("GET", withProject("/api/stats/hooks")) : { hooks: {} },
    ]);
    clearError();
  } catch (error) {
    showError(error);
    clear(list, h("p", { class: "error" }, "Could not load the hooks."));
    return;
  }
  if (!hooks.hooks.length) {
    clear(list, h("p", { class: "empty" }, "No hooks yet. ",
      writable ? h("a", { href: "/ui/hooks/new" }, "Create the first one.") : null));
    return;
  }
  const stats = summary.hooks;
  clear(list, table(
    [
      { label: "Hook", value: (hk) => h("a", { href: `/ui/hooks/${hk.id}` }, hk.id) },
      ...(isAdmin ? [{ label: "Project", value: (hk) => hk.project || "default" }] : []),
      { label: "Mode", value: (hk) => hk.mode },
      { label: "Version", value: (hk) => String(hk.version) },
      { label: "Enabled", value: (hk) => (hk.enabled ? "yes" : "no (404)") },
      { label: "Last event", value: (hk) => when(stats[hk.id]?.lastEventAt) },
      { label: "Events (1 h)", value: (hk) => String(stats[hk.id]?.events ?? 0) },
      { label: "Error rate (1 h)", value: (hk) => rate(stats[hk.id]) },
      { label: "p95 (1 h)", value: (hk) => ms(stats[hk.id]?.p95Ms) },
      { label: "Actions", value: actions, class: "nowrap" },
    ],
    hooks.hooks,
    { rowClass: (hk) => (hk.enabled ? "" : "disabled") },
  ));
}

function rate(s) {
  if (!s || s.errorRate === null || s.errorRate === undefined) return "—";
  const pct = (s.errorRate * 100).toFixed(s.errorRate < 0.1 ? 1 : 0);
  return `${pct}% (${s.failed} of ${s.finished})`;
}

function actions(hook) {
  const cell = h("span", { class: "row-actions" });
  const links = [
    h("a", { href: `/ui/hooks/${hook.id}` }, writable ? "Edit" : "View"), " ",
    h("a", { href: `/ui/hooks/${hook.id}/history` }, "History"),
  ];
  if (!writable) return clear(cell, ...links); // no toggle or delete: the token cannot change hooks
  const toggle = h("button", {
    type: "button",
    class: "toggle",
    "data-hook": hook.id,
    onclick: async () => {
      try {
        // Only this field: a PATCH leaves every other setting as it is.
        await api("PATCH", `/api/hooks/${hook.id}`, { enabled: !hook.enabled });
        await load();
      } catch (error) {
        showError(error);
      }
    },
  }, hook.enabled ? "Disable" : "Enable");
  const remove = h("button", {
    type: "button",
    class: "delete",
    "data-hook": hook.id,
    onclick: () => {
      clear(cell,
        `Delete ${hook.id}? `,
        h("button", {
          type: "button",
          class: "confirm-delete danger",
          onclick: async () => {
            try {
              await api("DELETE", `/api/hooks/${hook.id}`);
              await load();
            } catch (error) {
              showError(error);
            }
          },
        }, "Delete"),
        " ",
        h("button", { type: "button", onclick: () => load() }, "Cancel"));
    },
  }, "Delete…");
  return clear(cell, ...links, " ", toggle, " ", remove);
}

load();
setInterval(load, 30000);
