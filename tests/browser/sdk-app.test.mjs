// The host-page SDK against the real app, in Chromium: a vendor page on
// another origin loads /sdk/embedcare.js from the app, mounts seed 000
// through it (create → send → the patient answers → details), gets every
// change through onEvent with the bus event's id, sizes the frame from
// embed.resize, refreshes an expired URL through refreshUrl, and ignores
// look-alike messages from a foreign origin and from its own window.
//
//   node --test tests/browser/sdk-app.test.mjs        (EMBEDCARE_BIN, CHROMIUM_BIN override)
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import {
  CHROMIUM_ARGS, chromiumPath, startEmbedcare, startVendorHost, subscribeBus, waitFor,
} from "./support.mjs";

const WAIT = 10_000;
const PATIENT = {
  keys: [{ subSystem: "vendor-pms", key: "sdk-app-patient" }],
  firstName: "Ann",
  lastName: "Lee",
  dateOfBirth: "1958-03-14",
  email: "ann.lee.sdk@example.com",
  preferredLanguage: "EN",
};

const s = { app: null, host: null, bus: null, browser: null, page: null, hostUrl: null };

const frame = (p) => p.frameLocator("#slot iframe[title=embedcare]");
const seen = (p, cb) => p.evaluate((name) => window.__seen.filter((x) => x.cb === name).map((x) => x.arg), cb);
/** Does `value` contain everything `want` has (recursively)? */
function matches(value, want) {
  if (want === null || typeof want !== "object") return value === want;
  if (value === null || typeof value !== "object") return false;
  return Object.keys(want).every((k) => matches(value[k], want[k]));
}
async function waitSeen(p, cb, want, timeout = WAIT) {
  return waitFor(`${cb} like ${JSON.stringify(want)}`, async () =>
    (await seen(p, cb)).find((a) => matches(a, want)), { timeout });
}

