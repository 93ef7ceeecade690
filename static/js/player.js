// The video page's player reports how much of the video was watched to the site's own endpoint
// (POST {"completion": 0..1} with the CSRF token): on pause, at the end, at most every ~10 s while
// playing, and when the page is left. Completion is the share of the video actually played
// (seeking ahead does not count as watching).
(function () {
  "use strict";

  var video = document.querySelector("video[data-progress-url]");
  if (!video) return;

  var url = video.dataset.progressUrl;
  var tokenInput = document.querySelector("#progress-csrf input[name=csrfmiddlewaretoken]");
  var token = tokenInput ? tokenInput.value : "";
  var status = document.getElementById("player-status");
  var mine = document.querySelector("[data-my-progress]");
  var INTERVAL_MS = 10000;
  var session = Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  var sequence = 0;
  var lastSent = 0;
  var lastSentAt = 0;
  var inFlight = false;
  var pending = false;

  function text(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return key in values ? values[key] : "";
    });
  }

  function setStatus(message, isError) {
    if (!status) return;
    status.textContent = message;
    status.classList.toggle("error", !!isError);
  }

  function playedShare() {
    var duration = video.duration;
    if (!isFinite(duration) || duration <= 0) return null;
    var played = 0;
    for (var i = 0; i < video.played.length; i++) {
      played += video.played.end(i) - video.played.start(i);
    }
    var share = played / duration;
    if (share > 0.995) share = 1; // the last frame is rarely reported exactly
    return Math.round(Math.min(1, Math.max(0, share)) * 1000) / 1000;
  }

  function showBest(best) {
    if (!mine || typeof best !== "number") return;
    var percent = Math.round(best * 100);
    var bar = mine.querySelector(".bar");
    var fill = mine.querySelector(".bar > span");
    var label = mine.querySelector("[data-label]");
    if (fill) fill.style.width = percent + "%";
    if (bar) {
      bar.setAttribute("aria-valuenow", String(percent));
      bar.classList.toggle("done", best >= parseFloat(mine.dataset.finished || "0.9"));
    }
    if (label) label.textContent = text(mine.dataset.template, { n: percent });
    mine.hidden = false;
    var notWatched = document.querySelector("[data-not-watched]");
    if (notWatched) notWatched.hidden = true;
  }

  function report(keepalive) {
    if (inFlight && !keepalive) {
      pending = true; // one request at a time; send the newest share when this one is answered
      return;
    }
    var share = playedShare();
    if (share === null || share <= lastSent) return;
    var previous = lastSent;
    lastSent = share;
    lastSentAt = Date.now();
    sequence += 1;
    inFlight = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ completion: share, client_event_id: session + "-" + sequence }),
    })
      .then(function (response) {
        return response.json().then(function (data) {
          return { ok: response.ok, data: data };
        });
      })
      .then(function (result) {
        if (!result.ok) throw new Error(firstError(result.data));
        setStatus(text(video.dataset.savedText, { n: Math.round(share * 100) }), false);
        showBest(result.data.best_completion);
      })
      .catch(function (error) {
        lastSent = previous; // try again at the next pause, tick or end
        setStatus(text(video.dataset.errorText, { error: error.message }), true);
      })
      .then(function () {
        inFlight = false;
        if (pending) {
          pending = false;
          report(false);
        }
      });
  }

  function firstError(data) {
    var errors = (data && data.errors) || {};
    for (var field in errors) {
      if (errors[field] && errors[field].length) return errors[field][0];
    }
    return "HTTP error";
  }

  video.addEventListener("play", function () {
    // The first periodic report comes ~10 s into playback, not at the first frame.
    if (!lastSentAt) lastSentAt = Date.now();
  });
  video.addEventListener("pause", function () {
    if (!video.ended) report(false);
  });
  video.addEventListener("ended", function () {
    report(false);
  });
  video.addEventListener("timeupdate", function () {
    if (!video.paused && Date.now() - lastSentAt >= INTERVAL_MS) report(false);
  });
  window.addEventListener("pagehide", function () {
    report(true);
  });
})();
