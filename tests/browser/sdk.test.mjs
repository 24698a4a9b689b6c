// The host-page SDK (sdk/embedcare.js) in Chromium, against its own small
// fixture servers on three origins:
//   A  http://localhost:PA   the vendor's page (strict CSP) mounting the SDK,
//                            and the vendor's server (POST /vendor/refresh);
//   B  http://127.0.0.1:PB   a fake app that behaves like embedcare's pages
//                            (single-use launch URLs; ready, resize, a change
//                            event on load; session.expired for a used URL);
//   C  http://127.0.0.1:PC   a foreign origin whose pages post look-alikes.
// The host's callbacks record what they saw (window.__seen); the test
// asserts on that. No embedcare binary is needed.
//
//   node --test tests/browser/sdk.test.mjs        (CHROMIUM_BIN overrides)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import vm from "node:vm";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, HERE, ROOT, chromiumPath, waitFor } from "./support.mjs";

const SDK_FILE = path.join(ROOT, "sdk", "embedcare.js");
const FIXTURES = path.join(HERE, "sdk-fixtures");
const WAIT = 10_000;

const fixture = (name) => readFileSync(path.join(FIXTURES, name), "utf8");

// ---- the SDK's source, statically ------------------------------------------

/**
 * Splits JavaScript source into code (strings and comments blanked) and the
 * string literals' texts. Enough for this file (its regular expressions
 * hold no quotes or slashes that would fool it).
 */
function lex(src) {
  let code = "";
  const strings = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const n = src[i + 1];
    if (c === "/" && n === "/") {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end;
    } else if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      code += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      let text = "";
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\") { text += src[j + 1]; j += 2; } else { text += src[j]; j += 1; }
      }
      strings.push(text);
      code += '""';
      i = j + 1;
    } else {
      code += c;
      i += 1;
    }
  }
  return { code, strings };
}

// ---- the fixture servers ---------------------------------------------------

async function listen(handler, hosts) {
  const servers = [];
  let port = 0;
  for (const host of hosts) {
    const server = http.createServer(handler);
    const ok = await new Promise((resolve, reject) => {
      server.once("error", (e) => (servers.length ? resolve(false) : reject(e)));
      server.listen(port, host, () => resolve(true));
    });
    if (!ok) continue; // no ::1 here: 127.0.0.1 serves localhost
    port = server.address().port;
    servers.push(server);
  }
  return {
    port,
    stop: () => Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections?.(); s.close(() => r()); }))),
  };
}

function sender(res) {
  return (status, type, body, extra = {}) => {
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", ...extra });
    res.end(body);
  };
}

const s = {
  A: null, B: null, C: null, servers: [], browser: null, context: null,
  // the fake app (B): its launch tokens and every page load
  tokens: new Map(), loads: [],
  // the foreign origin (C): every request it received
  foreignRequests: [],
  // the vendor's server (A): what POST /vendor/refresh answers, and its calls
  refreshMode: "fresh", refreshCalls: 0, refreshIssued: [],
};

/** A single-use launch URL of the fake app, as the vendor's server gets it. */
function issue(view = "consultation/details") {
  const token = randomBytes(16).toString("base64url");
  s.tokens.set(token, { view, used: false });
  return { token, url: `${s.B}/en/embed/franchise/demo/${view}?session=${token}` };
}

function usedUrl() {
  const launch = issue();
  s.tokens.get(launch.token).used = true;
  return launch;
}

function fakeAppPage(context) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fake app</title>
<script type="application/json" id="embed-context">${JSON.stringify(context)}</script>
<script src="/fake-app.js" defer></script></head>
<body style="margin:0"><div id="embed-root" style="height:700px">fake app · ${context.state}</div></body></html>`;
}

const spoofPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>look-alike</title>
<script src="/spoof.js" defer></script></head><body>look-alike</body></html>`;

/** The look-alike page (served by B and by C), else 404. */
function serveSpoof(url, send) {
  if (url.pathname === "/spoof.html") return send(200, "text/html; charset=utf-8", spoofPage);
  if (url.pathname === "/spoof.js") return send(200, "text/javascript", fixture("spoof.js"));
  return send(404, "text/plain", "not found");
}

