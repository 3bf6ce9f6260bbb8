// Calls to the console's admin API: same origin, the session cookie, and the
// CSRF token on every change. Errors become a plain banner.
import { $, clear, h } from "./dom.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// timeoutMs: longer for calls that run many scripts (trying a draft).
export async function api(method, path, body, { timeoutMs = TIMEOUT_MS } = {}) {
  const headers = { Accept: "application/json" };
  const options = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, { ...options, signal: controller.signal });
  } catch {
    throw new ApiError(0, "unreachable", "The console server did not answer. Is hooklet running?");
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 401) {
    location.assign(`/ui/sign-in?next=${encodeURIComponent(location.pathname)}`);
    throw new ApiError(401, "unauthorized", "Your session ended: sign in again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

export function describe(error) {
  if (error.status === 503) return `Redis is unreachable: ${error.message}`;
  return error.message || String(error);
}

export function showError(error) {
  const banner = $("#banner");
  clear(banner, h("strong", {}, "Problem: "), describe(error));
  banner.hidden = false;
}

export function clearError() {
  $("#banner").hidden = true;
}

export function showNotice(text) {
  const banner = $("#banner");
  clear(banner, text);
  banner.classList.add("notice");
  banner.hidden = false;
}

export const page = document.body.dataset;
