// Charts from /api/stats, drawn with uPlot: script duration with the 5 ms red
// zone, events, jobs, terminations by reason, child memory, warm isolates and
// queue depth. Series differ by dash as well as colour. They refresh by themselves.
import { api, clearError, showError } from "./api.js";
import { $, clear, h } from "./dom.js";
import { isAdmin, withProject } from "./session.js";

const REFRESH_MS = 15000;
const COLOURS = ["#1f5fbf", "#c0392b", "#2e7d32", "#8e44ad", "#e67e22", "#00838f", "#6d4c41", "#455a64"];
const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 5], [12, 6], [6, 2, 2, 2]];
const charts = $("#charts");
let plots = [];

function series(label, i) {
  const stroke = COLOURS[i % COLOURS.length];
  // Points too, so a lone minute with data shows; shapes differ by dash.
  return { label, stroke, dash: DASHES[i % DASHES.length], width: 2, points: { show: true, size: 5, fill: stroke } };
}

function redZone(limitMs) {
  return (u) => {
    const { ctx, bbox } = u;
    const y = u.valToPos(limitMs, "y", true);
    if (!Number.isFinite(y)) return;
    const top = bbox.top;
    const bottom = Math.min(Math.max(y, top), bbox.top + bbox.height);
    ctx.save();
    ctx.fillStyle = "rgba(192, 57, 43, 0.10)";
    ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
    ctx.restore();
  };
}

function chart(title, t, named, options = {}) {
  const labels = Object.keys(named);
  const counted = labels.filter((k) => !(options.reference || []).includes(k));
  const total = counted.reduce((sum, k) => sum + named[k].reduce((a, v) => a + (v || 0), 0), 0);
  const figure = h("figure", { class: "chart", "data-chart": options.id || title },
    h("figcaption", {}, title));
  charts.append(figure);
  if (!labels.length || total === 0) {
    figure.append(h("p", { class: "empty" }, options.empty || "No data in this range yet."));
    return;
  }
  // The figure's inner width (less its padding), so the chart never overflows it.
  const inner = figure.getBoundingClientRect().width - 18;
  const width = Math.max(260, Math.min(inner || 600, 1100));
  const opts = {
    width,
    height: options.height || 220,
    series: [{}, ...labels.map((label, i) => ({ ...series(label, i), ...(options.series?.[label] || {}) }))],
    axes: [{}, { label: options.unit || "", size: 60 }],
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    hooks: options.hooks || {},
    legend: { live: true },
  };
  const data = [t, ...labels.map((k) => named[k])];
  plots.push(new window.uPlot(opts, data, figure));
}

function toMb(named) {
  const out = {};
  for (const [k, v] of Object.entries(named)) out[k] = v.map((x) => (x === null ? null : x / 2 ** 20));
  return out;
}

async function load() {
  const hook = $("#c-hook").value;
  const range = $("#c-range").value;
  const params = new URLSearchParams({ range });
  if (hook) params.set("hook", hook);
  let s;
  try {
    s = await api("GET", `/api/stats?${params}`);
    clearError();
  } catch (error) {
    showError(error);
    return;
  }
  for (const plot of plots) plot.destroy();
  plots = [];
  clear(charts);
  if (!s.enabled) charts.append(h("p", { class: "error" }, "Stats collection is off (HOOKLET_STATS_ENABLED=false)."));
  const durations = { ...s.durationMs, "5 ms red zone": s.t.map(() => s.redZoneMs) };
  chart(`Script duration, ${hook || "fleet"} (shaded: above ${s.redZoneMs} ms)`, s.t, durations, {
    id: "duration",
    unit: "ms",
    reference: ["5 ms red zone"],
    hooks: { drawClear: [redZone(s.redZoneMs)] },
    series: { "5 ms red zone": { stroke: "#c0392b", dash: [3, 3], width: 1, points: { show: false } } },
    empty: "No script ran in this range yet.",
  });
  chart("Events received by outcome", s.t, s.events, { id: "events", unit: "per step" });
  chart("Jobs finished by status", s.t, s.jobs, { id: "jobs", unit: "per step" });
  chart("Terminations and crashes by reason", s.t, s.terminations, {
    id: "terminations",
    unit: "per step",
    empty: "No script failed in this range.",
  });
  if (!hook) {
    chart("Worker child memory (RSS at its last job in each step)", s.t, toMb(s.childRssBytes), { id: "memory", unit: "MB" });
    chart("Warm isolates per child", s.t, s.warmIsolates, { id: "isolates", unit: "isolates" });
    chart("Scripts queue depth (peak)", s.t, s.queueDepth, {
      id: "queue",
      unit: "messages",
      empty: "The queue stayed empty.",
    });
  }
  $("#updated").textContent = `Updated ${new Date().toLocaleTimeString()}; every ${s.stepS / 60} min per point; refreshes every ${REFRESH_MS / 1000} s.`;
}

async function init() {
  const params = new URLSearchParams(location.search);
  try {
    const hooks = await api("GET", withProject("/api/hooks"));
    // A project token reads one hook's series: the fleet's would show every project.
    if (!isAdmin) $('#c-hook option[value=""]').remove();
    for (const hook of hooks.hooks) $("#c-hook").append(h("option", { value: hook.id }, hook.id));
  } catch (error) {
    showError(error);
  }
  if (params.has("hook")) $("#c-hook").value = params.get("hook");
  if (!isAdmin && !$("#c-hook").value) {
    clear(charts, h("p", { class: "empty" }, "No hook in this project yet."));
    return;
  }
  if (params.has("range")) $("#c-range").value = params.get("range");
  $("#c-hook").addEventListener("change", load);
  $("#c-range").addEventListener("change", load);
  load();
  setInterval(load, REFRESH_MS);
}

init();
