// A stand-in for embedcare's embedded pages (origin B of the SDK test). It
// talks to its host the way shared/static/app.js does: to the franchise's
// allowed origins only, never a wildcard; embed.ready, embed.resize and the
// change events on load; session.expired when its launch URL was used. The
// test drives the rest through window.fakeApp (resize, expire, exit, …).
(function () {
  "use strict";
  var ctx = JSON.parse(document.getElementById("embed-context").textContent);
  var received = [];

  function post(message) {
    if (window.parent === window) return;
    ctx.allowedOrigins.forEach(function (origin) { window.parent.postMessage(message, origin); });
  }

  function contentHeight() {
    return Math.ceil(document.getElementById("embed-root").getBoundingClientRect().bottom + window.scrollY);
  }

  // Anything the host posts to this page (the SDK must post nothing).
  window.addEventListener("message", function (event) {
    received.push({ origin: event.origin, data: event.data });
  });

  window.fakeApp = {
    context: ctx,
    received: received,
    post: post,
    resize: function (height) { post({ type: "embed.resize", height: height }); },
    grow: function (px) {
      document.getElementById("embed-root").style.height = px + "px";
      post({ type: "embed.resize", height: contentHeight() });
    },
    expire: function () { post({ type: "session.expired", tenantKey: ctx.tenantKey, view: ctx.view }); },
    exit: function (reason) { post({ type: "embed.exit", reason: reason }); },
    event: function (status) {
      var e = {
        id: "evt-" + Math.random().toString(16).slice(2),
        createdAt: new Date().toISOString(),
        eventType: "consultation",
        operation: "update",
        status: status,
        tenantKey: ctx.tenantKey,
        data: { consultationId: ctx.consultationId, previousStatus: "SENT" },
      };
      post(e);
      return e;
    },
    // Leaves the app for another origin (that page then posts look-alikes).
    goTo: function (url) { window.location.href = url; },
    // Frames another page inside this one (it posts look-alikes to the top).
    nest: function (url) {
      var f = document.createElement("iframe");
      f.title = "nested";
      f.src = url;
      document.body.appendChild(f);
    },
  };

  if (ctx.state === "ready") {
    post({
      type: "embed.ready", view: ctx.view, tenantKey: ctx.tenantKey, locale: ctx.locale,
      userId: ctx.userId, consultationId: ctx.consultationId, session: ctx.session,
    });
    post({ type: "embed.resize", height: contentHeight() });
    post({
      id: "evt-created-" + ctx.session,
      createdAt: new Date().toISOString(),
      eventType: "consultation",
      operation: "create",
      status: "SENT",
      tenantKey: ctx.tenantKey,
      data: { consultationId: ctx.consultationId, previousStatus: null },
    });
  } else {
    post({ type: "session.expired", tenantKey: ctx.tenantKey, view: ctx.view });
  }
})();
