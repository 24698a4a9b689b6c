// The visit's video in Chromium (issue 12), on the embedded default
// (WebRTC peer to peer, signalling over the visit's live socket): a
// patient (SSO → /visits/start/{id}) and the provider (GET
// /embeddable/visits/room?visitId=…, an employee launch naming the
// provider) in two browser contexts with fake media devices join one
// started visit, and each receives the other's video (a frame decoded:
// videoWidth > 0); mute and camera off act on the local tracks; presence
// shows both connected and, when one closes its page, the other sees
// DISCONNECTED (the presence branch's frames); a patient whose camera
// and microphone are refused still has the chat, and is told so.
//
//   node --test tests/browser/video.test.mjs        (EMBEDCARE_BIN, CHROMIUM_BIN override)
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath, startEmbedcare } from "./support.mjs";

const WAIT = 20_000;
const PROVIDER = "dr-martin";
const MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"];

const s = { app: null, browser: null, refusing: null, patient: null, provider: null, visitId: null };

/** The vendor server's calls, with the demo API key. */
async function api(p, init = {}) {
  const res = await fetch(`${s.app.baseUrl}${p}`, {
    ...init,
    headers: { "Api-key": s.app.demo.apiKey, Accept: "application/json", "Content-Type": "application/json", ...(init.headers || {}) },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${p}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}
const asProvider = { "x-integration-user": Buffer.from(JSON.stringify({ userId: PROVIDER })).toString("base64") };

/** A patient signed in by the portal, a walk-in, started by the provider: the patient's /auth URL. */
async function startedVisit(key) {
  const sso = await api("/v2/patients/sso", {
    method: "POST",
    body: JSON.stringify({ patient: { keys: [{ subSystem: "portal", key }], firstName: "Ana", lastName: "Lopez" } }),
  });
  const intake = await api("/v2/intakes", {
    method: "POST",
    body: JSON.stringify({ patientId: sso.patientId, reasonForVisit: "Sore throat", type: "WALKIN", roomCode: "clinic" }),
  });
  const visit = await api("/v2/visits/walkin", { method: "POST", body: JSON.stringify({ intakeId: intake.intakeId }) });
  await api(`/v2/visits/${visit.visitId}/start`, { method: "POST", headers: asProvider });
  const q = new URLSearchParams({ sso_token: sso.token.token, next: `/visits/start/${visit.visitId}`, locale: "en" });
  return { url: `${s.app.baseUrl}/auth?${q}`, visitId: visit.visitId };
}

/** Whether a remote video of the page decodes frames. */
const receiving = (page) => page.waitForFunction(
  () => [...document.querySelectorAll("#video-remotes video")].some((v) => v.videoWidth > 0),
  null,
  // ICE and the first decoded frame take longer on a loaded 2-core CI
  // machine than the other waits (seen: over 20 s once).
  { timeout: 3 * WAIT },
);

describe("the visit's video: a provider and a patient see each other", { timeout: 240_000 }, () => {
  before(async () => {
    const logs = mkdtempSync(path.join(os.tmpdir(), "embedcare-video-"));
    s.app = await startEmbedcare({ allowOrigins: [], logFile: path.join(logs, "embedcare.log") });
    s.browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_ARGS, ...MEDIA] });
    const patientContext = await s.browser.newContext({ locale: "en-CA" });
    const providerContext = await s.browser.newContext({ locale: "en-CA" });
    patientContext.setDefaultTimeout(WAIT);
    providerContext.setDefaultTimeout(WAIT);
    s.patient = await patientContext.newPage();
    s.provider = await providerContext.newPage();
  });

  after(async () => {
    await s.browser?.close().catch(() => {});
    await s.refusing?.close().catch(() => {});
    await s.app?.stop();
  });

  test("each receives the other's video; mute and camera off", async () => {
    const v = await startedVisit("video-1");
    s.visitId = v.visitId;
    await s.patient.goto(v.url);
    await s.patient.locator("#visit-status[data-status=IN_PROGRESS]").waitFor();
    await s.patient.locator("#video").waitFor();
    assert.ok(!s.patient.url().includes("sso_token"), s.patient.url());

    const launch = await api(`/embeddable/visits/room?visitId=${v.visitId}&locale=en`, { headers: asProvider });
    assert.ok(!launch.iframeUrl.includes("Ana"), launch.iframeUrl);
    await s.provider.goto(launch.iframeUrl);
    await s.provider.locator("#visit-status[data-status=IN_PROGRESS]").waitFor();
    await s.provider.locator("#video").waitFor();

    await receiving(s.patient);
    await receiving(s.provider);
    // The local preview is the fake camera.
    await s.patient.waitForFunction(() => document.getElementById("video-local").videoWidth > 0);

    // Mute and camera off act on the patient's own tracks.
    await s.patient.locator("#video-mute:not([disabled])").click();
    await s.patient.locator("#video-mute[aria-pressed=true]").waitFor();
    const audioOn = await s.patient.evaluate(() => document.getElementById("video-local").srcObject.getAudioTracks()[0].enabled);
    assert.equal(audioOn, false);
    await s.patient.locator("#video-camera").click();
    await s.patient.locator("#video-camera[aria-pressed=true]").waitFor();
    const videoOn = await s.patient.evaluate(() => document.getElementById("video-local").srcObject.getVideoTracks()[0].enabled);
    assert.equal(videoOn, false);
    await s.patient.locator("#video-camera").click();
    await s.patient.locator("#video-mute").click();

    // The chat is beside the video, and works.
    await s.patient.locator("#chat-text").fill("Can you see me?");
    await s.patient.locator("#chat-form button[type=submit]").click();
    await s.provider.locator("#chat-log li", { hasText: "Can you see me?" }).waitFor();
  });

  test("presence shows both connected, then the one who left DISCONNECTED", async () => {
    // ready.participants and the presence frames, drawn by presence.js in
    // #presence (the provider's page through video.js's own socket).
    await s.patient.locator("#presence li", { hasText: "PATIENT" }).waitFor();
    await s.patient.locator("#presence li", { hasText: "PRACTITIONER" }).waitFor();
    await s.provider.locator("#presence li", { hasText: "PATIENT" }).waitFor();
    await s.provider.close();
    await s.patient.locator("#presence li", { hasText: "DISCONNECTED" }).waitFor({ timeout: 60_000 });
  });

  test("with the camera and microphone refused, the chat still works and the page says so", async () => {
    // A browser that refuses the devices (no fake UI: the prompt is denied).
    s.refusing = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: [...CHROMIUM_ARGS, "--use-fake-device-for-media-stream"],
    });
    const context = await s.refusing.newContext({ locale: "en-CA" });
    context.setDefaultTimeout(WAIT);
    const page = await context.newPage();
    const v = await startedVisit("video-2");
    await page.goto(v.url);
    await page.locator("#visit-status[data-status=IN_PROGRESS]").waitFor();
    await page.locator("#video-note", { hasText: "not available" }).waitFor();
    assert.equal(await page.locator("#video-mute").isDisabled(), true);
    assert.equal(await page.locator("#video-camera").isDisabled(), true);
    await page.locator("#chat-text").fill("No camera here");
    await page.locator("#chat-form button[type=submit]").click();
    await page.locator("#chat-log li", { hasText: "No camera here" }).waitFor();
  });
});
