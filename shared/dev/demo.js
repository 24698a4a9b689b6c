// The demo vendor's front end: asks its server for a launch URL, mounts it
// with the host-page SDK (Embedcare, served by the app at
// /sdk/embedcare.js), and shows what the SDK hands it next to what the bus
// carries. An expired URL is refreshed through the same server.
(function () {
  "use strict";
  var appOrigin = document.body.getAttribute("data-app-origin");
  var current = "consultation/start";
  var handle = null;

  function log(listId, value) {
    var li = document.createElement("li");
    li.textContent = JSON.stringify(value);
    document.getElementById(listId).prepend(li);
  }

  function launch(view) {
    return fetch("/demo/launch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ view: view, locale: document.getElementById("locale").value })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (!body.iframeUrl) { log("browser", body); throw new Error("no launch URL"); }
      return body.iframeUrl;
    });
  }

  function show(url) {
    if (handle) { handle.reload(url); return; }
    handle = window.Embedcare.mount(document.getElementById("frame"), {
      url: url,
      appOrigin: appOrigin,
      title: "embedcare",
      minHeight: 560,
      refreshUrl: function () { return launch(current); },
      onReady: function (info) { log("browser", info); },
      onEvent: function (event) { log("browser", event); },
      onExpired: function (info) { log("browser", info); },
      onExit: function (info) { log("browser", info); },
      onError: function (error) { log("browser", { error: error.code, message: error.message }); }
    });
  }

  function open(view) {
    current = view;
    launch(view).then(show, function () { /* logged */ });
  }

  document.querySelectorAll("button[data-view]").forEach(function (b) {
    b.addEventListener("click", function () { open(b.getAttribute("data-view")); });
  });

  new EventSource("/dev/events").addEventListener("bus", function (e) {
    log("bus", JSON.parse(e.data));
    setTimeout(refreshMessages, 300);
  });

  function refreshMessages() {
    fetch("/dev/messages").then(function (r) { return r.json(); }).then(function (body) {
      var list = document.getElementById("messages");
      list.innerHTML = "";
      body.messages.forEach(function (m) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "#"; a.textContent = "Open as the patient: " + m.subject;
        a.addEventListener("click", function (e) {
          e.preventDefault();
          if (m.link.indexOf(appOrigin + "/") === 0) show(m.link);
        });
        li.append(a); list.prepend(li);
      });
    });
  }
  refreshMessages();
})();
