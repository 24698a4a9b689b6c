// The vendor's front end of the SDK test: its server gives it launch URLs
// (the API key stays there); the SDK (window.Embedcare, loaded from the
// app) mounts them, refreshes an expired one through refreshUrl, and hands
// every callback's argument to the test (window.__seen). Every message the
// page receives is also recorded raw (window.__raw), so the test knows the
// look-alikes arrived before it checks the SDK ignored them.
(function () {
  "use strict";
  var appOrigin = document.body.getAttribute("data-app-origin");
  var foreign = document.body.getAttribute("data-foreign-origin");
  var seen = [];
  var raw = [];
  var current = "start";
  window.__seen = seen;
  window.__raw = raw;
  window.__launches = [];
  window.__refreshes = 0;
  window.addEventListener("message", function (e) { raw.push({ origin: e.origin, data: e.data }); });

  function launch(view) {
    return fetch("/vendor/launch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ view: view, locale: document.getElementById("locale").value })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (!body.iframeUrl) throw new Error("launch failed: " + JSON.stringify(body));
      window.__launches.push(body.iframeUrl);
      return body.iframeUrl;
    });
  }

  function cb(name) {
    return function (arg) { seen.push({ cb: name, arg: arg, at: Date.now() }); };
  }

  var handle = null;
  function open(view) {
    current = view;
    return launch(view).then(function (url) {
      if (handle) { handle.reload(url); return; }
      handle = window.Embedcare.mount(document.getElementById("slot"), {
        url: url,
        appOrigin: appOrigin,
        title: "embedcare",
        refreshUrl: function () { window.__refreshes += 1; return launch(current); },
        onReady: cb("onReady"),
        onEvent: cb("onEvent"),
        onExpired: cb("onExpired"),
        onResize: cb("onResize"),
        onExit: cb("onExit"),
        onError: cb("onError")
      });
      window.__handle = handle;
    });
  }
  window.__open = open;
  window.__reload = function (url) { handle.reload(url); };
  window.__frame = function () { return handle && handle.iframe; };
  // Look-alikes: this page's own window, and a page of another origin.
  window.__spoof = function () {
    window.postMessage({ type: "embed.ready", view: "consultation/details", tenantKey: "demo" }, "*");
    var f = document.createElement("iframe");
    f.src = foreign + "/look-alike.html";
    f.title = "look-alike";
    document.getElementById("other").appendChild(f);
  };

  document.querySelectorAll("button[data-view]").forEach(function (b) {
    b.addEventListener("click", function () { open(b.getAttribute("data-view")); });
  });
})();
