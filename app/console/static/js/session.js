// Who this console session acts for, from the page (the server fills
// data-scopes and data-project from the session's token). Used to hide what
// the token may not do; the API refuses it anyway (403).
const body = document.body.dataset;
const scopes = new Set((body.scopes || "").split(" ").filter(Boolean));

export const isAdmin = body.admin === "yes";
export const project = body.project || "";
// The admin's project picker (?project=): "" is every project.
export const chosen = body.chosen || "";

export function can(scope) {
  return isAdmin || scopes.has(scope);
}

// A path with the admin's chosen project kept in its query.
export function withProject(path) {
  if (!chosen) return path;
  return `${path}${path.includes("?") ? "&" : "?"}project=${encodeURIComponent(chosen)}`;
}

const picker = document.getElementById("project-picker");
if (picker) {
  picker.addEventListener("change", () => {
    const params = new URLSearchParams(location.search);
    if (picker.value) params.set("project", picker.value);
    else params.delete("project");
    const query = params.toString();
    location.assign(`${location.pathname}${query ? `?${query}` : ""}`);
  });
  for (const link of document.querySelectorAll("header.top nav a")) {
    link.setAttribute("href", withProject(link.getAttribute("href")));
  }
}
