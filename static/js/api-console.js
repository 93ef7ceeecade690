// The interactive console of an API documentation page (/api/docs/: Swagger UI, /api/redoc/: ReDoc).
// The page shows the reference drawn on the server at once; the console's bundle is large (seconds of
// parsing on a phone), so it loads only when the reader opens it, and then replaces the reference.
// It opens by itself when the reader opened it on an earlier visit (remembered in localStorage until
// they go back to the plain reference) or follows a link into the console (#/... in Swagger UI,
// #tag/... or #operation/... in ReDoc).
(function () {
  "use strict";
  var bar = document.querySelector(".api-console-bar");
  var consoleEl = document.querySelector(".api-console");
  var reference = document.getElementById("api-reference");
  if (!bar || !consoleEl || !reference) {
    return;
  }
  var openButton = bar.querySelector(".api-console-open");
  var closeButton = bar.querySelector(".api-console-close");
  var status = bar.querySelector(".api-console-status");
  var storageKey = "api-console:" + bar.dataset.console;
  var loaded = false;

  function remember(open) {
    try {
      if (open) {
        window.localStorage.setItem(storageKey, "open");
      } else {
        window.localStorage.removeItem(storageKey);
      }
    } catch (e) {
      // Storage may be disabled (private mode, policy): the choice is then not remembered.
    }
  }

  function remembered() {
    try {
      return window.localStorage.getItem(storageKey) === "open";
    } catch (e) {
      return false;
    }
  }

  function loadInOrder(urls, done, failed) {
    if (!urls.length) {
      done();
      return;
    }
    var script = document.createElement("script");
    script.src = urls[0];
    script.onload = function () {
      loadInOrder(urls.slice(1), done, failed);
    };
    script.onerror = failed;
    document.head.appendChild(script);
  }

  function show(open) {
    consoleEl.hidden = !open;
    reference.hidden = open;
    openButton.hidden = open;
    closeButton.hidden = !open;
  }

  function open() {
    remember(true);
    show(true);
    if (loaded) {
      return;
    }
    loaded = true;
    openButton.disabled = true;
    status.textContent = bar.dataset.loading || "Loading…";
    (consoleEl.dataset.styles || "").split(" ").filter(Boolean).forEach(function (href) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      document.head.appendChild(link);
    });
    loadInOrder(
      (consoleEl.dataset.scripts || "").split(" ").filter(Boolean),
      function () {
        status.textContent = "";
        openButton.disabled = false;
      },
      function () {
        loaded = false;
        openButton.disabled = false;
        show(false);
        status.textContent = bar.dataset.failed || "The console could not be loaded; the reference below is complete.";
      }
    );
  }

  openButton.addEventListener("click", open);
  closeButton.addEventListener("click", function () {
    remember(false);
    show(false);
  });
  bar.classList.add("ready");

  var hash = window.location.hash;
  if (remembered() || /^#(\/|tag\/|operation\/|section\/)/.test(hash)) {
    open();
  }
})();
