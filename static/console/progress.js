// Follows a retrain on the model version page: polls the staff-only progress view every two
// seconds, shows stage, epoch k/N and the latest loss, and reloads the page once it has finished.
(function () {
  "use strict";
  var panel = document.querySelector("[data-progress-url]");
  if (!panel) { return; }
  var url = panel.getAttribute("data-progress-url");
  var stage = panel.querySelector("[data-progress-stage]");
  var epoch = panel.querySelector("[data-progress-epoch]");
  var loss = panel.querySelector("[data-progress-loss]");
  var bar = panel.querySelector("[data-progress-bar]");
  var note = panel.querySelector("[data-progress-note]");
  var failures = 0;

  function show(data) {
    stage.textContent = data.stage_label + " (" + data.status_label + ")";
    epoch.textContent = data.epoch + "/" + data.epochs_total;
    loss.textContent = data.loss === null ? "–" : Number(data.loss).toFixed(4);
    if (data.epochs_total) {
      bar.max = data.epochs_total;
      bar.value = data.epoch;
    }
    panel.setAttribute("data-status", data.status);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (data.finished) {
          note.textContent = data.error ? data.error : panel.getAttribute("data-finished-text");
          window.setTimeout(function () { window.location.reload(); }, 800);
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function (error) {
        failures += 1;
        note.textContent = panel.getAttribute("data-retry-text") + " (" + error.message + ")";
        window.setTimeout(poll, Math.min(30000, 2000 * Math.pow(2, failures)));
      });
  }
  window.setTimeout(poll, 500);
})();
