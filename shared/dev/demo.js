// The demo vendor's front end: asks its server for a launch URL, embeds it,
// and shows what the iframe posts next to what the bus carries.
(function () {
  "use strict";
  var appOrigin = document.body.getAttribute("data-app-origin");
  var frame = document.getElementById("frame");

  function log(listId, value) {
    var li = document.createElement("li");
    li.textContent = JSON.stringify(value);
    document.getElementById(listId).prepend(li);
  }

  function open(view) {
    fetch("/demo/launch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ view: view, locale: document.getElementById("locale").value })
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.iframeUrl) frame.src = body.iframeUrl; else log("browser", body);
    });
  }

  document.querySelectorAll("button[data-view]").forEach(function (b) {
    b.addEventListener("click", function () { open(b.getAttribute("data-view")); });
  });

  window.addEventListener("message", function (event) {
    if (event.origin !== appOrigin) return; // only our iframe's origin
    if (event.data && event.data.type === "embed.resize") {
      frame.style.height = Math.max(560, event.data.height) + "px";
    }
    log("browser", event.data);
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
        a.addEventListener("click", function (e) { e.preventDefault(); frame.src = m.link; });
        li.append(a); list.prepend(li);
      });
    });
  }
  refreshMessages();
})();
