// embedcare embedded pages: session handling and host messages.
// - The launch token is single-use; on first load the page receives a
//   browser-session token, keeps it in sessionStorage (no third-party
//   cookies needed) and removes the launch token from the address bar.
// - Messages go to the franchise's allowed origins only, never a wildcard.
(function () {
  "use strict";
  var ctx = readContext(document);
  var storageKey = "embedcare.session." + (ctx.tenantKey || "");
  var lastHeight = 0;

  function readContext(doc) {
    var el = doc.getElementById("embed-context");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  function post(message) {
    if (window.parent === window) return;
    (ctx.allowedOrigins || []).forEach(function (origin) {
      try { window.parent.postMessage(message, origin); } catch (e) { /* origin mismatch: dropped */ }
    });
  }

  function storeToken(token) {
    try { sessionStorage.setItem(storageKey, token); } catch (e) { /* storage blocked */ }
    window.embedcare.sessionToken = token;
  }

  function storedToken() {
    try { return sessionStorage.getItem(storageKey); } catch (e) { return null; }
  }

  function stripLaunchToken() {
    var url = new URL(window.location.href);
    if (url.searchParams.has("session")) {
      url.searchParams.delete("session");
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  }

  function watchHeight() {
    var report = function () {
      var h = Math.ceil(document.documentElement.scrollHeight);
      if (h !== lastHeight) { lastHeight = h; post({ type: "embed.resize", height: h }); }
    };
    if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
    report();
  }

  function start() {
    if (ctx.state === "ready") {
      if (ctx.sessionToken) storeToken(ctx.sessionToken);
      stripLaunchToken();
      post(ctx.ready);
    } else if (ctx.state === "expired") {
      stripLaunchToken();
      post(ctx.expired);
    }
    watchHeight();
  }

  // A reload inside the session: the launch token is gone, the session
  // token is in sessionStorage; fetch the page with it as a bearer token.
  function resume() {
    var token = storedToken();
    if (!token) { showExpired(); return; }
    fetch(window.location.pathname, { headers: { Authorization: "Bearer " + token, Accept: "text/html" } })
      .then(function (res) { return res.text().then(function (html) { return { ok: res.ok, html: html }; }); })
      .then(function (r) {
        var doc = new DOMParser().parseFromString(r.html, "text/html");
        var main = doc.getElementById("embed-main");
        if (main) document.getElementById("embed-main").replaceWith(main);
        document.title = doc.title;
        ctx = readContext(doc);
        window.embedcare.context = ctx;
        if (r.ok) window.embedcare.sessionToken = token;
        start();
      })
      .catch(showExpired);
  }

  function showExpired() {
    ctx.state = "expired";
    var main = document.getElementById("embed-main");
    if (main && ctx.expiredText) {
      main.innerHTML = "";
      var h = document.createElement("h1"); h.textContent = ctx.expiredText.title;
      var p = document.createElement("p"); p.textContent = ctx.expiredText.body;
      var section = document.createElement("section");
      section.className = "message expired"; section.setAttribute("role", "alert");
      section.append(h, p); main.append(section);
    }
    start();
  }

  window.embedcare = { context: ctx, post: post, sessionToken: null };
  if (ctx.state === "resume") resume(); else start();
})();
