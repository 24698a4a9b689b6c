// Seed 000 in a real browser: a vendor host page (its own origin) frames
// the embedded app, the employee starts a consultation, the patient answers
// it, the employee views it; browser messages are checked against the bus.
// Then: the French pages, frame-ancestors on a host that is not allowed,
// the replay of a used launch URL, and what the app's pages post and fetch.
//
//   node --test tests/browser/        (EMBEDCARE_BIN, CHROMIUM_BIN override)
//
// Screenshots of every step land in tests/browser/artifacts/.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import {
  ARTIFACTS, CHROMIUM_ARGS, chromiumPath, freshArtifacts, startEmbedcare, startVendorHost,
  subscribeBus, waitFor,
} from "./support.mjs";

const WAIT = 10_000;
const PATIENT = {
  keys: [{ subSystem: "vendor-pms", key: "seed000-patient" }],
  firstName: "Ann",
  lastName: "Lee",
  dateOfBirth: "1958-03-14",
  sex: "female",
  email: "ann.lee.seed000@example.com",
  preferredLanguage: "EN",
};
const NOTE = "Started after a long car trip.";

const s = {
  // filled in before()
  app: null, host: null, bus: null, browser: null, context: null, patientContext: null,
  page: null, hostUrl: null, badHostUrl: null, appOrigin: null,
  // what the app's frames did
  appRequests: [], postTargets: [], console: [],
  // the walk
  startUrl: null, consultationId: null, walkEvents: [],
};

/** The app's iframe in a host page, for locators. */
const appFrame = (page) => page.frameLocator("#app");

/** The app's iframe as a Frame (URL, evaluate). */
async function appFrameHandle(page) {
  const el = await page.locator("#app").elementHandle();
  return el.contentFrame();
}

const messageCount = (page) => page.evaluate(() => window.__messages.length);

/** The walk's consultation's status, as the vendor API reads it. */
async function consultationStatus() {
  const r = await fetch(`${s.appOrigin}/v2/consultations/${s.consultationId}`, { headers: { "Api-key": s.app.demo.apiKey } });
  assert.equal(r.status, 200);
  return (await r.json()).status;
}

/** Waits for a message from the app's origin, from index `from` on, whose data contains `want`. */
async function waitMessage(page, want, from = 0, timeout = WAIT) {
  try {
    const handle = await page.waitForFunction(([f, w]) => window.__find(f, w), [from, want], { timeout });
    return (await handle.jsonValue()).data;
  } catch (e) {
    const seen = await page.evaluate(() => window.__messages.map((m) => m.data)).catch(() => "?");
    throw new Error(`no message like ${JSON.stringify(want)} (from #${from}); seen: ${JSON.stringify(seen)}\n${e.message}`);
  }
}

let shots = 0;
async function shot(page, name) {
  shots += 1;
  const file = path.join(ARTIFACTS, `${String(shots).padStart(2, "0")}-${name}.png`);
  // The whole page in the viewport (a fullPage capture resizes the view
  // under the out-of-process iframe mid-capture, which repaints it badly).
  const size = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.evaluate(() => window.scrollTo(0, 0));
  if (height > size.height) await page.setViewportSize({ width: size.width, height });
  await page.screenshot({ path: file });
  if (height > size.height) await page.setViewportSize(size);
  return file;
}

/** Records every request of the app's frames and where they post messages. */
async function instrument(context, label) {
  context.on("request", (req) => {
    let frame;
    try { frame = req.frame(); } catch { return; } // a worker's request
    const inApp = label === "patient" || frame.parentFrame() !== null;
    if (inApp) s.appRequests.push({ label, url: req.url(), frameUrl: frame.url() });
  });
  context.on("console", (m) => s.console.push({ label, type: m.type(), text: m.text(), url: m.location().url }));
  // The app posts with window.parent.postMessage(message, origin). `parent`
  // is [Replaceable]: in the app's frames, report each target origin to the
  // test and pass the call through unchanged.
  await context.exposeBinding("__reportPostTarget", (source, target) => {
    s.postTargets.push({ label, frameUrl: source.frame.url(), target });
  });
  await context.addInitScript((appOrigin) => {
    if (location.origin !== appOrigin || window.top === window) return;
    const real = window.parent;
    const parent = {
      postMessage(message, target, ...rest) {
        const t = typeof target === "string" ? target : target && target.targetOrigin;
        try { window.__reportPostTarget(t === undefined ? "(none)" : String(t)); } catch { /* not yet bound */ }
        return real.postMessage(message, target, ...rest);
      },
    };
    Object.defineProperty(window, "parent", { get: () => parent, configurable: true });
  }, s.appOrigin);
}

