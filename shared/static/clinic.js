// The patient app's script. No third-party code. The GET of every page is
// a shell: this script moves any secret out of the address bar, then
// continues with a form POST of the same path (the session from the
// frame's sessionStorage, or the SSO/appointment token). Live parts (the
// queue place, the visit's status, the chat) are refreshed from the API
// with the session as a bearer token: through the visit's live socket
// when it opens (embedcareLive below), by polling the API when it cannot.
(function () {
  "use strict";
  // One live socket of a visit's room page, for the patient's, the
  // guest's and the provider's rooms alike: opts {url, token, onFrame,
  // onOpen}. The credential travels as the subprotocol "bearer.{token}"
  // (a browser's WebSocket sends no other header; never in the URL).
  // Reconnects with backoff (1 s doubling to 30 s, jittered); a ping
  // every 15 s. Returns {send(frame) -> bool, isOpen(), close()}.
  function embedcareLive(opts) {
    var ws = null, tries = 0, stopped = false, pinger = null;
    function open() {
      if (stopped) return;
      try { ws = new WebSocket(opts.url, ["embedcare.live.v1", "bearer." + opts.token]); } catch (e) { ws = null; later(); return; }
      ws.onopen = function () {
        tries = 0;
        pinger = setInterval(function () { send({ type: "ping" }); }, 15000);
        send({ type: "sync" });
        if (opts.onOpen) opts.onOpen();
      };
      ws.onmessage = function (e) {
        var f = null;
        try { f = JSON.parse(e.data); } catch (x) { return; }
        if (f && f.v === 1 && opts.onFrame) opts.onFrame(f);
      };
      ws.onclose = function (e) {
        ws = null; clearInterval(pinger);
        // 4403: dismissed from the visit; no coming back.
        if (e && e.code === 4403) { stopped = true; return; }
        later();
      };
    }
    function later() {
      if (stopped) return;
      tries += 1;
      setTimeout(open, Math.min(30000, 1000 * Math.pow(2, Math.min(tries - 1, 5))) + Math.floor(Math.random() * 500));
    }
    function send(f) {
      if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); return true; }
      return false;
    }
    open();
    return {
      send: send,
      isOpen: function () { return !!ws && ws.readyState === 1; },
      close: function () { stopped = true; if (ws) ws.close(); }
    };
  }
  window.embedcareLive = embedcareLive;
  var el = document.getElementById("clinic-context");
  var ctx = el ? JSON.parse(el.textContent) : {};
  function frameKey() {
    if (!window.name || window.name.indexOf("ecc-") !== 0) {
      window.name = "ecc-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
    }
    return "embedcare.clinic." + window.name;
  }
  function load() {
    try { var s = sessionStorage.getItem(frameKey()); if (s) return JSON.parse(s); } catch (e) {}
    return (history.state && history.state.clinic) || null;
  }
  function save(v) {
    try { sessionStorage.setItem(frameKey(), JSON.stringify(v)); } catch (e) {}
    try { history.replaceState({ clinic: v }, "", location.pathname); } catch (e) {}
  }
  function post(path, fields) {
    var f = document.createElement("form");
    f.method = "post";
    f.action = path;
    Object.keys(fields).forEach(function (k) {
      var i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = fields[k] == null ? "" : String(fields[k]);
      f.appendChild(i);
    });
    document.body.appendChild(f);
    f.submit();
  }
  var saved = load();
  function go(path) {
    var s = load() || {};
    post(path, { session: s.session || "", locale: s.locale || "", disable_navigation: s.nav === false ? "1" : "" });
  }
  if (ctx.state === "shell") {
    var url = new URL(location.href);
    var q = url.searchParams;
    if (location.pathname === "/auth") {
      var fields = {
        sso_token: q.get("sso_token") || "", next: q.get("next") || "", once: q.get("once") || "",
        locale: q.get("locale") || "", disable_navigation: q.get("disable_navigation") || ""
      };
      history.replaceState(null, "", "/auth");
      post("/auth", fields);
      return;
    }
    if (location.pathname.indexOf("/members/appointment/") === 0 || location.pathname.indexOf("/members/invitation/") === 0) {
      var tok = q.get("token") || "";
      history.replaceState(null, "", location.pathname);
      post(location.pathname, { link: tok, locale: q.get("locale") || "" });
      return;
    }
    if (saved && saved.session) { go(location.pathname); return; }
    post(location.pathname, { session: "" });
    return;
  }
  if (ctx.state === "join") {
    return;
  }
  if (ctx.state !== "page") return;
  var session = ctx.session || (saved && saved.session) || "";
  save({ session: session, locale: ctx.locale, nav: ctx.nav });
  if (ctx.path && ctx.path !== location.pathname) {
    history.replaceState({ clinic: load() }, "", ctx.path);
  }
  function api(method, path, body) {
    var init = { method: method, headers: { authorization: "Bearer " + session } };
    if (body) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  document.querySelectorAll("a[data-nav]").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); go(a.getAttribute("href")); });
  });
  document.querySelectorAll("button[data-walkin]").forEach(function (b) {
    b.addEventListener("click", function () {
      b.disabled = true;
      var code = b.getAttribute("data-walkin");
      api("POST", "/v2/intakes", { reasonForVisit: "Walk-in", type: "WALKIN", roomCode: code })
        .then(function (i) { return api("POST", "/v2/visits/walkin", { intakeId: i.body.intakeId }); })
        .then(function (v) { if (v.status === 201) go("/visits/start/" + v.body.visitId); else b.disabled = false; });
    });
  });
  if (ctx.page !== "room") return;
  var id = ctx.visitId;
  var status = ctx.status;
  var last = "";
  var log = document.getElementById("chat-log");
  var seen = {};
  if (log) log.querySelectorAll("li[data-message]").forEach(function (li) {
    seen[li.getAttribute("data-message")] = true; last = li.getAttribute("data-at");
  });
  function add(m) {
    if (!log || seen[m.messageId]) return;
    seen[m.messageId] = true; last = m.at;
    var li = document.createElement("li");
    li.setAttribute("data-message", m.messageId);
    var b = document.createElement("strong"); b.textContent = m.authorName;
    li.appendChild(b); li.appendChild(document.createTextNode(" " + m.text));
    log.appendChild(li);
  }
  var leave = document.getElementById("leave-queue");
  if (leave) leave.addEventListener("click", function () {
    api("POST", "/v2/visits/" + id + "/cancel").then(function () { go("/u/clinic"); });
  });
  var form = document.getElementById("chat-form");
  if (form) form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = document.getElementById("chat-text");
    if (sock.send({ type: "chat", text: t.value })) { t.value = ""; return; }
    api("POST", "/v2/visits/" + id + "/messages", { text: t.value }).then(function (r) {
      if (r.status === 201) { add(r.body); t.value = ""; }
    });
  });
  function catchUp() {
    if (status !== "IN_PROGRESS") return;
    var q = last ? "?after=" + encodeURIComponent(last) : "";
    api("GET", "/v2/visits/" + id + "/messages" + q).then(function (r) {
      if (r.status === 200) r.body.items.forEach(add);
    });
  }
  var sock = embedcareLive({
    url: ctx.liveUrl || (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v2/visits/" + id + "/live",
    token: session,
    onOpen: catchUp,
    onFrame: function (f) {
      if (window.embedcareVideo) window.embedcareVideo.frame(f);
      var now = f.type === "ready" ? f.visit : f.type === "visit" ? f : null;
      if (now && now.status !== status) { sock.close(); go(location.pathname); return; }
      if (f.type === "chat") add(f.message);
      if (window.embedcarePresence) window.embedcarePresence(f);
    }
  });
  // The video (video.js, when the room shows it) signals over this socket.
  if (window.embedcareVideo) window.embedcareVideo.attach(sock);
  var ticks = 0;
  function tick() {
    ticks += 1;
    // The socket brings moves and messages; while it is open only the
    // queue place is polled, and slowly.
    if (sock.isOpen() && (status !== "WAITING" || ticks % 5 !== 0)) return;
    api("GET", "/v2/visits/" + id).then(function (r) {
      if (r.status !== 200) return;
      if (r.body.status !== status) { go(location.pathname); return; }
      var p = document.getElementById("queue-position");
      if (p && r.body.queuePosition != null) {
        p.textContent = p.textContent.replace(/\d+/, r.body.queuePosition).replace(/\d+ min/, r.body.estimatedWaitMinutes + " min");
      }
    });
    if (!sock.isOpen()) catchUp();
  }
  setInterval(tick, 2000);
})();
