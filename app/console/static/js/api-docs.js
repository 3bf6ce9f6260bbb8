// The API reference: the OpenAPI document (embedded by the page) in the
// vendored Swagger UI. Read-only: "Try it out" is off, since the console's
// calls carry its session, not the bearer token the document describes.
const spec = JSON.parse(document.getElementById("openapi-document").textContent);
const box = document.getElementById("swagger");
box.replaceChildren();
window.SwaggerUIBundle({
  spec,
  domNode: box,
  deepLinking: true,
  supportedSubmitMethods: [],
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
});
