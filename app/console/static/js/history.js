// A hook's request history: status, duration, reason; a request in full;
// replay; HAR download.
import { api, clearError, page, showError } from "./api.js";
import { $, clear, h, ms, statusBadge, table, when } from "./dom.js";
import { renderJob } from "./jobview.js";

const hookId = page.hook;
const list = $("#history-list");
const detail = $("#job-detail");
$("#edit-link").href = `/ui/hooks/${hookId}`;
$("#har-link").href = `/api/hooks/${hookId}/jobs.har`;
$("#har-link").setAttribute("download", `${hookId}.har`);

async function load() {
  let data;
  try {
    data = await api("GET", `/api/hooks/${hookId}/jobs`);
    clearError();
  } catch (error) {
    showError(error);
    return;
  }
  if (!data.jobs.length) {
    clear(list, h("p", { class: "empty" }, "No requests yet. Send one to ", h("code", {}, `/h/${hookId}`), "."));
    return;
  }
  clear(list, table(
    [
      { label: "When", value: (j) => when(j.createdAt) },
      { label: "Request", value: (j) => h("button", { type: "button", class: "link open-job", "data-job": j.jobId, onclick: () => open(j) }, `${j.request?.method || ""} ${j.request?.path || ""}`) },
      { label: "Status", value: (j) => statusBadge(j.status, j.reason) },
      { label: "Response", value: (j) => (j.result ? String(j.result.statusCode) : "—") },
      { label: "Duration", value: (j) => ms(j.durationMs) },
    ],
    data.jobs,
    { rowClass: (j) => `job-row status-row-${j.status}` },
  ));
}

function open(job) {
  renderJob(detail, job, { onReplay: () => setTimeout(load, 1000) });
  detail.scrollIntoView({ block: "nearest" });
}

$("#refresh").addEventListener("click", load);
load();
setInterval(load, 15000);
