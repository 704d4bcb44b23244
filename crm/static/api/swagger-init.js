// Starts Swagger UI on /api/v1/docs (crm/templates/swagger_ui.html) from the JSON block the page carries:
// what flask-smorest's inline script did, from a file the Content-Security-Policy allows.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("swagger-ui-config").textContent);
  var config = {url: data.url, dom_id: data.dom_id, validatorUrl: null};
  var override = data.override || {};
  Object.keys(override).forEach(function (key) { config[key] = override[key]; });
  window.ui = window.SwaggerUIBundle(config);
})();
