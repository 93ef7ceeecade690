// Starts ReDoc on the API reference page (/api/redoc/); the schema's address comes from the page.
(function () {
  "use strict";
  var container = document.getElementById("redoc-container");
  if (container && window.Redoc) {
    window.Redoc.init(container.dataset.specUrl, {}, container);
  }
})();
