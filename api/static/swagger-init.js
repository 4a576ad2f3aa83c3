// Starts Swagger UI on /schema/swagger (api/openapi_docs.py): a file, not an inline script,
// so that the page runs under the site's CSP (script-src 'self').
const spec = document.currentScript.dataset.spec;
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: spec,
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  });
});