/**
 * Frames an employee's start view and a patient's answer view of one
 * franchise side by side in one vendor page, moves the employee inside the
 * session, reloads both frames, and checks each kept its own session.
 * Returns where the frames kept them: "sessionStorage" or "history".
 */
async function twoFrames(context) {
  const page = await context.newPage();
  await page.goto(`${s.hostUrl}/`);
  const launch = (view) => page.evaluate(async (v) => {
    const res = await fetch("/vendor/launch", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ view: v, locale: "en" }),
    });
    return (await res.json()).iframeUrl;
  }, view);
  const urls = { emp: await launch("start"), pat: await launch("answer") };
  await page.evaluate((u) => {
    for (const id of ["emp", "pat"]) {
      const f = document.createElement("iframe");
      f.id = id; f.title = id; f.src = u[id]; f.style.width = "100%"; f.style.height = "700px";
      document.body.append(f);
    }
  }, urls);
  const frameOf = async (id) => (await page.locator(`#${id}`).elementHandle()).contentFrame();
  const emp = page.frameLocator("#emp");
  const pat = page.frameLocator("#pat");
  const employeeHere = () => emp.getByText("Signed in as").waitFor();
  const patientHere = async () => {
    await pat.getByRole("heading", { level: 1, name: "Your consultation" }).waitFor();
    await pat.getByText("Which symptoms do you have?").waitFor();
    assert.equal(await pat.getByText("Signed in as").count(), 0, "the patient's frame has no employee header");
  };
  await emp.getByRole("heading", { level: 1, name: "Start a consultation" }).waitFor();
  await employeeHere();
  await patientHere();
  const [empFrame, patFrame] = [await frameOf("emp"), await frameOf("pat")];
  const names = [await empFrame.evaluate(() => window.name), await patFrame.evaluate(() => window.name)];
  assert.match(names[0], /^embedcare:[A-Za-z0-9_-]{43}$/);
  assert.notEqual(names[0], names[1], "each frame has its own nonce");
  const keys = await empFrame.evaluate(() => {
    try { return Object.keys(sessionStorage).filter((k) => k.startsWith("embedcare.session.")); } catch (e) { return null; }
  });
  if (keys) {
    // One tab, one app origin: the frames share sessionStorage, under two keys.
    for (const n of names) assert.ok(keys.includes(`embedcare.session.${n.slice(10)}`), `${n}: ${keys}`);
  }

  // The employee moves inside the session, then both frames reload.
  await emp.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Consultations" }).click();
  await emp.getByRole("heading", { level: 1, name: "Consultations" }).waitFor();
  const navigations = [];
  page.on("request", (req) => {
    if (!req.isNavigationRequest()) return;
    const f = req.frame();
    const id = f === empFrame ? "emp" : f === patFrame ? "pat" : null;
    if (id) navigations.push(`${id} ${req.method()} ${new URL(req.url()).pathname.split("/").slice(-2).join("/")}`);
  });
  for (const f of [patFrame, empFrame]) await f.evaluate(() => setTimeout(() => location.reload(), 0));
  await waitFor("both frames to come back", () => navigations.filter((n) => n.includes("POST")).length === 2);
  await emp.getByRole("heading", { level: 1, name: "Consultations" }).waitFor();
  await employeeHere();
  await patientHere();
  // A reload goes through the shell (GET) and its POST, never a replayed form.
  for (const id of ["emp", "pat"]) {
    const mine = navigations.filter((n) => n.startsWith(`${id} `)).map((n) => n.split(" ")[1]);
    assert.deepEqual(mine, ["GET", "POST"], `${id}: ${navigations}`);
  }
  assert.ok(navigations.includes("emp GET consultation/dashboard"), `${navigations}`);
  await shot(page, keys ? "two-frames-storage" : "two-frames-history");
  await page.close();
  return keys ? "sessionStorage" : "history";
}