async function startServers() {
  // B: the fake app.
  const b = await listen((req, res) => {
    const send = sender(res);
    const url = new URL(req.url, "http://b");
    const m = url.pathname.match(/^\/(en|fr)\/embed\/franchise\/([a-z0-9-]+)\/([a-z]+\/[a-z]+)$/);
    if (req.method === "GET" && m) {
      const token = url.searchParams.get("session") || "";
      const entry = s.tokens.get(token);
      const state = entry && !entry.used ? "ready" : "expired";
      if (entry) entry.used = true;
      s.loads.push({ token, state, referer: req.headers.referer ?? null });
      const context = {
        state, view: m[3], tenantKey: m[2], locale: m[1], userId: "u-1", consultationId: "c-1",
        session: token, allowedOrigins: [s.A],
      };
      return send(200, "text/html; charset=utf-8", fakeAppPage(context), {
        "Content-Security-Policy": `frame-ancestors ${s.A}`,
      });
    }
    if (url.pathname === "/fake-app.js") return send(200, "text/javascript", fixture("fake-app.js"));
    // The SDK, served by the app as the app will serve it.
    if (url.pathname === "/sdk/embedcare.js") {
      return send(200, "text/javascript; charset=utf-8", readFileSync(SDK_FILE, "utf8"), {
        "Access-Control-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
      });
    }
    return serveSpoof(url, send);
  }, ["127.0.0.1"]);
  s.servers.push(b);
  s.B = `http://127.0.0.1:${b.port}`;

  // C: a foreign origin.
  const c = await listen((req, res) => {
    const send = sender(res);
    s.foreignRequests.push(req.url);
    const url = new URL(req.url, "http://c");
    return serveSpoof(url, send);
  }, ["127.0.0.1"]);
  s.servers.push(c);
  s.C = `http://127.0.0.1:${c.port}`;

  // A: the vendor (page and server).
  const a = await listen(async (req, res) => {
    const send = sender(res);
    const url = new URL(req.url, "http://a");
    const js = (name) => send(200, "text/javascript; charset=utf-8", fixture(name));
    if (req.method === "GET" && url.pathname === "/") {
      const mode = url.searchParams.get("mode") === "classic" ? "classic" : "module";
      const tag = mode === "classic"
        ? `<script src="${s.B}/sdk/embedcare.js"></script>\n<script src="/host-classic.js"></script>`
        : '<script type="module" src="/host-module.js"></script>';
      const page = fixture("host.html")
        .replaceAll("{{SDK_TAG}}", tag)
        .replaceAll("{{MODE}}", mode)
        .replaceAll("{{APP_ORIGIN}}", s.B)
        .replaceAll("{{FOREIGN_ORIGIN}}", s.C);
      return send(200, "text/html; charset=utf-8", page, {
        "Content-Security-Policy":
          `default-src 'none'; script-src 'self' ${s.B}; style-src 'self'; connect-src 'self'; frame-src ${s.B} ${s.C}`,
      });
    }
    if (url.pathname === "/harness.js") return js("harness.js");
    if (url.pathname === "/host-module.js") {
      return send(200, "text/javascript; charset=utf-8", fixture("host-module.js").replaceAll("{{APP_ORIGIN}}", s.B));
    }
    if (url.pathname === "/host-classic.js") return js("host-classic.js");
    if (url.pathname === "/host.css") return send(200, "text/css", fixture("host.css"));
    if (req.method === "POST" && url.pathname === "/vendor/refresh") {
      s.refreshCalls += 1;
      const mode = s.refreshMode;
      if (mode === "fail") return send(500, "application/json", JSON.stringify({ message: "down" }));
      if (mode === "slow") await new Promise((r) => setTimeout(r, 1_500));
      let iframeUrl;
      if (mode === "foreign") iframeUrl = `${s.C}/spoof.html?session=refused`;
      else if (mode === "used") iframeUrl = usedUrl().url;
      else {
        const launch = issue();
        s.refreshIssued.push(launch);
        iframeUrl = launch.url;
      }
      return send(200, "application/json", JSON.stringify({ iframeUrl }));
    }
    if (url.pathname === "/favicon.ico") return send(204, "text/plain", "");
    return send(404, "text/plain", "not found");
  }, ["127.0.0.1", "::1"]);
  s.servers.push(a);
  s.A = `http://localhost:${a.port}`;
}

