// One job by its URL (/ui/jobs/<id>): the page exists only for a job the
// session's project owns (else the server answers "not found").
import { api, page, showError } from "./api.js";
import { $, clear, h } from "./dom.js";
import { renderJob } from "./jobview.js";

async function load() {
  const detail = $("#job-detail");
  try {
    const job = await api("GET", `/api/jobs/${encodeURIComponent(page.job)}`);
    renderJob(detail, job, { onReplay: (id) => location.assign(`/ui/jobs/${id}`) });
    if (job.hookId) {
      clear($("#history-link-slot"), h("a", { href: `/ui/hooks/${job.hookId}/history` }, `History of ${job.hookId}`));
    }
  } catch (error) {
    if (error.status === 404) clear(detail, h("p", { class: "error", id: "not-found" }, "Job not found."));
    else showError(error);
  }
}

load();
