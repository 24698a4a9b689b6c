// The walk-in flow of the patient side in Chromium (issue 11): a vendor's
// patient portal on another origin, whose server signs its patient in
// (POST /v2/patients/sso with the API key) and makes the intake and the
// walk-in through the API, frames /auth?sso_token=…&next=/visits/start/{id};
// the provider's waiting room, launched through
// GET /embeddable/visits/waiting-room in a second browser context (framed
// by the portal's provider page), starts the visit; the patient's frame
// shows the room; a chat message goes each way; and the messages the
// provider's page posts to the portal are the bus events, by id.
//
//   node --test tests/browser/walkin.test.mjs        (EMBEDCARE_BIN, CHROMIUM_BIN override)
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath, startEmbedcare, subscribeBus, waitFor } from "./support.mjs";

const WAIT = 15_000;
const PROVIDER = "dr-martin";

// The portal's two pages: each asks its own server for what to frame, then
// records every message it receives (with its origin).
const PAGE = (what) => `<!doctype html><html><head><meta charset="utf-8"><title>portal ${what}</title>
<script src="/portal.js" data-what="${what}" defer></script></head>
<body><h1>Vendor portal: ${what}</h1><div id="slot"></div></body></html>`;
const PORTAL_JS = `
(function () {
  var what = document.currentScript.getAttribute("data-what");
  window.__messages = [];
  window.addEventListener("message", function (e) {
    window.__messages.push({ origin: e.origin, data: e.data });
  });
  fetch("/portal/" + what, { method: "POST" }).then(function (r) { return r.json(); }).then(function (b) {
    window.__launch = b;
    var f = document.createElement("iframe");
    f.title = "embedcare"; f.src = b.url; f.width = "900"; f.height = "700";
    document.getElementById("slot").appendChild(f);
  });
})();
`;