// ---- the host page ---------------------------------------------------------

const consoleErrors = new WeakMap();

/** A fresh vendor page with the SDK loaded as a module (or a classic script). */
async function openHost(mode = "module") {
  s.refreshMode = "fresh";
  s.refreshCalls = 0;
  s.refreshIssued = [];
  const page = await s.context.newPage();
  const errors = [];
  consoleErrors.set(page, errors);
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(`uncaught: ${e.message}`));
  await page.goto(`${s.A}/?mode=${mode}`);
  const loaded = await (await page.waitForFunction(() => window.__sdkLoaded)).jsonValue();
  assert.deepEqual(loaded, { how: mode, hasGlobal: true }, "the SDK defined window.Embedcare");
  return page;
}

async function mount(page, spec) {
  const r = await page.evaluate((sp) => window.__mount(sp), { appOrigin: s.B, ...spec });
  assert.ok(r.ok, `mount failed: ${r.message}`);
}

/** What callback `cb` received, in order. */
const seen = (page, cb) => page.evaluate((c) => window.__seen.filter((x) => x.cb === c).map((x) => x.arg ?? null), cb);

async function waitSeen(page, cb, count = 1, timeout = WAIT) {
  try {
    await page.waitForFunction(([c, n]) => window.__seen.filter((x) => x.cb === c).length >= n, [cb, count], { timeout });
  } catch (e) {
    const all = await page.evaluate(() => window.__seen).catch(() => "?");
    throw new Error(`${cb} was not called ${count} time(s); seen: ${JSON.stringify(all)}\n${e.message}`);
  }
  return seen(page, cb);
}

/** The mounted iframe as a Frame, once the fake app's script has run. */
async function appFrame(page) {
  const el = await page.locator("#slot iframe").elementHandle();
  const frame = await el.contentFrame();
  await frame.waitForFunction(() => window.fakeApp);
  return frame;
}

/** A fresh vendor page with one frame mounted and ready: {page, frame, launch}. */
async function openMounted(spec = {}) {
  const page = await openHost();
  const launch = issue();
  await mount(page, { url: launch.url, ...spec });
  await waitSeen(page, "onReady");
  return { page, launch, frame: await appFrame(page) };
}

const frameHeight = (page) => page.locator("#slot iframe").evaluate((el) => el.getBoundingClientRect().height);
const frameSrc = (page) => page.evaluate(() => window.__handle.iframe.src);
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

async function closeClean(page) {
  assert.deepEqual(await page.evaluate(() => window.__violations), [], "no CSP violation on the host page");
  await page.close();
}

