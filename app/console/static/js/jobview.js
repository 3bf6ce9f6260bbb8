// One job in full: request, response, logs, error, delivery attempts.
import { api, showError } from "./api.js";
import { clear, h, ms, pre, statusBadge, when } from "./dom.js";
import { can } from "./session.js";

function pairs(object) {
  const entries = Object.entries(object || {});
  if (!entries.length) return h("p", { class: "muted" }, "none");
  return h("dl", { class: "pairs" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

function body(text, encoding) {
  if (!text) return h("p", { class: "muted" }, "empty body");
  return pre(encoding === "base64" ? `(base64) ${text}` : text, "body");
}

export function renderJob(container, job, { onReplay } = {}) {
  const request = job.request || {};
  const result = job.result;
  const sections = [
    h("h2", {}, "Job ", h("code", {}, job.jobId)),
    h("p", {}, statusBadge(job.status, job.reason), " · ", ms(job.durationMs), " · ", when(job.createdAt),
      job.scriptVersion ? ` · version ${job.scriptVersion}` : "", ` · attempts ${job.attempts}`),
    job.replayOf ? h("p", {}, "Replays job ", h("code", {}, job.replayOf)) : null,
    job.replayedBy ? h("p", {}, "Replayed by job ", h("code", {}, job.replayedBy)) : null,
    h("h3", {}, "Request"),
    h("p", {}, h("code", {}, `${request.method || ""} ${request.path || ""}${request.rawQuery ? `?${request.rawQuery}` : ""}`)),
    pairs(request.headers),
    body(request.body, request.bodyEncoding),
  ];
  if (job.error) sections.push(h("h3", {}, "Error"), pre(job.error, "error-text"));
  if (result) {
    sections.push(h("h3", {}, `Response ${result.statusCode}`), pairs(result.headers), body(result.body, result.bodyEncoding));
  }
  sections.push(h("h3", {}, "Logs"));
  sections.push(
    job.logs && job.logs.length
      ? h("ol", { class: "logs" }, job.logs.map((line) => h("li", { class: `log-${line.level}` }, `[${line.level}] ${line.message}`)))
      : h("p", { class: "muted" }, "no log lines"),
  );
  if (job.delivery) {
    sections.push(h("h3", {}, `Callback: ${job.delivery.status}`));
    sections.push(
      job.delivery.attempts.length
        ? h("ol", {}, job.delivery.attempts.map((a) => h("li", {}, JSON.stringify(a))))
        : h("p", { class: "muted" }, "no attempts yet"),
    );
  }
  const status = h("span", { role: "status", class: "replay-status" });
  sections.splice(1, 0, h("p", {}, h("a", { href: `/ui/jobs/${job.jobId}`, class: "job-link" }, "Link to this job")));
  if (job.hookId && job.request && can("jobs:write")) {
    sections.push(
      h("p", { class: "actions" },
        h("button", {
          type: "button",
          class: "replay",
          onclick: async () => {
            try {
              const answer = await api("POST", `/api/jobs/${job.jobId}/replay`);
              status.textContent = `Replayed as job ${answer.jobId}`;
              if (onReplay) onReplay(answer.jobId);
            } catch (error) {
              showError(error);
            }
          },
        }, "Replay"),
        " ", status),
    );
  }
  clear(container, ...sections);
  container.hidden = false;
}

export async function showJob(container, jobId, options) {
  try {
    renderJob(container, await api("GET", `/api/jobs/${jobId}`), options);
  } catch (error) {
    showError(error);
  }
}