describe("seed 000 in Chromium (vendor host ↔ embedded app ↔ bus)", { timeout: 120_000 }, () => {
  before(async () => {
    freshArtifacts();
    s.host = await startVendorHost({ patient: PATIENT });
    s.hostUrl = `http://localhost:${s.host.port}`;
    // The same server under another host name: another origin, not allowed.
    s.badHostUrl = `http://127.0.0.1:${s.host.port}`;
    s.app = await startEmbedcare({
      allowOrigins: [s.hostUrl],
      logFile: path.join(ARTIFACTS, "embedcare.log"),
    });
    s.appOrigin = s.app.baseUrl;
    assert.equal(s.app.demo.baseUrl, s.app.baseUrl, "demo.json's baseUrl is the served address");
    s.host.configure(s.app.baseUrl, s.app.demo.apiKey);
    s.bus = await subscribeBus(s.app.baseUrl);

    s.browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
    s.context = await s.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-CA" });
    s.context.setDefaultTimeout(WAIT);
    await instrument(s.context, "host");
    s.patientContext = await s.browser.newContext({ viewport: { width: 420, height: 800 }, locale: "en-CA" });
    s.patientContext.setDefaultTimeout(WAIT);
    await instrument(s.patientContext, "patient");
    s.page = await s.context.newPage();
    await s.page.goto(`${s.hostUrl}/`);
  });

  after(async () => {
    writeFileSync(path.join(ARTIFACTS, "record.json"), JSON.stringify({
      appOrigin: s.appOrigin,
      hostMessages: s.page ? await s.page.evaluate(() => window.__messages).catch(() => null) : null,
      bus: s.bus?.events,
      postTargets: s.postTargets,
      appRequests: s.appRequests,
      console: s.console,
      vendorCalls: s.host?.calls.map((c) => ({ view: c.view, locale: c.locale, status: c.status })),
    }, null, 2));
    await s.browser?.close().catch(() => {});
    await s.bus?.close();
    await s.app?.stop();
    await s.host?.stop();
  });

  test("1. vendor create → the start view in the iframe, embed.ready and embed.resize", async () => {
    const p = s.page;
    const from = await messageCount(p);
    await p.getByRole("button", { name: "Start a consultation" }).click();
    const ready = await waitMessage(p, { type: "embed.ready", view: "consultation/start", locale: "en", tenantKey: "demo" }, from);
    assert.ok(ready.patientId, "embed.ready names the patient");
    const resize = await waitMessage(p, { type: "embed.resize" }, from);
    assert.ok(Number.isFinite(resize.height) && resize.height > 100, `a height: ${resize.height}`);

    const f = appFrame(p);
    await f.getByRole("heading", { level: 1, name: "Start a consultation" }).waitFor();
    await f.getByText("Ann Lee").waitFor();
    s.startUrl = await p.evaluate(() => window.__launches.at(-1));
    assert.match(s.startUrl, new RegExp(`^${s.appOrigin}/en/embed/franchise/demo/consultation/start\\?session=[A-Za-z0-9_-]{43}$`));
    const frame = await appFrameHandle(p);
    await waitFor("the launch token to leave the address bar", () => !frame.url().includes("session="));
    await shot(p, "start-view");
  });

  test("2. the employee picks a reason and sends it → consultation/create SENT", async () => {
    const p = s.page;
    const f = appFrame(p);
    const from = await messageCount(p);
    const reasons = f.getByRole("group", { name: "Choose the reason for the consultation" });
    await reasons.getByRole("radio", { name: "Urinary tract infection (cystitis)" }).check();
    await f.getByRole("button", { name: "Send to the patient" }).click();
    const created = await waitMessage(p, { eventType: "consultation", operation: "create", status: "SENT", tenantKey: "demo" }, from);
    assert.ok(created.id && created.data.consultationId, "the event has an id and the consultation's");
    assert.equal(created.data.previousStatus, null);
    s.consultationId = created.data.consultationId;
    s.walkEvents.push(created);
    // The page then shows the new consultation.
    await waitMessage(p, { type: "embed.ready", view: "consultation/details" }, from);
    await f.getByText("Urinary tract infection (cystitis)").first().waitFor();
    await shot(p, "sent");
  });

  test("3. the patient: the e-mailed link opens the questionnaire; the portal answers it", async () => {
    const p = s.page;
    const f = appFrame(p);
    // (a) the local notifier "e-mailed" the patient a link.
    const mail = await waitFor("the notifier's message to the patient", async () => {
      const body = await (await fetch(`${s.appOrigin}/dev/messages`)).json();
      return body.messages.find((m) => m.to === PATIENT.email && m.link);
    });
    assert.match(mail.link, new RegExp(`^${s.appOrigin}/en/embed/franchise/demo/consultation/answer\\?session=`));
    assert.ok(mail.text.includes(mail.link), "the e-mail's text carries the link");

    // (a, continued) A mail gateway fetches the link first: HEAD, then GET
    // without running the page's script. Neither redeems it nor opens the
    // consultation; the answer is the shell, which holds nothing.
    const head = await fetch(mail.link, { method: "HEAD" });
    assert.equal(head.status, 200);
    const scanned = await fetch(mail.link);
    assert.equal(scanned.status, 200);
    const shell = await scanned.text();
    assert.ok(shell.includes('"state":"shell"'), "the entry shell");
    assert.ok(!shell.includes("symptoms") && !shell.includes(s.hostUrl), "the shell holds nothing");
    assert.equal(await consultationStatus(), "SENT");

    // The patient's own browser runs the script: the link opens, once, and
    // showing the questionnaire moves nothing.
    const mailPage = await s.patientContext.newPage();
    const mailRequests = [];
    mailPage.on("request", (r) => mailRequests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    const res = await mailPage.goto(mail.link);
    assert.equal(res.status(), 200);
    await mailPage.getByRole("heading", { level: 1, name: "Your consultation" }).waitFor();
    await mailPage.getByRole("button", { name: "Send my answers" }).waitFor();
    assert.ok(await mailPage.getByRole("button", { name: "Send my answers" }).isEnabled(), "ready for answers");
    await waitFor("the e-mailed link's token to leave the address bar", () => !mailPage.url().includes("session="));
    const answerPath = new URL(mail.link).pathname;
    assert.deepEqual(mailRequests.filter((r) => r.endsWith(answerPath)), [`GET ${answerPath}`, `POST ${answerPath}`],
      "the shell (GET), then its POST");
    assert.equal(await consultationStatus(), "SENT", "shown, not opened");
    await shot(mailPage, "emailed-link-questionnaire");
    const again = await s.patientContext.newPage();
    await again.goto(mail.link);
    await again.getByRole("heading", { level: 1, name: "This link has expired" }).waitFor();
    await again.close();
    await mailPage.close();

    // (b) the vendor's patient portal frames the answer view: showing it
    // changes nothing; the patient's first action opens the consultation
    // (SENT → IN_PROGRESS).
    let from = await messageCount(p);
    await p.getByRole("button", { name: "Patient portal: answer" }).click();
    await waitMessage(p, { type: "embed.ready", view: "consultation/answer" }, from);
    await f.getByRole("heading", { level: 1, name: "Your consultation" }).waitFor();
    await shot(p, "portal-questionnaire");
    assert.equal(await consultationStatus(), "SENT", "the portal's display opened nothing");
    assert.ok(!(await p.evaluate((i) => window.__messages.slice(i).some((m) => m.data.eventType), from)),
      "no event on display");
    await f.getByRole("checkbox", { name: "Burning when urinating" }).check();
    const opened = await waitMessage(p, {
      eventType: "consultation", operation: "update", status: "IN_PROGRESS",
      data: { consultationId: s.consultationId, previousStatus: "SENT" },
    }, from);
    s.walkEvents.push(opened);
    assert.equal(await consultationStatus(), "IN_PROGRESS");

    // The patient answers every required question in the portal, and sends.
    from = await messageCount(p);
    const form = f.locator("form.questionnaire");
    await f.getByRole("checkbox", { name: "Urinating more often" }).check();
    await f.getByLabel(/For how many days have you had these symptoms\?/).fill("3");
    const yesNo = [
      [/Do you have a fever/, "No"],
      [/Do you have pain in your back or side\?/, "No"],
      [/Are you pregnant or could you be\?/, "No"],
      [/urinary infection in the last 6 months\?/, "Yes"],
    ];
    for (const [question, answer] of yesNo) {
      await form.getByRole("group", { name: question }).getByRole("radio", { name: answer, exact: true }).check();
    }
    await f.getByLabel("Anything else the pharmacist should know?").fill(NOTE);
    await shot(p, "answers-filled");
    await f.getByRole("button", { name: "Send my answers" }).click();
    const answered = await waitMessage(p, {
      eventType: "consultation", operation: "update", status: "TO_BE_ANALYZED",
      data: { consultationId: s.consultationId, previousStatus: "IN_PROGRESS" },
    }, from);
    s.walkEvents.push(answered);
    // The page then shows the patient's thanks.
    await waitMessage(p, { type: "embed.ready", view: "consultation/answer" }, from);
    await f.getByRole("status").getByRole("heading", { name: "Thank you" }).waitFor();
    await f.getByText("Your answers were sent to your pharmacist.").waitFor();
    await shot(p, "answered");
  });

  test("4. vendor view → the details show the answers", async () => {
    const p = s.page;
    const f = appFrame(p);
    const from = await messageCount(p);
    await p.getByRole("button", { name: "Consultation details" }).click();
    await waitMessage(p, { type: "embed.ready", view: "consultation/details" }, from);
    const main = f.locator("#embed-main");
    await main.getByText("Urinary tract infection (cystitis)").first().waitFor();
    for (const text of [
      "Which symptoms do you have?",
      "Burning when urinating",
      "Urinating more often",
      "Do you have a fever (38 °C or more) or chills?",
      NOTE,
    ]) {
      await main.getByText(text, { exact: false }).first().waitFor({ timeout: WAIT });
    }
    assert.ok(!(await main.innerText()).includes("burning\n"), "answers show their labels, not their codes");
    await shot(p, "details");
  });

  test("5. every browser consultation event has the bus event's id, and back", async () => {
    const p = s.page;
    const browserEvents = (await p.evaluate(() => window.__messages.map((m) => m.data)))
      .filter((d) => d && d.eventType);
    assert.deepEqual(
      browserEvents.map((e) => `${e.operation}:${e.status}`),
      ["create:SENT", "update:IN_PROGRESS", "update:TO_BE_ANALYZED"],
      "the host saw each change once, in order",
    );
    await waitFor("the walk's events on the bus", () =>
      browserEvents.every((e) => s.bus.events.some((b) => b.detail && b.detail.id === e.id)));
    const bus = s.bus.events;
    for (const e of browserEvents) {
      const twin = bus.find((b) => b.detail.id === e.id);
      assert.equal(twin.source, "embedcare");
      assert.equal(twin["detail-type"], e.operation === "create" ? "Consultation Created" : "Consultation Updated");
      assert.deepEqual(twin.detail, e, `the browser message is the bus event's body, unchanged (${e.id})`);
    }
    for (const b of bus) {
      assert.ok(browserEvents.some((e) => e.id === b.detail.id),
        `bus event ${b["detail-type"]} ${b.detail.id} has a browser twin`);
    }
    // Events carry identifiers, never names, contact details or answers.
    const all = JSON.stringify([browserEvents, bus]);
    for (const personal of [PATIENT.firstName, PATIENT.lastName, PATIENT.email, PATIENT.dateOfBirth, NOTE]) {
      assert.ok(!all.includes(personal), `no "${personal}" in events`);
    }
  });

  test("6. the first step in French renders French text", async () => {
    const p = s.page;
    const f = appFrame(p);
    const from = await messageCount(p);
    await p.getByLabel("Language").selectOption("fr");
    await p.getByRole("button", { name: "Start a consultation" }).click();
    await waitMessage(p, { type: "embed.ready", view: "consultation/start", locale: "fr" }, from);
    const frame = await appFrameHandle(p);
    assert.equal(await frame.evaluate(() => document.documentElement.lang), "fr");
    const h1 = await f.getByRole("heading", { level: 1 }).innerText();
    assert.notEqual(h1.trim(), "Start a consultation", "the title is French");
    await f.getByRole("group", { name: "Choisissez le motif de la consultation" })
      .getByRole("radio", { name: "Infection urinaire (cystite)" }).waitFor();
    await f.getByRole("button", { name: "Envoyer au patient" }).waitFor();
    await f.getByText("Veuillez confirmer le ou la patient·e avant de continuer.").waitFor();
    const text = await f.locator("#embed-root").innerText();
    for (const english of ["Send to the patient", "Choose the reason", "Save as draft", "Signed in as"]) {
      assert.ok(!text.includes(english), `no English "${english}" on the French page`);
    }
    await shot(p, "start-view-fr");
    await p.getByLabel("Language").selectOption("en");
  });

  test("7. a host origin that is not allowed cannot frame the app (frame-ancestors)", async () => {
    const bad = await s.context.newPage();
    const refusals = [];
    bad.on("console", (m) => { if (m.text().includes("frame-ancestors")) refusals.push(m.text()); });
    await bad.goto(`${s.badHostUrl}/`);
    await bad.getByRole("button", { name: "Start a consultation" }).click();
    await waitFor("the fresh launch URL", () => bad.evaluate(() => window.__launches.length === 1));
    const frame = await appFrameHandle(bad);
    await waitFor("Chromium to refuse the frame", () =>
      refusals.length > 0 || frame.url().startsWith("chrome-error://"));
    assert.ok(!frame.url().startsWith(s.appOrigin), `the frame is not the app's page: ${frame.url()}`);
    const reached = await frame.evaluate(() => !!document.getElementById("embed-context")).catch(() => false);
    assert.equal(reached, false, "the app's page never ran in the refused frame");
    await waitFor("the console's frame-ancestors report", () => refusals.length > 0, { timeout: 5_000 });
    assert.match(refusals[0], new RegExp(s.hostUrl.replace(/[.:/]/g, "\\$&")), "the report names the allowed origin");
    assert.deepEqual(await bad.evaluate(() => window.__messages), [], "nothing was posted to the host");
    await shot(bad, "csp-refused");
    await bad.close();
  });

  test("8. replaying a used launch URL shows the expired page and posts session.expired", async () => {
    const p = s.page;
    const f = appFrame(p);
    const from = await messageCount(p);
    await p.evaluate((url) => window.__load(url), s.startUrl);
    const expired = await waitMessage(p, { type: "session.expired", view: "consultation/start", tenantKey: "demo" }, from);
    assert.deepEqual(Object.keys(expired).sort(), ["tenantKey", "type", "view"]);
    await f.getByRole("heading", { level: 1, name: "This link has expired" }).waitFor();
    const frame = await appFrameHandle(p);
    await waitFor("the used token to leave the address bar", () => !frame.url().includes("session="));
    await shot(p, "replay-expired");
  });

  // app.js reports the content's height, not document.documentElement's
  // scrollHeight (never less than the iframe's own height), so a host can
  // shrink the frame again for a shorter page after a long one.
  test("8b. embed.resize lets the host shrink the frame for a shorter page", async () => {
    const p = s.page;
    const frame = await appFrameHandle(p);
    const content = await frame.evaluate(() =>
      Math.ceil(document.getElementById("embed-root").getBoundingClientRect().bottom));
    const last = await p.evaluate(() => window.__messages.filter((m) => m.data.type === "embed.resize").at(-1).data.height);
    const frameHeight = await p.locator("#app").evaluate((el) => el.clientHeight);
    assert.ok(last <= content + 48,
      `the expired page's content ends at ${content}px but the last embed.resize said ${last}px (frame: ${frameHeight}px)`);
  });

  // Two frames of one franchise in one tab share the app origin's
  // sessionStorage: each keeps its session under its own key (a nonce in
  // window.name). Where a browser denies storage to third-party frames,
  // the frame's history state keeps it. Both, in both kinds of browser.
  test("10. two frames of one franchise in one tab (employee, patient) keep their own sessions across reloads", async () => {
    // A consultation awaiting the patient, so that the patient's frame has a questionnaire.
    const r = await fetch(`${s.appOrigin}/v2/consultations`, {
      method: "POST",
      headers: { "Api-key": s.app.demo.apiKey, "Content-Type": "application/json" },
      body: JSON.stringify({ patient: PATIENT, reason: "uti" }),
    });
    assert.equal(r.status, 201);
    // This Chromium denies storage to third-party frames by default; with
    // TrackingProtection3pcd off it allows it (partitioned), as most browsers do.
    const open = await chromium.launch({
      executablePath: chromiumPath(), headless: true,
      args: [...CHROMIUM_ARGS, "--disable-features=TrackingProtection3pcd"],
    });
    try {
      const modes = new Set();
      for (const browser of [s.browser, open]) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-CA" });
        context.setDefaultTimeout(WAIT);
        modes.add(await twoFrames(context));
        await context.close();
      }
      assert.ok(modes.has("sessionStorage"), `the per-frame storage keys were exercised: ${[...modes]}`);
    } finally {
      await open.close();
    }
  });

  test("9. the app posts to allowed origins only and fetches from its own origin only", async () => {
    const allowed = [`http://localhost:${s.app.port}`, `http://127.0.0.1:${s.app.port}`, s.hostUrl];
    assert.ok(s.postTargets.length > 0, "the postMessage calls were observed");
    for (const t of s.postTargets) {
      assert.notEqual(t.target, "*", `a wildcard post from ${t.frameUrl}`);
      assert.ok(allowed.includes(t.target), `post target ${t.target} is an allowed origin`);
    }
    assert.deepEqual(await s.page.evaluate(() => window.__ignored), [],
      "the host received no message from another origin");
    assert.ok(s.appRequests.length > 0, "the app's requests were observed");
    const foreign = s.appRequests.filter((r) => new URL(r.url).origin !== s.appOrigin);
    assert.deepEqual(foreign, [], "the app's pages request nothing from another origin");
  });
});
