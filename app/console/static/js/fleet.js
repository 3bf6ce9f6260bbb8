// The fleet: worker nodes and children, queues, callback destinations, readiness.
import { api, clearError, showError } from "./api.js";
import { $, clear, h, table, when } from "./dom.js";

async function readiness() {
  const out = $("#readiness");
  try {
    const response = await fetch("/readyz", { cache: "no-store" });
    const data = await response.json();
    out.textContent = data.status === "ready"
      ? `Ready: Redis answers, ${data.workers.length} worker(s) answered a ping.`
      : `Not ready: ${data.problems.join("; ")}.`;
    out.className = data.status === "ready" ? "ok" : "error";
  } catch {
    out.textContent = "Not ready: the console server did not answer.";
    out.className = "error";
  }
}

// Callback destinations (scheme, host, port) and their circuit breakers.
function destinations(list) {
  if (!list.length) return h("p", { class: "muted" }, "No callback sent yet.");
  return table([
    { label: "Destination", value: (d) => d.destination },
    { label: "Breaker", value: (d) => (d.state === "open"
      ? `open, probe in ${Math.max(0, Math.round(d.openUntil - Date.now() / 1000))} s` : d.state) },
    { label: "Failure streak", value: (d) => String(d.failureStreak) },
    { label: "Queued", value: (d) => String(d.queued) },
    { label: "Last error", value: (d) => d.lastError || "—" },
    { label: "Last error at", value: (d) => when(d.lastErrorAt) },
  ], list);
}

async function load() {
  readiness();
  const box = $("#fleet");
  let data;
  let dests;
  try {
    [data, dests] = await Promise.all([api("GET", "/api/workers"), api("GET", "/api/destinations")]);
    clearError();
  } catch (error) {
    showError(error);
    clear(box, h("p", { class: "error" }, "Could not read the fleet."));
    return;
  }
  const children = data.nodes.flatMap((n) => n.children.map((c) => ({ ...c, node: n.name })));
  clear(box,
    h("h2", {}, "Worker nodes"),
    data.nodes.length
      ? table([
          { label: "Node", value: (n) => n.name },
          { label: "Busy", value: (n) => `${n.active} of ${n.concurrency}` },
          { label: "Processed (tasks)", value: (n) => String(n.processed) },
          { label: "Up", value: (n) => (n.uptimeS ? `${Math.round(n.uptimeS / 60)} min` : "—") },
        ], data.nodes)
      : h("p", { class: "empty" }, "No worker answered. Start one: celery -A workers worker -Q scripts"),
    h("h2", {}, "Children"),
    children.length
      ? table([
          { label: "Node", value: (c) => c.node },
          { label: "PID", value: (c) => String(c.pid) },
          { label: "RSS", value: (c) => (c.rssBytes ? `${(c.rssBytes / 2 ** 20).toFixed(1)} MB` : "no job yet") },
          { label: "Warm isolates", value: (c) => String(c.warmIsolates) },
          { label: "Reported", value: (c) => when(c.reportedAt) },
        ], children)
      : h("p", { class: "muted" }, "No children reported."),
    h("h2", {}, "Queues"),
    table([
      { label: "Queue", value: (q) => q[0] },
      { label: "Waiting", value: (q) => String(q[1]) },
    ], Object.entries(data.queues)),
    h("p", {}, `Jobs running now: ${data.jobsRunning}`),
    h("h2", {}, "Callback destinations"),
    destinations(dests.destinations));
}

load();
setInterval(load, 10000);
