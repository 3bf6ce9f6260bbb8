// A hook's editable definition, as PUT /api/hooks/<id> takes it.
export const EDITABLE = [
  "script", "mode", "methods", "response", "limits", "requestsToTrack", "enabled",
  "isolation", "callbackUrl", "idempotencyHeader", "verify",
];

export function editable(hook) {
  const out = {};
  for (const key of EDITABLE) if (hook[key] !== undefined && hook[key] !== null) out[key] = hook[key];
  return out;
}
