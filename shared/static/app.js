// embedcare embedded pages: session handling, navigation, actions and host
// messages.
// - The launch token is single-use; on first load the page receives a
//   browser-session token, keeps it in sessionStorage (no third-party
//   cookies needed) and removes the launch token from the address bar.
//   Every later call sends it as `Authorization: Bearer …`.
// - Links marked `data-nav` are followed inside the iframe: the page is
//   fetched with the session, swapped in, and pushed on the history.
// - Forms marked `data-action` post JSON to the franchise's actions; the
//   answer lists the events the change caused and where to go next.
// - Messages go to the franchise's allowed origins only, never a wildcard.
//   Ours have a `type` (embed.ready, embed.resize, session.expired); the
//   consultation / follow-up / franchise events are posted unchanged (they
//   have `eventType` and `operation`, and the same `id` as on the bus).
(function () {
  "use strict";
  var ctx = readContext(document);
  var storageKey = "embedcare.session." + (ctx.tenantKey || "");
  var lastHeight = 0;
  var busy = false;

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
    if (window.embedcare && window.embedcare.sessionToken) return window.embedcare.sessionToken;
    try { return sessionStorage.getItem(storageKey); } catch (e) { return null; }
  }

  function stripLaunchToken() {
    var url = new URL(window.location.href);
    if (url.searchParams.has("session")) {
      url.searchParams.delete("session");
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  }

  // The height of the content itself: the document's scrollHeight is never
  // less than the iframe's own height, so reporting it would let a host grow
  // the frame but never shrink it back for a shorter page.
  function reportHeight() {
    var root = document.getElementById("embed-root");
    var h = root
      ? Math.ceil(root.getBoundingClientRect().bottom + window.scrollY)
      : Math.ceil(document.body.scrollHeight);
    if (h !== lastHeight) { lastHeight = h; post({ type: "embed.resize", height: h }); }
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
    if (ctx.state === "ready") {
      if (ctx.sessionToken) storeToken(ctx.sessionToken);
      stripLaunchToken();
      post(ctx.ready);
      (ctx.events || []).forEach(post);
    } else if (ctx.state === "expired") {
      stripLaunchToken();
      post(ctx.expired);
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
        if (push) history.pushState({ embed: true }, "", url);
        start();
        focusTitle();
      })
      .catch(showExpired);
  }

  // A reload inside the session: the launch token is gone, the session
  // token is in sessionStorage; fetch the page with it as a bearer token.
  function resume() {
    if (!storedToken()) { showExpired(); return; }
    navigate(window.location.pathname + window.location.search, false);
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

  function submit(form, submitter) {
    if (busy) return;
    var token = storedToken();
    if (!token) { showExpired(); return; }
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
    fetch(ctx.actions + form.getAttribute("data-action"), {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(bodyOf(form, submitter))
    })
      .then(function (res) { return res.json().catch(function () { return {}; }).then(function (b) { return { status: res.status, body: b }; }); })
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

  window.embedcare = { context: ctx, post: post, sessionToken: null, navigate: navigate };
  if (ctx.state === "resume") resume(); else { start(); }
  watchHeight();
})();