describe("the host-page SDK mounts the real app on another origin", { timeout: 120_000 }, () => {
  before(async () => {
    s.host = await startVendorHost({ patient: PATIENT, page: "sdk-host.html", script: "sdk-host.js" });
    s.hostUrl = `http://localhost:${s.host.port}`;
    // Its own log (the seed 000 walk, which may run at the same time, empties artifacts/).
    const logs = mkdtempSync(path.join(os.tmpdir(), "embedcare-sdk-app-"));
    s.app = await startEmbedcare({ allowOrigins: [s.hostUrl], logFile: path.join(logs, "embedcare.log") });
    s.host.configure(s.app.baseUrl, s.app.demo.apiKey);
    s.bus = await subscribeBus(s.app.baseUrl);
    s.browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    const context = await s.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-CA" });
    context.setDefaultTimeout(WAIT);
    s.page = await context.newPage();
    await s.page.goto(`${s.hostUrl}/`);
  });

  after(async () => {
    await s.browser?.close().catch(() => {});
    await s.bus?.close();
    await s.app?.stop();
    await s.host?.stop();
  });

  test("the app serves the SDK: public, not sniffed, cached by version", async () => {
    const res = await fetch(`${s.app.baseUrl}/sdk/embedcare.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/javascript/);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const etag = res.headers.get("etag");
    assert.match(etag, /^"[0-9a-f]{16}"$/);
    assert.match(await res.text(), /Embedcare/);
    const again = await fetch(`${s.app.baseUrl}/sdk/embedcare.js`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    const pinned = await fetch(`${s.app.baseUrl}/sdk/embedcare.js?v=${etag.replaceAll('"', "")}`);
    assert.match(pinned.headers.get("cache-control"), /immutable/);
    const types = await fetch(`${s.app.baseUrl}/sdk/embedcare.d.ts`);
    assert.equal(types.status, 200);
    assert.match(await types.text(), /mount/);
    assert.equal(await s.page.evaluate(() => typeof window.Embedcare), "object", "the vendor page loaded it");
  });

  test("seed 000 through the SDK: create → send → the patient answers → details", async () => {
    const p = s.page;
    const f = frame(p);
    await p.getByRole("button", { name: "Start a consultation" }).click();
    const ready = await waitSeen(p, "onReady", { view: "consultation/start" });
    assert.equal(ready.tenantKey, "demo");
    await f.getByRole("heading", { level: 1, name: "Start a consultation" }).waitFor();
    const reasons = f.getByRole("group", { name: "Choose the reason for the consultation" });
    await reasons.getByRole("radio", { name: "Urinary tract infection (cystitis)" }).check();
    await f.getByRole("button", { name: "Send to the patient" }).click();
    const created = await waitSeen(p, "onEvent", { eventType: "consultation", operation: "create", status: "SENT" });
    const consultationId = created.data.consultationId;

    // The patient portal: the same frame, reloaded with the answer view's URL.
    await p.getByRole("button", { name: "Patient portal: answer" }).click();
    await waitSeen(p, "onReady", { view: "consultation/answer" });
    const form = f.locator("form.questionnaire");
    await f.getByRole("checkbox", { name: "Burning when urinating" }).check();
    await f.getByLabel(/For how many days have you had these symptoms\?/).fill("3");
    for (const [question, answer] of [
      [/Do you have a fever/, "No"],
      [/Do you have pain in your back or side\?/, "No"],
      [/Are you pregnant or could you be\?/, "No"],
      [/urinary infection in the last 6 months\?/, "No"],
    ]) {
      await form.getByRole("group", { name: question }).getByRole("radio", { name: answer, exact: true }).check();
    }
    await f.getByRole("button", { name: "Send my answers" }).click();
    await waitSeen(p, "onEvent", { status: "TO_BE_ANALYZED", data: { consultationId } });

    await p.getByRole("button", { name: "Consultation details" }).click();
    await waitSeen(p, "onReady", { view: "consultation/details" });
    await f.locator("#embed-main").getByText("Burning when urinating").first().waitFor();

    // Every change the SDK reported is a bus event, with the same id and body.
    const events = await seen(p, "onEvent");
    const ops = events.map((e) => `${e.operation}:${e.status}`);
    assert.equal(ops[0], "create:SENT");
    assert.equal(ops.at(-1), "update:TO_BE_ANALYZED");
    await waitFor("the SDK's events on the bus", () =>
      events.every((e) => s.bus.events.some((b) => b.detail.id === e.id)));
    for (const e of events) {
      assert.deepEqual(s.bus.events.find((b) => b.detail.id === e.id).detail, e);
    }
    // The frame follows the content's height.
    const heights = await seen(p, "onResize");
    assert.ok(heights.length > 0 && heights.every((h) => h >= 150 && h <= 10000), String(heights));
    const frameHeight = await p.evaluate(() => window.__frame().style.height);
    assert.equal(frameHeight, `${heights.at(-1)}px`);
  });

  test("an expired URL is refreshed through refreshUrl", async () => {
    const p = s.page;
    // A URL another page has opened already (the app opens a launch once,
    // for the page that first opened it): the app answers session.expired.
    const res = await fetch(`${s.hostUrl}/vendor/launch`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ view: "start", locale: "en" }),
    });
    const { iframeUrl: used } = await res.json();
    const other = await p.context().newPage();
    await other.goto(used);
    await other.getByRole("heading", { level: 1, name: "Start a consultation" }).waitFor();
    await other.close();
    const refreshes = await p.evaluate(() => window.__refreshes);
    const readies = (await seen(p, "onReady")).length;
    await p.evaluate((u) => window.__reload(u), used);
    await waitSeen(p, "onExpired", { view: "consultation/start" });
    await waitFor("refreshUrl to be called", async () => (await p.evaluate(() => window.__refreshes)) > refreshes);
    await waitFor("the refreshed view to be ready", async () => (await seen(p, "onReady")).length > readies);
    assert.deepEqual(await seen(p, "onError"), [], "no refresh error");
  });

  test("messages from a foreign origin, or from the page itself, are ignored", async () => {
    const p = s.page;
    const counts = async () => ({
      ready: (await seen(p, "onReady")).length,
      events: (await seen(p, "onEvent")).length,
      expired: (await seen(p, "onExpired")).length,
      resize: (await seen(p, "onResize")).length,
    });
    const before = await counts();
    await p.evaluate(() => window.__spoof());
    await waitFor("the look-alikes to arrive", () => p.evaluate(() => {
      const app = document.body.getAttribute("data-app-origin");
      return window.__raw.filter((m) => m.origin !== app).length >= 5;
    }));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await counts(), before, "no callback for a foreign or own-window message");
    const ids = (await seen(p, "onEvent")).map((e) => e.id);
    assert.ok(!ids.includes("00000000-0000-4000-8000-00000000f00d"));
    const height = await p.evaluate(() => window.__frame().style.height);
    assert.notEqual(height, "9999px");
  });

  test("the demo vendor page mounts the app through the SDK", async () => {
    const demo = await s.page.context().newPage();
    await demo.goto(`http://localhost:${s.app.port}/demo`);
    assert.equal(await demo.evaluate(() => typeof window.Embedcare), "object");
    await demo.getByRole("button", { name: "Start a consultation for Ann Lee" }).click();
    const f = demo.frameLocator("#frame iframe[title=embedcare]");
    await f.getByRole("heading", { level: 1, name: "Start a consultation" }).waitFor();
    await demo.locator("#browser li", { hasText: "embed.ready" }).first().waitFor();
    await demo.close();
  });
});
