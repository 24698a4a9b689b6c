/*! embedcare.js: mounts embedcare's embedded pages in a vendor's page. */
// One file, no dependencies, no build step. It has neither `import` nor
// `export`, so the same file runs as a classic script
//   <script src="https://APP/sdk/embedcare.js"></script>
// and as a module imported for its effect
//   import "https://APP/sdk/embedcare.js";
// (a file with an `export` cannot run as a classic script); both define
// `Embedcare` on the global object (`window.Embedcare`).
//
//   const handle = Embedcare.mount(element, {
//     url,          // the single-use iframeUrl the vendor's server asked for
//     appOrigin,    // the app's origin, exactly: "https://app.example.com"
//     refreshUrl,   // optional: (expired) => Promise<new iframeUrl> (the vendor's server)
//     onReady, onEvent, onExpired, onResize, onExit, onError,
//     title, allow, minHeight, maxHeight,
//   });
//   handle.reload(url); handle.destroy(); handle.iframe;
//
// Security rules:
// - a message is read only when `event.origin === appOrigin` AND
//   `event.source === iframe.contentWindow`; everything else is ignored
//   without a word (a page of another origin learns nothing from us);
// - every URL the frame loads (the first one, `reload`, each refresh) must
//   be of `appOrigin`, or it is refused;
// - the SDK posts nothing to the frame (the day it must, it will post to
//   `appOrigin` only, never to a wildcard);
// - the frame has `referrerpolicy="no-referrer"` and no `sandbox`: the
//   pages need scripts, their own origin (sessionStorage keeps the session,
//   messages name it), forms, and later printing, downloads and popups; a
//   sandbox that allows all that protects nothing more than the pages' own
//   CSP does, and one that allows less breaks them;
// - a callback that throws (or whose promise rejects) is reported to
//   `console.error`, and the SDK goes on.
(function (root) {
  "use strict";

  var VERSION = "1.0.0";
  var MESSAGE_TYPES = ["embed.ready", "embed.resize", "session.expired", "embed.exit"];
  var CALLBACKS = ["onReady", "onEvent", "onExpired", "onResize", "onExit", "onError"];
  // Features the frame may be granted with `allow` (the visit room's video
  // needs the first ones); a name outside the list is a typo, refused.
  var FEATURES = ["camera", "microphone", "fullscreen", "display-capture", "autoplay"];
  var DEFAULT_MIN_HEIGHT = 150;
  var DEFAULT_MAX_HEIGHT = 10000;
  var INITIAL_HEIGHT = 480;
  // A page that expires again as soon as it is refreshed (a clock skew, a
  // vendor server handing out used URLs) must not loop: at most this many
  // refreshes in a sliding minute, then `onExpired` only.
  var MAX_REFRESHES = 3;
  var REFRESH_WINDOW_MS = 60 * 1000;

  function fail(message) {
    return new TypeError("Embedcare: " + message);
  }

  function sdkError(code, message) {
    var e = new Error("Embedcare: " + message);
    e.code = code;
    return e;
  }

  function report(what, error) {
    try {
      if (root.console && typeof root.console.error === "function") root.console.error("Embedcare: " + what, error);
    } catch (e) { /* no console: nothing to do */ }
  }

  // "https://host[:port]" exactly as the browser writes an origin.
  function checkOrigin(value) {
    if (typeof value !== "string" || value === "") throw fail("appOrigin is required, like \"https://app.example.com\"");
    var parsed;
    try { parsed = new URL(value); } catch (e) { throw fail("appOrigin " + JSON.stringify(value) + " is not an origin"); }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw fail("appOrigin " + JSON.stringify(value) + " is not an http(s) origin");
    }
    if (parsed.origin !== value) {
      throw fail("appOrigin must be exactly an origin (scheme, host, port; no path, no trailing slash): " +
        JSON.stringify(value) + " (did you mean " + JSON.stringify(parsed.origin) + "?)");
    }
    return value;
  }

  // An absolute URL of `appOrigin`, as a string (a URL object is accepted).
  function urlOf(value, appOrigin, what) {
    var text = value instanceof URL ? value.href : value;
    if (typeof text !== "string" || text === "") throw fail(what + " must be a URL of " + appOrigin);
    var parsed;
    try { parsed = new URL(text); } catch (e) { throw fail(what + " is not an absolute URL"); }
    if (parsed.origin !== appOrigin) {
      throw fail(what + " is not of appOrigin " + appOrigin + " (its origin is " + parsed.origin + ")");
    }
    return parsed.href;
  }

  function elementOf(target) {
    var el = target;
    if (typeof target === "string") {
      el = root.document ? root.document.querySelector(target) : null;
      if (!el) throw fail("no element matches " + JSON.stringify(target));
    }
    if (!el || el.nodeType !== 1 || typeof el.appendChild !== "function") {
      throw fail("mount needs an element (or a selector) to put the frame in");
    }
    return el;
  }

  function allowOf(list, appOrigin) {
    if (list === undefined || list === null) return "";
    var names = typeof list === "string" ? [list] : list;
    if (!Array.isArray(names)) throw fail("allow is a list of features, e.g. [\"camera\", \"microphone\"]");
    var seen = [];
    names.forEach(function (name) {
      if (FEATURES.indexOf(name) < 0) {
        throw fail("allow: unknown feature " + JSON.stringify(name) + " (known: " + FEATURES.join(", ") + ")");
      }
      if (seen.indexOf(name) < 0) seen.push(name);
    });
    // Granted to the app's origin only (not to wherever the frame navigates).
    return seen.map(function (name) { return name + " " + appOrigin; }).join("; ");
  }

  function boundOf(value, fallback, what) {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !isFinite(value) || value < 0) throw fail(what + " must be a number of pixels");
    return Math.round(value);
  }

  function isObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }

  // A change event of the app: `{id, createdAt, eventType, operation,
  // status, tenantKey, data}`, with no `type`.
  function isChangeEvent(d) {
    return d.type === undefined && typeof d.id === "string" && typeof d.eventType === "string";
  }

  function mount(target, options) {
    if (!isObject(options)) throw fail("mount(element, options) needs options: {url, appOrigin, …}");
    var appOrigin = checkOrigin(options.appOrigin);
    var firstUrl = urlOf(options.url, appOrigin, "url");
    var element = elementOf(target);
    CALLBACKS.concat(["refreshUrl"]).forEach(function (name) {
      if (options[name] !== undefined && options[name] !== null && typeof options[name] !== "function") {
        throw fail(name + " must be a function");
      }
    });
    var allow = allowOf(options.allow, appOrigin);
    var minHeight = boundOf(options.minHeight, DEFAULT_MIN_HEIGHT, "minHeight");
    var maxHeight = boundOf(options.maxHeight, DEFAULT_MAX_HEIGHT, "maxHeight");
    if (maxHeight < minHeight) throw fail("maxHeight is less than minHeight");
    var title = options.title === undefined || options.title === null ? "embedcare" : String(options.title);
    if (title.trim() === "") throw fail("title must name the frame for assistive technologies");
    var refreshUrl = options.refreshUrl || null;

    var doc = element.ownerDocument;
    var win = doc.defaultView || root;
    var iframe = doc.createElement("iframe");
    iframe.title = title;
    iframe.setAttribute("referrerpolicy", "no-referrer");
    if (allow) iframe.setAttribute("allow", allow);
    // Style properties (not a `style` attribute): allowed under a host CSP
    // without 'unsafe-inline'. The height is the content's: no border here.
    iframe.style.display = "block";
    iframe.style.width = "100%";
    iframe.style.border = "0";
    iframe.style.boxSizing = "content-box";
    iframe.style.height = Math.min(maxHeight, Math.max(minHeight, INITIAL_HEIGHT)) + "px";

    var destroyed = false;
    var generation = 0; // bumped by every load: a refresh for an older page is dropped
    var refreshingFor = 0; // the generation whose refresh is pending (0: none)
    var refreshTimes = [];

    function call(name, arg) {
      var fn = options[name];
      if (typeof fn !== "function") return;
      try {
        var result = fn.call(undefined, arg);
        if (result && typeof result.then === "function") {
          result.then(undefined, function (e) { report(name + " rejected", e); });
        }
      } catch (e) {
        report(name + " threw", e);
      }
    }

    function problem(error) {
      if (typeof options.onError === "function") call("onError", error);
      else report(error.message, error);
    }

    function load(url) {
      generation += 1;
      iframe.src = url;
    }

    function resize(height) {
      if (typeof height !== "number" || !isFinite(height)) return;
      var h = Math.min(maxHeight, Math.max(minHeight, Math.ceil(height)));
      iframe.style.height = h + "px";
      call("onResize", h);
    }

    function refresh(info) {
      // One refresh per expiry: another expiry of the same page while its
      // refresh is pending is the same expiry.
      if (!refreshUrl || refreshingFor === generation) return;
      var now = Date.now();
      refreshTimes = refreshTimes.filter(function (t) { return now - t < REFRESH_WINDOW_MS; });
      if (refreshTimes.length >= MAX_REFRESHES) {
        problem(sdkError("refresh-limit", "the page expired again right after " + MAX_REFRESHES +
          " refreshes within a minute; not refreshing again"));
        return;
      }
      refreshTimes.push(now);
      var asked = generation;
      refreshingFor = asked;
      var pending;
      try {
        pending = Promise.resolve(refreshUrl.call(undefined, info));
      } catch (e) {
        pending = Promise.reject(e);
      }
      function done() {
        if (refreshingFor === asked) refreshingFor = 0;
      }
      pending.then(function (value) {
        done();
        if (destroyed || asked !== generation) return; // destroyed or reloaded meanwhile
        var next = isObject(value) && !(value instanceof URL) ? value.iframeUrl : value;
        var url;
        try {
          url = urlOf(next, appOrigin, "the URL refreshUrl gave");
        } catch (e) {
          problem(sdkError("refresh-refused", e.message.replace(/^Embedcare: /, "")));
          return;
        }
        load(url);
      }, function (e) {
        done();
        if (destroyed) return;
        var error = sdkError("refresh-failed", "refreshUrl failed: " + (e && e.message ? e.message : String(e)));
        error.cause = e;
        problem(error);
      });
    }

    function onMessage(event) {
      if (destroyed) return;
      if (event.origin !== appOrigin || event.source !== iframe.contentWindow || !event.source) return;
      var d = event.data;
      if (!isObject(d)) return;
      if (d.type === undefined) {
        if (isChangeEvent(d)) call("onEvent", d);
        return;
      }
      if (MESSAGE_TYPES.indexOf(d.type) < 0) return; // a newer page's message: not ours to guess
      if (d.type === "embed.resize") resize(d.height);
      else if (d.type === "embed.ready") call("onReady", d);
      else if (d.type === "embed.exit") call("onExit", d);
      else if (d.type === "session.expired") {
        call("onExpired", d);
        refresh(d);
      }
    }

    win.addEventListener("message", onMessage);
    element.appendChild(iframe);
    load(firstUrl);

    var handle = {
      iframe: iframe,
      appOrigin: appOrigin,
      // Loads another URL of appOrigin (e.g. one more launch of the vendor's).
      reload: function (url) {
        if (destroyed) throw fail("this frame was destroyed");
        load(urlOf(url, appOrigin, "url"));
      },
      // Stops listening and removes the frame. Safe to call twice.
      destroy: function () {
        if (destroyed) return;
        destroyed = true;
        win.removeEventListener("message", onMessage);
        if (iframe.parentNode) iframe.parentNode.removeChild(iframe);
      },
    };
    return Object.freeze(handle);
  }

  var api = Object.freeze({ version: VERSION, mount: mount });
  root.Embedcare = api;
})(typeof globalThis !== "undefined" ? globalThis : typeof window !== "undefined" ? window : this);