/** The vendor's portal: its pages, and its server's calls with the API key. */
async function startPortal() {
  let app = null;
  let key = null;
  const made = [];
  const api = async (p, init = {}) => {
    const res = await fetch(`${app}${p}`, {
      ...init,
      headers: { "Api-key": key, Accept: "application/json", "Content-Type": "application/json", ...(init.headers || {}) },
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`${p}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  async function patient() {
    const sso = await api("/v2/patients/sso", {
      method: "POST",
      body: JSON.stringify({ patient: { keys: [{ subSystem: "portal", key: "walkin-1" }], firstName: "Ana", lastName: "Lopez" } }),
    });
    const intake = await api("/v2/intakes", {
      method: "POST",
      body: JSON.stringify({ patientId: sso.patientId, reasonForVisit: "Sore throat", type: "WALKIN", roomCode: "clinic" }),
    });
    const visit = await api("/v2/visits/walkin", { method: "POST", body: JSON.stringify({ intakeId: intake.intakeId }) });
    made.push(visit);
    const q = new URLSearchParams({ sso_token: sso.token.token, next: `/visits/start/${visit.visitId}`, locale: "en" });
    return { url: `${app}/auth?${q}`, visitId: visit.visitId };
  }
  async function provider() {
    const user = Buffer.from(JSON.stringify({ userId: PROVIDER })).toString("base64");
    const launch = await api("/embeddable/visits/waiting-room?roomCode=clinic&locale=en", {
      headers: { "x-integration-user": user },
    });
    return { url: launch.iframeUrl };
  }
  const server = http.createServer(async (req, res) => {
    const send = (status, type, body) => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(body);
    };
    try {
      const url = new URL(req.url, "http://portal");
      if (req.method === "GET" && url.pathname === "/patient") return send(200, "text/html; charset=utf-8", PAGE("patient"));
      if (req.method === "GET" && url.pathname === "/provider") return send(200, "text/html; charset=utf-8", PAGE("provider"));
      if (req.method === "GET" && url.pathname === "/portal.js") return send(200, "text/javascript; charset=utf-8", PORTAL_JS);
      if (req.method === "POST" && url.pathname === "/portal/patient") return send(200, "application/json", JSON.stringify(await patient()));
      if (req.method === "POST" && url.pathname === "/portal/provider") return send(200, "application/json", JSON.stringify(await provider()));
      return send(404, "text/plain", "not found");
    } catch (e) {
      return send(500, "application/json", JSON.stringify({ message: String(e) }));
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    made,
    configure(a, k) { app = a; key = k; },
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

const s = { portal: null, app: null, bus: null, browser: null, patient: null, provider: null };
const messages = (p) => p.evaluate(() => window.__messages);

describe("the walk-in flow: portal SSO, waiting room, a provider starts it, chat both ways", { timeout: 180_000 }, () => {
  before(async () => {
    s.portal = await startPortal();
    const logs = mkdtempSync(path.join(os.tmpdir(), "embedcare-walkin-"));
    s.app = await startEmbedcare({ allowOrigins: [s.portal.origin], logFile: path.join(logs, "embedcare.log") });
    s.portal.configure(s.app.baseUrl, s.app.demo.apiKey);
    s.bus = await subscribeBus(s.app.baseUrl);
    s.browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    // Two contexts: the patient's browser and the provider's.
    const patientContext = await s.browser.newContext({ locale: "en-CA" });
    const providerContext = await s.browser.newContext({ locale: "en-CA" });
    patientContext.setDefaultTimeout(WAIT);
    providerContext.setDefaultTimeout(WAIT);
    s.patient = await patientContext.newPage();
    s.provider = await providerContext.newPage();
  });

  after(async () => {
    await s.browser?.close().catch(() => {});
    await s.bus?.close();
    await s.app?.stop();
    await s.portal?.stop();
  });

  test("the demo world has the room and its providers", () => {
    assert.equal(s.app.demo.roomCode, "clinic");
    assert.ok(s.app.demo.providerIds.includes(PROVIDER), JSON.stringify(s.app.demo));
  });

  test("the patient waits, the provider starts the visit, they chat, and the messages are the bus events", async () => {
    await s.patient.goto(`${s.portal.origin}/patient`);
    const patient = s.patient.frameLocator("#slot iframe[title=embedcare]");
    // The SSO token left the address bar; the waiting room shows the place.
    await patient.locator("#visit-status[data-status=WAITING]").waitFor();
    await patient.locator("#queue-position").filter({ hasText: "1" }).waitFor();
    const launch = await s.patient.evaluate(() => window.__launch);
    const visitId = launch.visitId;
    const frameUrl = s.patient.frames().find((f) => f.url().startsWith(s.app.baseUrl)).url();
    assert.ok(!frameUrl.includes("sso_token"), frameUrl);

    // The provider's waiting room, in another browser: the queue has her.
    await s.provider.goto(`${s.portal.origin}/provider`);
    const provider = s.provider.frameLocator("#slot iframe[title=embedcare]");
    const row = provider.locator(`#queue li[data-visit="${visitId}"]`);
    await row.waitFor();
    await row.getByText("Sore throat").waitFor();
    await row.getByRole("button", { name: "Start" }).click();
    // The provider lands in the visit's room; the patient's frame shows it.
    await provider.locator("#visit-status[data-status=IN_PROGRESS]").waitFor();
    await patient.locator("#visit-status[data-status=IN_PROGRESS]").waitFor({ timeout: WAIT });
    await patient.locator("#chat:not([hidden])").waitFor();
    // Presence: the patient's room lists its people from the live frames,
    // the patient among them, connected.
    await patient.locator("#presence li[data-status=JOINED]", { hasText: "(you)" }).waitFor({ timeout: WAIT });

    // Provider → patient.
    await provider.locator("#chat-text").fill("Hello Ana, how can I help?");
    await provider.getByRole("button", { name: "Send" }).click();
    await patient.locator("#chat-log li", { hasText: "Hello Ana, how can I help?" }).waitFor();
    // Patient → provider (the provider's page refreshes its live part).
    await patient.locator("#chat-text").fill("My throat hurts since Monday");
    await patient.locator("#chat-form button[type=submit]").click();
    await provider.locator("#chat-log li", { hasText: "My throat hurts since Monday" }).waitFor({ timeout: WAIT });

    // The provider's page posted the start to the portal, from the app's
    // origin: the very bus event (same id and body); the walk-in's creation
    // is on the bus too.
    const events = (await messages(s.provider))
      .filter((m) => m.data && m.data.eventType)
      .map((m) => { assert.equal(m.origin, s.app.baseUrl); return m.data; });
    const started = events.find((e) => e.eventType === "visit" && e.status === "IN_PROGRESS");
    assert.ok(started, JSON.stringify(events));
    await waitFor("the bus events of the page's messages", () =>
      events.every((e) => s.bus.events.some((b) => b.detail.id === e.id)));
    for (const e of events) {
      assert.deepEqual(s.bus.events.find((b) => b.detail.id === e.id).detail, e);
    }
    assert.ok(s.bus.events.some((b) => b.detail.eventType === "visit" && b.detail.operation === "create"
      && JSON.stringify(b.detail).includes(visitId)), "the walk-in's Visit Created");
    // The vendor's event list has them too, by id.
    const listed = await fetch(`${s.app.baseUrl}/v2/events?limit=100`, { headers: { "Api-key": s.app.demo.apiKey } });
    assert.equal(listed.status, 200);
    const ids = (await listed.json()).items.map((e) => e.id);
    assert.ok(ids.includes(started.id), `GET /v2/events lists ${started.id}`);
    // Nothing of the patient in the events.
    for (const e of events) assert.ok(!JSON.stringify(e).includes("Ana") && !JSON.stringify(e).includes("Sore"));
  });
});