describe("embedcare.js, the host-page SDK, in Chromium", { timeout: 120_000 }, () => {
  before(async () => {
    await startServers();
    s.browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    s.context = await s.browser.newContext({ viewport: { width: 1000, height: 800 } });
    s.context.setDefaultTimeout(WAIT);
  });

  after(async () => {
    await s.browser?.close().catch(() => {});
    await Promise.all(s.servers.map((x) => x.stop()));
  });

  test("the file imports nothing, exports nothing, posts nothing and names no '*' target", async () => {
    const src = readFileSync(SDK_FILE, "utf8");
    const { code, strings } = lex(src);
    assert.doesNotMatch(code, /\bimport\b/, "no import (static or dynamic)");
    assert.doesNotMatch(code, /\bexport\b/, "no export (it must also run as a classic script)");
    assert.doesNotMatch(code, /\brequire\s*\(/, "no require");
    assert.doesNotMatch(code, /\bpostMessage\b/, "the SDK posts no message at all");
    assert.ok(strings.length > 10, "the lexer found the file's strings");
    for (const t of strings) assert.notEqual(t.trim(), "*", "no '*' string anywhere");

    // A classic script, in a bare realm: it defines Embedcare and touches
    // nothing else (no document, no window, no fetch) while loading.
    const sandbox = vm.createContext({});
    new vm.Script(src, { filename: "embedcare.js" }).runInContext(sandbox);
    assert.deepEqual(Object.keys(sandbox), ["Embedcare"]);
    assert.equal(typeof sandbox.Embedcare.mount, "function");
    assert.match(sandbox.Embedcare.version, /^\d+\.\d+\.\d+$/);
    assert.ok(Object.isFrozen(sandbox.Embedcare));

    // An ES module: importing it defines the global too.
    const previous = globalThis.Embedcare;
    await import(`data:text/javascript;base64,${Buffer.from(src).toString("base64")}`);
    assert.equal(typeof globalThis.Embedcare?.mount, "function");
    if (previous === undefined) delete globalThis.Embedcare;
  });

  test("mount (ES module): the frame's attributes, then onReady, onResize and onEvent", async () => {
    const page = await openHost("module");
    const { url, token } = issue();
    await mount(page, { url, title: "Consultation" });

    const attrs = await page.locator("#slot iframe").evaluate((el) => ({
      count: el.parentElement.querySelectorAll("iframe").length,
      title: el.getAttribute("title"),
      referrerpolicy: el.getAttribute("referrerpolicy"),
      sandbox: el.getAttribute("sandbox"),
      allow: el.getAttribute("allow"),
      src: el.src,
    }));
    assert.deepEqual(attrs, {
      count: 1, title: "Consultation", referrerpolicy: "no-referrer", sandbox: null, allow: null, src: url,
    });

    const [ready] = await waitSeen(page, "onReady");
    assert.deepEqual(ready, {
      type: "embed.ready", view: "consultation/details", tenantKey: "demo", locale: "en",
      userId: "u-1", consultationId: "c-1", session: token,
    });
    assert.deepEqual(await waitSeen(page, "onResize"), [700]);
    assert.equal(await frameHeight(page), 700, "the frame is as tall as the content");
    const [event] = await waitSeen(page, "onEvent");
    assert.equal(event.id, `evt-created-${token}`);
    assert.deepEqual(
      { eventType: event.eventType, operation: event.operation, status: event.status, tenantKey: event.tenantKey },
      { eventType: "consultation", operation: "create", status: "SENT", tenantKey: "demo" },
    );
    assert.deepEqual(event.data, { consultationId: "c-1", previousStatus: null });

    // A second change event, posted later, reaches onEvent too.
    const frame = await appFrame(page);
    const later = await frame.evaluate(() => window.fakeApp.event("IN_PROGRESS"));
    const events = await waitSeen(page, "onEvent", 2);
    assert.deepEqual(events[1], later);

    assert.deepEqual(await seen(page, "onExpired"), []);
    assert.deepEqual(await seen(page, "onError"), []);
    assert.deepEqual(await frame.evaluate(() => window.fakeApp.received), [], "the SDK posted nothing to the app");
    const load = s.loads.find((l) => l.token === token);
    assert.deepEqual(load, { token, state: "ready", referer: null }, "the page was loaded once, without a referrer");
    assert.equal(await frame.evaluate(() => document.referrer), "");
    assert.deepEqual(consoleErrors.get(page), []);
    await closeClean(page);
  });

  test("mount (classic script): window.Embedcare works the same", async () => {
    const page = await openHost("classic");
    const { url, token } = issue();
    await mount(page, { url });
    const [ready] = await waitSeen(page, "onReady");
    assert.equal(ready.session, token);
    assert.equal(await page.locator("#slot iframe").getAttribute("title"), "embedcare", "a default title");
    assert.deepEqual(await waitSeen(page, "onResize"), [700]);
    assert.deepEqual(consoleErrors.get(page), []);
    await closeClean(page);
  });

  test("look-alike messages are ignored: another origin, another window of the app's origin, the host itself", async () => {
    const { page, frame } = await openMounted({ refresh: true });
    await waitSeen(page, "onEvent");
    const seenBefore = await page.evaluate(() => window.__seen.length);
    const raw = () => page.evaluate(() => window.__raw.filter((m) => m.data && m.data.spoof));
    const count = async (pred) => (await raw()).filter(pred).length;

    // (1) a frame of origin C in the host page;
    await page.evaluate((u) => window.__frame(u), `${s.C}/spoof.html`);
    // (2) a frame of the app's own origin B that the SDK did not mount;
    await page.evaluate((u) => window.__frame(u), `${s.B}/spoof.html`);
    // (3) the host page posting to itself;
    await page.evaluate(() => {
      const m = [{ type: "embed.resize", height: 2222, spoof: true }, { type: "session.expired", tenantKey: "demo", view: "x", spoof: true }];
      m.forEach((x) => window.postMessage(x, window.location.origin));
    });
    // (4) a frame of origin C nested in the app's frame, posting to the top.
    await frame.evaluate((u) => window.fakeApp.nest(u), `${s.C}/spoof.html`);
    await waitFor("every look-alike to reach the host page", async () =>
      (await count((m) => m.origin === s.C && !m.fromMounted)) >= 10 &&
      (await count((m) => m.origin === s.B && !m.fromMounted)) >= 5 &&
      (await count((m) => m.fromSelf)) >= 2);
    // (5) the mounted frame itself, once it has navigated to origin C (the
    // right window, the wrong origin).
    await frame.evaluate((u) => window.fakeApp.goTo(u), `${s.C}/spoof.html`);
    await waitFor("the look-alikes of the mounted frame, now of origin C", async () =>
      (await count((m) => m.origin === s.C && m.fromMounted)) >= 5);
    await settle();

    const seenAfter = await page.evaluate(() => window.__seen.slice());
    assert.equal(seenAfter.length, seenBefore,
      `no callback ran for a look-alike: ${JSON.stringify(seenAfter.slice(seenBefore))}`);
    assert.ok(!JSON.stringify(seenAfter).includes("spoof"), "no look-alike reached a callback");
    assert.equal(await frameHeight(page), 700, "no look-alike resized the frame");
    assert.equal(s.refreshCalls, 0, "no look-alike session.expired made the SDK refresh");
    assert.deepEqual(consoleErrors.get(page), [], "ignored silently");
    await closeClean(page);
  });

  test("embed.resize sets the frame's height within bounds; bad heights are ignored", async () => {
    const opened = await openMounted();
    const { page } = opened;
    let { frame } = opened;
    await waitSeen(page, "onResize");
    const steps = [[5, 150], [1e9, 10000], [612.2, 613]];
    for (const [posted, want] of steps) {
      const n = (await seen(page, "onResize")).length;
      await frame.evaluate((h) => window.fakeApp.resize(h), posted);
      const sizes = await waitSeen(page, "onResize", n + 1);
      assert.equal(sizes.at(-1), want, `embed.resize ${posted} → onResize(${want})`);
      assert.equal(await frameHeight(page), want, `embed.resize ${posted} → a ${want}px frame`);
    }
    // Not numbers: ignored (then a valid one shows nothing came between).
    for (const bad of [Number.NaN, "300", null, Number.POSITIVE_INFINITY]) {
      await frame.evaluate((h) => window.fakeApp.resize(h), bad);
    }
    await frame.evaluate(() => window.fakeApp.grow(900));
    assert.deepEqual(await waitSeen(page, "onResize", 5), [700, 150, 10000, 613, 900]);
    assert.equal(await frameHeight(page), 900);

    // The vendor's own bounds.
    await page.evaluate(() => window.__handle.destroy());
    await mount(page, { url: issue().url, minHeight: 300, maxHeight: 800 });
    await waitSeen(page, "onReady", 2);
    frame = await appFrame(page);
    await frame.evaluate(() => window.fakeApp.resize(100));
    await waitFor("the 300px floor", async () => (await frameHeight(page)) === 300);
    await frame.evaluate(() => window.fakeApp.resize(5000));
    await waitFor("the 800px ceiling", async () => (await frameHeight(page)) === 800);
    await closeClean(page);
  });

  test("session.expired: onExpired, then refreshUrl's new URL of the app loads; a replayed URL too", async () => {
    const { page, frame, launch: first } = await openMounted({ refresh: true });
    await frame.evaluate(() => window.fakeApp.expire());
    const [expired] = await waitSeen(page, "onExpired");
    assert.deepEqual(expired, { type: "session.expired", tenantKey: "demo", view: "consultation/details" });
    const readies = await waitSeen(page, "onReady", 2);
    const second = readies[1].session;
    assert.notEqual(second, first.token, "a new session");
    assert.equal(s.refreshCalls, 1, "refreshUrl asked the vendor's server once");
    assert.equal(await frameSrc(page), `${s.B}/en/embed/franchise/demo/consultation/details?session=${second}`);
    const order = await page.evaluate(() => window.__seen.map((x) => x.cb).filter((c) => c !== "onResize" && c !== "onEvent"));
    assert.deepEqual(order, ["onReady", "onExpired", "refreshUrl", "onReady"], "onExpired before refreshUrl");
    assert.deepEqual(await seen(page, "refreshUrl"), [expired], "refreshUrl is told what expired");

    // reload() with the used first URL: the page answers session.expired on
    // load, and the SDK refreshes again.
    await page.evaluate((u) => window.__handle.reload(u), first.url);
    await waitSeen(page, "onExpired", 2);
    const third = (await waitSeen(page, "onReady", 3))[2].session;
    assert.ok(![first.token, second].includes(third));
    assert.equal(s.refreshCalls, 2);
    assert.deepEqual(
      s.loads.filter((l) => [first.token, second, third].includes(l.token)).map((l) => [l.token, l.state]),
      [[first.token, "ready"], [second, "ready"], [first.token, "expired"], [third, "ready"]],
    );

    // Two expiries of one page while its refresh is pending: one refresh.
    s.refreshMode = "slow";
    const frame3 = await appFrame(page);
    await frame3.evaluate(() => { window.fakeApp.expire(); window.fakeApp.expire(); });
    await waitSeen(page, "onExpired", 4);
    const fourth = (await waitSeen(page, "onReady", 4))[3].session;
    await settle(500);
    assert.equal((await seen(page, "refreshUrl")).length, 3, "one refresh for the two");
    assert.equal(s.refreshCalls, 3);
    assert.equal((await seen(page, "onReady")).length, 4);
    assert.equal(await frameSrc(page), `${s.B}/en/embed/franchise/demo/consultation/details?session=${fourth}`);
    assert.deepEqual(await seen(page, "onError"), []);
    await closeClean(page);
  });

  test("refreshUrl returning another origin's URL is refused (onError, nothing loads)", async () => {
    const { page, frame, launch: first } = await openMounted({ refresh: true });
    s.refreshMode = "foreign";
    await frame.evaluate(() => window.fakeApp.expire());
    const [error] = await waitSeen(page, "onError");
    assert.equal(error.code, "refresh-refused");
    assert.match(error.message, new RegExp(`not of appOrigin ${s.B.replace(/[.:/]/g, "\\$&")}`));
    await settle();
    assert.equal(await frameSrc(page), first.url, "the frame kept its URL");
    assert.ok(!s.foreignRequests.some((u) => u.includes("session=refused")), "the foreign URL was never requested");
    assert.equal(s.refreshCalls, 1);
    assert.equal((await seen(page, "onReady")).length, 1, "nothing new loaded");
    assert.deepEqual((await seen(page, "onExpired")).length, 1);
    await closeClean(page);
  });

  test("without onError, a failed refresh goes to console.error", async () => {
    const { page, frame } = await openMounted({ refresh: true, noOnError: true });
    s.refreshMode = "fail";
    await frame.evaluate(() => window.fakeApp.expire());
    await waitSeen(page, "refreshUrl");
    await waitFor("the console error", () => consoleErrors.get(page).some((t) => t.includes("refreshUrl failed")));
    assert.ok(consoleErrors.get(page).some((t) => t.includes("answered 500")), consoleErrors.get(page).join("\n"));
    await closeClean(page);
  });

  test("a loop of expiries stops after 3 refreshes in a minute (then onExpired only)", async () => {
    const { page, frame } = await openMounted({ refresh: "string" });
    s.refreshMode = "used"; // the vendor's server keeps handing out used URLs
    await frame.evaluate(() => window.fakeApp.expire());
    const [error] = await waitSeen(page, "onError");
    assert.equal(error.code, "refresh-limit");
    await settle(800);
    assert.equal((await seen(page, "onExpired")).length, 4, "the first expiry and the three refreshed pages'");
    assert.equal((await seen(page, "refreshUrl")).length, 3);
    assert.equal(s.refreshCalls, 3);
    assert.equal((await seen(page, "onReady")).length, 1);
    const loadsNow = s.loads.length;
    await settle(500);
    assert.equal(s.loads.length, loadsNow, "no more loads");
    await closeClean(page);
  });

  test("embed.exit → onExit; a callback that throws or rejects is reported and the SDK goes on", async () => {
    const { page, frame } = await openMounted({ throwIn: ["onReady", "onResize"], rejectIn: ["onEvent"] });
    await waitSeen(page, "onEvent");
    assert.equal(await frameHeight(page), 700, "resized although onResize threw");
    await frame.evaluate(() => window.fakeApp.exit("visit-ended"));
    assert.deepEqual(await waitSeen(page, "onExit"), [{ type: "embed.exit", reason: "visit-ended" }]);
    const errors = consoleErrors.get(page);
    await waitFor("the three reports", () => errors.length >= 3);
    assert.ok(errors.some((t) => t.includes("Embedcare: onReady threw") && t.includes("vendor bug in onReady")), errors.join("\n"));
    assert.ok(errors.some((t) => t.includes("Embedcare: onResize threw")), errors.join("\n"));
    assert.ok(errors.some((t) => t.includes("Embedcare: onEvent rejected")), errors.join("\n"));
    assert.ok(!errors.some((t) => t.startsWith("uncaught")), "nothing escaped to the page");
    await closeClean(page);
  });

  test("reload(url) checks the origin; destroy() removes the listener and the frame", async () => {
    const page = await openHost();
    assert.equal(await page.evaluate(() => window.__messageListeners()), 0);
    const first = issue();
    await mount(page, { url: first.url, refresh: true });
    assert.equal(await page.evaluate(() => window.__messageListeners()), 1, "one listener while mounted");
    await waitSeen(page, "onReady");

    const refused = await page.evaluate((u) => {
      try { window.__handle.reload(u); return null; } catch (e) { return e.name + ": " + e.message; }
    }, `${s.C}/spoof.html`);
    assert.match(refused, /^TypeError: Embedcare: url is not of appOrigin/);
    assert.equal(await frameSrc(page), first.url);

    const next = issue();
    await page.evaluate((u) => window.__handle.reload(u), next.url);
    const readies = await waitSeen(page, "onReady", 2);
    assert.equal(readies[1].session, next.token);

    await page.evaluate(() => window.__handle.destroy());
    assert.equal(await page.evaluate(() => window.__messageListeners()), 0, "the listener is gone");
    assert.equal(await page.locator("iframe").count(), 0, "the frame is gone");
    assert.equal(await page.evaluate(() => window.__handle.iframe.isConnected), false);
    const afterDestroy = await page.evaluate((u) => {
      window.__handle.destroy(); // twice: no error
      try { window.__handle.reload(u); return null; } catch (e) { return e.message; }
    }, issue().url);
    assert.match(afterDestroy, /destroyed/);

    // reload() while refreshUrl is pending: that refresh was for the older
    // page, its answer is dropped; the new page's own expiry gets its own.
    s.refreshMode = "slow";
    await mount(page, { url: issue().url, refresh: true });
    await waitSeen(page, "onReady", 3);
    let frame = await appFrame(page);
    await frame.evaluate(() => window.fakeApp.expire());
    await waitSeen(page, "refreshUrl");
    const manual = issue();
    await page.evaluate((u) => window.__handle.reload(u), manual.url);
    assert.equal((await waitSeen(page, "onReady", 4))[3].session, manual.token);
    frame = await appFrame(page);
    await frame.evaluate(() => window.fakeApp.expire());
    await waitSeen(page, "refreshUrl", 2);
    await waitFor("both slow refreshes to answer", () => s.refreshIssued.length === 2);
    const sessions = (await waitSeen(page, "onReady", 5)).map((r) => r.session);
    assert.equal(await frameSrc(page), s.refreshIssued[1].url, "the new page's refresh loaded");
    assert.equal(sessions.at(-1), s.refreshIssued[1].token);
    await settle(500);
    assert.equal((await seen(page, "onReady")).length, 5, "the older page's refresh was dropped");
    assert.ok(!s.loads.some((l) => l.token === s.refreshIssued[0].token), "its URL never loaded");

    // Destroyed while refreshUrl is pending: its URL is dropped.
    frame = await appFrame(page);
    const src = await frameSrc(page);
    const loads = s.loads.length;
    await frame.evaluate(() => window.fakeApp.expire());
    await waitSeen(page, "refreshUrl", 3);
    await page.evaluate(() => window.__handle.destroy());
    await waitFor("the slow refresh to answer", () => s.refreshIssued.length === 3);
    await settle(500);
    assert.equal(await page.locator("iframe").count(), 0, "nothing came back");
    assert.equal(await frameSrc(page), src, "the destroyed frame was not given the new URL");
    assert.equal(s.loads.length, loads, "the refreshed URL was not loaded");
    assert.deepEqual(await seen(page, "onError"), []);
    assert.equal(await page.evaluate(() => window.__messageListeners()), 0);
    await closeClean(page);
  });

  test("mount refuses a wrong appOrigin, a URL of another origin, unknown features; nothing is created", async () => {
    const page = await openHost();
    const good = issue().url;
    const cases = [
      [{ appOrigin: undefined, url: good }, /appOrigin is required/],
      [{ appOrigin: "", url: good }, /appOrigin is required/],
      [{ appOrigin: "*", url: good }, /not an origin/],
      [{ appOrigin: "null", url: good }, /not an origin/],
      [{ appOrigin: `${s.B}/`, url: good }, /exactly an origin.*did you mean/],
      [{ appOrigin: `${s.B}/embed`, url: good }, /exactly an origin/],
      [{ appOrigin: s.B.toUpperCase(), url: good }, /exactly an origin/],
      [{ appOrigin: "ftp://127.0.0.1", url: good }, /not an http\(s\) origin/],
      [{ url: `${s.C}/spoof.html` }, /url is not of appOrigin/],
      [{ url: good.replace("127.0.0.1", "localhost") }, /url is not of appOrigin/],
      [{ url: "/en/embed/franchise/demo/consultation/details" }, /not an absolute URL/],
      [{ url: "javascript:alert(1)" }, /url is not of appOrigin/],
      [{ url: undefined }, /url must be a URL/],
      [{ url: good, allow: ["geolocation"] }, /unknown feature "geolocation"/],
      [{ url: good, extra: { onReady: "yes" } }, /onReady must be a function/],
      [{ url: good, minHeight: 500, maxHeight: 100 }, /maxHeight is less than minHeight/],
      [{ url: good, title: "  " }, /title must name the frame/],
      [{ url: good, target: "#missing" }, /no element matches/],
    ];
    for (const [spec, want] of cases) {
      const r = await page.evaluate((sp) => window.__mount(sp), { appOrigin: s.B, ...spec });
      assert.equal(r.ok, false, `refused: ${JSON.stringify(spec)}`);
      assert.equal(r.name, "TypeError");
      assert.match(r.message, want, JSON.stringify(spec));
    }
    assert.equal(await page.locator("iframe").count(), 0, "no frame was created");
    assert.equal(await page.evaluate(() => window.__messageListeners()), 0, "no listener was added");
    // A selector works as the element.
    await mount(page, { url: good, target: "#slot" });
    await waitSeen(page, "onReady");
    await closeClean(page);
  });

  test("allow: camera, microphone and fullscreen are delegated to the app's origin only when asked", async () => {
    const page = await openHost();
    const policy = (frame) => frame.evaluate(() => ({
      camera: document.featurePolicy.allowsFeature("camera"),
      microphone: document.featurePolicy.allowsFeature("microphone"),
      fullscreen: document.fullscreenEnabled,
    }));
    await mount(page, { url: issue().url });
    assert.deepEqual(await policy(await appFrame(page)), { camera: false, microphone: false, fullscreen: false });
    await page.evaluate(() => window.__handle.destroy());

    await mount(page, { url: issue().url, allow: ["camera", "microphone", "fullscreen", "camera"] });
    assert.equal(await page.locator("#slot iframe").getAttribute("allow"),
      `camera ${s.B}; microphone ${s.B}; fullscreen ${s.B}`);
    assert.deepEqual(await policy(await appFrame(page)), { camera: true, microphone: true, fullscreen: true });
    await closeClean(page);
  });
});
