// The vendor's page in the SDK test, instrumented. Runs before the SDK:
// - counts the message listeners on window (destroy() must remove its own);
// - records every message the page receives, whatever its origin (__raw),
//   so the test knows a look-alike arrived before it checks the SDK's
//   callbacks ignored it;
// - records CSP violations (the page allows no inline script or style);
// - __mount(spec) mounts the SDK with callbacks that record what they saw
//   (__seen), and a refreshUrl that asks this vendor's server for a new URL.
(function () {
  "use strict";
  var listeners = [];
  var add = window.addEventListener;
  var remove = window.removeEventListener;
  window.addEventListener = function (type, fn, opts) {
    if (type === "message" && listeners.indexOf(fn) < 0) listeners.push(fn);
    return add.call(this, type, fn, opts);
  };
  window.removeEventListener = function (type, fn, opts) {
    if (type === "message") {
      var i = listeners.indexOf(fn);
      if (i >= 0) listeners.splice(i, 1);
    }
    return remove.call(this, type, fn, opts);
  };
  window.__messageListeners = function () { return listeners.length; };

  var raw = [];
  window.__raw = raw;
  add.call(window, "message", function (event) {
    var mounted = window.__handle && window.__handle.iframe.contentWindow;
    raw.push({
      origin: event.origin,
      data: event.data,
      fromSelf: event.source === window,
      fromMounted: !!mounted && event.source === mounted,
    });
  });

  var violations = [];
  window.__violations = violations;
  document.addEventListener("securitypolicyviolation", function (e) {
    violations.push({ directive: e.violatedDirective, blocked: e.blockedURI });
  });

  var seen = [];
  window.__seen = seen;
  window.__handle = null;
  window.__sdkLoaded = window.__sdkLoaded || null;

  function record(name, spec) {
    return function (arg) {
      var copy = arg instanceof Error ? { message: arg.message, code: arg.code } : arg;
      seen.push({ cb: name, arg: copy, at: Date.now() });
      if ((spec.throwIn || []).indexOf(name) >= 0) throw new Error("vendor bug in " + name);
      if ((spec.rejectIn || []).indexOf(name) >= 0) return Promise.reject(new Error("vendor async bug in " + name));
      return undefined;
    };
  }

  // spec: {url, appOrigin, refresh, title, allow, minHeight, maxHeight,
  // throwIn, rejectIn, noOnError, target}
  window.__mount = function (spec) {
    var options = { url: spec.url, appOrigin: spec.appOrigin };
    ["onReady", "onEvent", "onExpired", "onResize", "onExit", "onError"].forEach(function (name) {
      if (name === "onError" && spec.noOnError) return;
      options[name] = record(name, spec);
    });
    if (spec.refresh) {
      options.refreshUrl = function (info) {
        seen.push({ cb: "refreshUrl", arg: info, at: Date.now() });
        return fetch("/vendor/refresh", { method: "POST" }).then(function (r) {
          if (!r.ok) throw new Error("the vendor's server answered " + r.status);
          return r.json();
        }).then(function (body) { return spec.refresh === "string" ? body.iframeUrl : body; });
      };
    }
    ["title", "allow", "minHeight", "maxHeight"].forEach(function (k) {
      if (spec[k] !== undefined) options[k] = spec[k];
    });
    if (spec.extra) Object.keys(spec.extra).forEach(function (k) { options[k] = spec.extra[k]; });
    try {
      window.__handle = window.Embedcare.mount(spec.target || document.getElementById("slot"), options);
      return { ok: true };
    } catch (e) {
      return { ok: false, name: e.name, message: e.message };
    }
  };

  // A frame the SDK did not mount (any origin), for look-alike messages.
  window.__frame = function (url) {
    var f = document.createElement("iframe");
    f.title = "not the app";
    f.src = url;
    document.getElementById("other").appendChild(f);
  };
})();
