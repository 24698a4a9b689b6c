// embedcare embedded pages: entering, the frame's session, navigation,
// actions and host messages.
// - A GET of any page is a shell that does nothing by itself (mail
//   gateways and link previews fetch every link first). Its script takes
//   the single-use launch token out of the address bar and POSTs it, with a
//   nonce of this page, to the same address (a real navigation: the page
//   that comes back carries its own headers); without one it POSTs the
//   frame's session token; with neither it shows the expired state.
// - The session token lives in sessionStorage under a key of this frame:
//   a nonce kept in window.name (it survives reloads of the frame; two
//   frames of one franchise in one tab never share it). No cookies: they
//   are blocked in third-party iframes. Every later call sends it as
//   `Authorization: Bearer …`.
// - Links marked `data-nav` are followed inside the iframe: the page is
//   fetched with the session, swapped in, and pushed on the history.
// - Forms marked `data-action` post JSON to the franchise's actions; the
//   answer lists the events the change caused and where to go next. Their
//   buttons stay disabled until this script is ready; `data-first` names
//   the action sent on the first interaction with the form.
// - The live part of a page (`#embed-live`) is refreshed every 2.5 s
//   (`refreshLive`).
// - Messages with data go to the franchise's allowed origins only, never a
//   wildcard. Ours have a `type` (embed.ready, embed.resize,
//   session.expired); the consultation / follow-up / franchise events are
//   posted unchanged (they have `eventType` and `operation`, and the same
//   `id` as on the bus). `session.expired` holds only what the framer put in
//   the URL: it goes to the origin of the page that frames this one.
(function () {
  "use strict";
  var ctx = readContext(document);
  var frame = frameNonce();
  var storageKey = "embedcare.session." + frame;
  var parentKey = "embedcare.parent." + frame;
  var lastHeight = 0;
  var busy = false;
  var opening = null;
  var liveHtml = null;

  function readContext(doc) {
    var el = doc.getElementById("embed-context");
    try { return el ? JSON.parse(el.textContent) : {}; } catch (e) { return {}; }
  }

  // 32 random bytes, base64url.
  function randomNonce() {
    var bytes = new Uint8Array(32);
    crypto.getRandomValues(bytes);
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // This frame's nonce, kept in window.name.
  function frameNonce() {
    var m = /^embedcare:([A-Za-z0-9_-]{16,64})$/.exec(window.name || "");
    if (m) return m[1];
    var nonce = randomNonce();
    try { window.name = "embedcare:" + nonce; } catch (e) { /* kept for this page only */ }
    return nonce;
  }

  function keep(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key); else sessionStorage.setItem(key, value);
    } catch (e) { /* storage blocked */ }
  }

  function kept(key) {
    try { return sessionStorage.getItem(key); } catch (e) { return null; }
  }

  // The origin of the page that frames this one.
  function recordParent() {
    var origin = null;
    if (location.ancestorOrigins && location.ancestorOrigins.length) {
      origin = location.ancestorOrigins[0];
    } else if (document.referrer) {
      try { origin = new URL(document.referrer).origin; } catch (e) { origin = null; }
    }
    if (origin && origin !== "null") keep(parentKey, origin);
  }

  function post(message) {
    if (window.parent === window) return;
    (ctx.allowedOrigins || []).forEach(function (origin) {
      try { window.parent.postMessage(message, origin); } catch (e) { /* origin mismatch: dropped */ }
    });
  }

  function postToParent(message) {
    if (window.parent === window) return;
    var origin = kept(parentKey) ||
      (location.ancestorOrigins && location.ancestorOrigins.length ? location.ancestorOrigins[0] : null);
    if (!origin || origin === "null") return;
    try { window.parent.postMessage(message, origin); } catch (e) { /* origin mismatch: dropped */ }
  }

  // A message with no data (a height) from a page that knows no allowed
  // origins (the shell, the expired page): to the page that frames this one.
  function postPlain(message) {
    if (ctx.allowedOrigins) post(message); else postToParent(message);
  }

  // The session token, kept where this frame alone finds it again after a
  // reload: sessionStorage under the frame's key, and the state of the
  // frame's history entries (for browsers that deny storage to third-party
  // frames; another origin never reads it, another frame has its own).
  function storeToken(token) {
    keep(storageKey, token);
    window.embedcare.sessionToken = token;
  }

  function storedToken() {
    if (window.embedcare && window.embedcare.sessionToken) return window.embedcare.sessionToken;
    return kept(storageKey) || (history.state && history.state.embedcareSession) || null;
  }

  // The history state of a page of this session.
  function entryState() {
    return { embed: true, embedcareSession: window.embedcare.sessionToken || null };
  }

  // The page's address without a launch token.
  function plainAddress() {
    var url = new URL(window.location.href);
    var token = url.searchParams.get("session");
    url.searchParams.delete("session");
    return { token: token, path: url.pathname + url.search, hash: url.hash };
  }

  // A page that came back from a POST becomes a plain GET entry of the
  // history, so that a reload of the frame goes through the shell again.
  function settleAddress() {
    var a = plainAddress();
    history.replaceState(entryState(), "", a.path + a.hash);
  }

  // A real navigation: a form POSTed to this very address.
  function enterWith(fields, path) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = path;
    form.hidden = true;
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = fields[name];
      form.append(input);
    });
    document.body.append(form);
    form.submit();
  }

  // The shell: redeem the launch token, or resume the frame's session.
  function enter() {
    recordParent();
    var a = plainAddress();
    if (a.token) {
      history.replaceState(null, "", a.path + a.hash);
      enterWith({ launch: a.token, nonce: randomNonce() }, a.path);
      return;
    }
    var token = storedToken();
    if (token) { enterWith({ session: token }, a.path); return; }
    showExpired();
  }

  // session.expired of this address (for the shell, which knows no tenant).
  function expiredMessage() {
    if (ctx.expired) return ctx.expired;
    var parts = window.location.pathname.split("/");
    return { type: "session.expired", tenantKey: decodeURIComponent(parts[4] || ""), view: parts.slice(5, 7).join("/") };
  }

  function enableForms() {
    document.querySelectorAll("form[data-action] button[data-wait]").forEach(function (b) {
      b.removeAttribute("data-wait");
      b.disabled = false;
    });
    document.querySelectorAll("form[data-first]").forEach(function (form) {
      var fire = function () {
        form.removeEventListener("input", fire);
        form.removeEventListener("change", fire);
        if (opening) return;
        opening = act(form.getAttribute("data-first"), hiddenFields(form))
          .then(function (r) { if (r.status >= 200 && r.status < 300) (r.body.events || []).forEach(post); })
          .catch(function () { /* the answers still move it */ });
      };
      form.addEventListener("input", fire);
      form.addEventListener("change", fire);
    });
  }

  // The height of the content itself: the document's scrollHeight is never
  // less than the iframe's own height, so reporting it would let a host grow
  // the frame but never shrink it back for a shorter page.
  function reportHeight() {
    if (ctx.state === "shell") return; // it is leaving: nothing to size, nothing to tell
    var root = document.getElementById("embed-root");
    var h = root
      ? Math.ceil(root.getBoundingClientRect().bottom + window.scrollY)
      : Math.ceil(document.body.scrollHeight);
    if (h !== lastHeight) { lastHeight = h; postPlain({ type: "embed.resize", height: h }); }
  }

  var heightObserver = window.ResizeObserver ? new ResizeObserver(reportHeight) : null;

  // Watches the current content (again after each swap of #embed-root).
  function watchHeight() {
    if (heightObserver) {
      heightObserver.disconnect();
      heightObserver.observe(document.getElementById("embed-root") || document.body);
    }
    reportHeight();
  }

  function start() {
    if (ctx.state === "shell") { enter(); return; }
    if (ctx.state === "ready") {
      var token = ctx.sessionToken || storedToken();
      if (token) storeToken(token);
      settleAddress();
      var live = document.getElementById("embed-live");
      liveHtml = live ? live.innerHTML : null;
      enableForms();
      post(ctx.ready);
      (ctx.events || []).forEach(post);
    } else if (ctx.state === "expired") {
      storeToken(null);
      settleAddress();
      postToParent(expiredMessage());
    }
    reportHeight();
  }

  // Puts a fetched page in place of this one: the page's root (header,
  // sections, main) and its context.
  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var root = doc.getElementById("embed-root");
    var here = document.getElementById("embed-root");
    if (root && here) {
      here.replaceWith(root);
      watchHeight();
    }
    var context = doc.getElementById("embed-context");
    var old = document.getElementById("embed-context");
    if (context && old) old.textContent = context.textContent;
    document.title = doc.title;
    opening = null;
    ctx = readContext(doc);
    window.embedcare.context = ctx;
  }

  function focusTitle() {
    var title = document.getElementById("embed-title");
    if (title) title.focus();
  }

  // A page of this session: fetched with the bearer token, swapped in.
  function navigate(url, push) {
    var token = storedToken();
    if (!token) { showExpired(); return Promise.resolve(); }
    return fetch(url, { headers: { Authorization: "Bearer " + token, Accept: "text/html" } })
      .then(function (res) { return res.text().then(function (html) { return { status: res.status, html: html }; }); })
      .then(function (r) {
        swap(r.html);
        if (push) history.pushState(entryState(), "", url);
        start();
        focusTitle();
      })
      .catch(showExpired);
  }

  function showExpired() {
    ctx.state = "expired";
    var main = document.getElementById("embed-main");
    if (main && ctx.expiredText) {
      main.innerHTML = "";
      var h = document.createElement("h1"); h.textContent = ctx.expiredText.title;
      h.id = "embed-title"; h.tabIndex = -1;
      var p = document.createElement("p"); p.textContent = ctx.expiredText.body;
      var section = document.createElement("section");
      section.className = "message expired"; section.setAttribute("role", "alert");
      section.append(h, p); main.append(section);
    }
    start();
  }

  // The live part of a page (`#embed-live`: a provider's queue and lists, a
  // visit's status and chat) is fetched again with the session and swapped
  // in when it changed. Polling, in this one function: a push transport can
  // call it instead (or replace it) without touching the rest.
  function refreshLive() {
    if (busy || ctx.state !== "ready" || !document.getElementById("embed-live")) return;
    var token = storedToken();
    if (!token) return;
    var url = window.location.pathname + window.location.search;
    fetch(url, { headers: { Authorization: "Bearer " + token, Accept: "text/html" } })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (html) {
        if (html === null || busy) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("embed-live");
        var here = document.getElementById("embed-live");
        if (!fresh || !here || fresh.innerHTML === liveHtml) return;
        liveHtml = fresh.innerHTML;
        here.replaceWith(document.importNode(fresh, true));
        enableForms();
        reportHeight();
      })
      .catch(function () { /* the next tick tries again */ });
  }

  // ---- forms -------------------------------------------------------------

  function typed(el) {
    var t = el.getAttribute("data-type");
    if (t === "bool") return el.value === "true";
    if (t === "number") return el.value === "" ? null : Number(el.value);
    return el.value;
  }

  // The JSON body of an action form. `answers.<id>` fields become
  // `answers: [{questionId, value}]`; `data-multi` checkboxes a list; other
  // checkboxes a boolean; the pressed button's name/value is included.
  function bodyOf(form, submitter) {
    var body = {}, answers = {}, order = [];
    function put(name, value, multi) {
      var target = body, key = name;
      if (name.indexOf("answers.") === 0) {
        key = name.slice(8); target = answers;
        if (order.indexOf(key) < 0) order.push(key);
      }
      if (multi) {
        if (!Array.isArray(target[key])) target[key] = [];
        if (value !== undefined) target[key].push(value);
      } else if (value !== undefined) {
        target[key] = value;
      }
    }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.tagName === "BUTTON") return;
      if (el.type === "radio") { put(el.name, el.checked ? typed(el) : undefined, false); return; }
      if (el.type === "checkbox") {
        if (el.hasAttribute("data-multi")) put(el.name, el.checked ? el.value : undefined, true);
        else put(el.name, el.checked, false);
        return;
      }
      put(el.name, typed(el), false);
    });
    if (submitter && submitter.name) put(submitter.name, typed(submitter), false);
    if (order.length) {
      body.answers = order.map(function (id) {
        var v = answers[id];
        return { questionId: id, value: v === undefined ? null : v };
      });
    }
    return body;
  }

  function showError(form, text) {
    var el = form.querySelector(".form-error");
    if (!el) return;
    el.textContent = text;
    el.hidden = !text;
    reportHeight();
  }

  // POSTs an action of this session: {status, body}.
  function act(name, body) {
    var token = storedToken();
    return fetch(ctx.actions + name, {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (b) { return { status: res.status, body: b }; });
    });
  }

  // The hidden fields of a form (what it is about), as an action's body.
  function hiddenFields(form) {
    var body = {};
    form.querySelectorAll("input[type=hidden][name]").forEach(function (el) { body[el.name] = el.value; });
    return body;
  }

  function submit(form, submitter) {
    if (busy) return;
    if (!storedToken()) { showExpired(); return; }
    busy = true;
    form.setAttribute("aria-busy", "true");
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    showError(form, "");
    var done = function () {
      busy = false;
      form.removeAttribute("aria-busy");
      buttons.forEach(function (b) { b.disabled = false; });
    };
    var body = bodyOf(form, submitter);
    // After the first-interaction action, if one is under way.
    (opening || Promise.resolve())
      .then(function () { return act(form.getAttribute("data-action"), body); })
      .then(function (r) {
        done();
        if (r.status === 401) { showExpired(); return; }
        if (r.status < 200 || r.status >= 300) {
          showError(form, (r.body && r.body.message) || (ctx.texts && ctx.texts.error) || "Error");
          return;
        }
        (r.body.events || []).forEach(post);
        if (r.body.location) return navigate(r.body.location, true);
      })
      .catch(function () { done(); showError(form, (ctx.texts && ctx.texts.error) || "Error"); });
  }

  document.addEventListener("submit", function (e) {
    var form = e.target.closest && e.target.closest("form[data-action]");
    if (!form) return;
    e.preventDefault();
    submit(form, e.submitter);
  });

  document.addEventListener("click", function (e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    var a = e.target.closest && e.target.closest("a[data-nav]");
    if (!a) return;
    e.preventDefault();
    navigate(a.getAttribute("href"), true);
  });

  window.addEventListener("popstate", function () {
    navigate(window.location.pathname + window.location.search, false);
  });

  window.embedcare = { context: ctx, post: post, sessionToken: null, navigate: navigate, refreshLive: refreshLive };
  setInterval(refreshLive, 2500);
  start();
  watchHeight();
})();
