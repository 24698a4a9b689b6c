// The vendor's front end in the browser test: asks its own server for a
// launch URL (the API key never reaches the browser), frames it, and
// records every message the app's origin posts (and only those).
(function () {
  "use strict";
  var appOrigin = document.body.getAttribute("data-app-origin");
  var frame = document.getElementById("app");
  var messages = [];
  var ignored = [];
  window.__messages = messages;
  window.__ignored = ignored;
  window.__launches = [];
  document.getElementById("self-origin").textContent = location.origin;

  function log(data) {
    var li = document.createElement("li");
    li.textContent = JSON.stringify(data);
    document.getElementById("log").prepend(li);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== appOrigin) { ignored.push({ origin: event.origin }); return; }
    messages.push({ origin: event.origin, data: event.data, at: Date.now() });
    var d = event.data || {};
    if (d.type === "embed.resize" && typeof d.height === "number") {
      frame.style.height = Math.max(240, d.height) + "px"; // the content box: borders aside
    }
    log(d);
  });

  // Does `value` contain everything `want` has (recursively)?
  function matches(value, want) {
    if (want === null || typeof want !== "object") return value === want;
    if (value === null || typeof value !== "object") return false;
    return Object.keys(want).every(function (k) { return matches(value[k], want[k]); });
  }
  // The first message from index `from` on whose data matches `want`.
  window.__find = function (from, want) {
    for (var i = from; i < messages.length; i++) {
      if (matches(messages[i].data, want)) return { index: i, data: messages[i].data };
    }
    return null;
  };

  function launch(view) {
    var status = document.getElementById("launch-status");
    status.textContent = "Opening…";
    return fetch("/vendor/launch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ view: view, locale: document.getElementById("locale").value })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (!body.iframeUrl) { status.textContent = "Launch failed"; log(body); return; }
      window.__launches.push(body.iframeUrl);
      status.textContent = "";
      frame.src = body.iframeUrl;
    });
  }
  window.__load = function (url) { frame.src = url; };

  document.querySelectorAll("button[data-view]").forEach(function (b) {
    b.addEventListener("click", function () { launch(b.getAttribute("data-view")); });
  });
})();
