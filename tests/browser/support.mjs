// Helpers of the browser tests: the embedcare server (the real binary, on a
// fresh data directory), the vendor host (a tiny node server), the bus
// subscription (/dev/events), and waiting without sleeping blindly.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, "../..");
export const ARTIFACTS = path.join(HERE, "artifacts");

/** The embedcare binary: EMBEDCARE_BIN, else $CARGO_TARGET_DIR/debug/embedcare. */
export function embedcareBin() {
  if (process.env.EMBEDCARE_BIN) return path.resolve(process.env.EMBEDCARE_BIN);
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
    : path.join(ROOT, "target");
  return path.join(target, "debug", "embedcare");
}

export function chromiumPath() {
  return process.env.CHROMIUM_BIN || "/usr/bin/chromium";
}

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function freshArtifacts() {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `probe` (sync or async; a truthy result ends the wait). */
export async function waitFor(what, probe, { timeout = 10_000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Starts `embedcare --data-dir <tmp> serve --addr 127.0.0.1:<port>
 * --allow-origin <origin>…` and waits until it answers and has written
 * demo.json. Returns {baseUrl, demo, dataDir, stop()}.
 */
export async function startEmbedcare({ allowOrigins, logFile }) {
  const bin = embedcareBin();
  if (!existsSync(bin)) {
    throw new Error(
      `embedcare binary not found at ${bin}. Build it first (cargo build -p embedcare, ` +
        `with the same CARGO_TARGET_DIR) or point EMBEDCARE_BIN at it.`,
    );
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "embedcare-browser-"));
  const port = await freePort();
  const args = ["--data-dir", dataDir, "serve", "--addr", `127.0.0.1:${port}`];
  for (const o of allowOrigins) args.push("--allow-origin", o);
  const log = createWriteStream(logFile);
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      AWS_EC2_METADATA_DISABLED: "true",
      EMBEDCARE_STORE: "embedded",
      EMBEDCARE_LOG: process.env.EMBEDCARE_LOG || "info",
    },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  const exit = new Promise((resolve) => child.on("exit", (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const killOnExit = () => { try { child.kill("SIGKILL"); } catch { /* gone */ } };
  process.on("exit", killOnExit);

  async function stop() {
    process.off("exit", killOnExit);
    if (!exited) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(t);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }

  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor("embedcare to listen and write demo.json", async () => {
      if (exited) throw new Error(`embedcare exited early (${JSON.stringify(exited)}); see ${logFile}`);
      if (!existsSync(path.join(dataDir, "demo.json"))) return false;
      const res = await fetch(`${baseUrl}/dev/messages`);
      return res.ok;
    }, { timeout: 20_000, interval: 100 });
  } catch (e) {
    await stop();
    throw e;
  }
  const demo = JSON.parse(readFileSync(path.join(dataDir, "demo.json"), "utf8"));
  return { baseUrl, port, demo, dataDir, stop };
}

/**
 * Subscribes to the local bus (`/dev/events`, server-sent events named
 * `bus`). Returns {events, close()}; `events` fills as they arrive.
 */
export async function subscribeBus(baseUrl) {
  const events = [];
  const ctrl = new AbortController();
  const res = await fetch(`${baseUrl}/dev/events`, {
    headers: { Accept: "text/event-stream" },
    signal: ctrl.signal,
  });
  if (!res.ok) throw new Error(`/dev/events answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let name = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (name === "bus" && data.length) events.push(JSON.parse(data.join("\n")));
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") throw e;
    }
  })();
  return {
    events,
    async close() {
      ctrl.abort();
      await pump.catch(() => {});
    },
  };
}

/**
 * The vendor host: serves host.html and host.js, and POST /vendor/launch
 * {view: start|answer|details, locale} → {iframeUrl}, calling the
 * embedcare API server side with the API key (configure() it once
 * embedcare runs). Listens on 127.0.0.1 (and
 * ::1 when there is one), so that both http://localhost:PORT and
 * http://127.0.0.1:PORT reach it — two different origins.
 */
/** What the look-alike page posts to its parent, to any origin. */
const LOOK_ALIKE = `
  var fake = {id: "00000000-0000-4000-8000-00000000f00d", createdAt: "2026-01-01T00:00:00.000Z",
              eventType: "consultation", operation: "update", status: "DONE", tenantKey: "demo", data: {}};
  function post() {
    parent.postMessage({type: "embed.ready", view: "consultation/details", tenantKey: "demo"}, "*");
    parent.postMessage({type: "embed.resize", height: 9999}, "*");
    parent.postMessage({type: "session.expired", view: "consultation/start", tenantKey: "demo"}, "*");
    parent.postMessage(fake, "*");
  }
  post();
  setTimeout(post, 200);
`;

export async function startVendorHost({ patient, page: pageFile = "host.html", script = "host.js" }) {
  // The app's address and the key are known once embedcare runs, and
  // embedcare needs this host's origin first (--allow-origin): configure().
  let appBaseUrl = null;
  let apiKey = null;
  const page = readFileSync(path.join(HERE, "host", pageFile), "utf8");
  const js = readFileSync(path.join(HERE, "host", script), "utf8");
  const patientKey = patient.keys[0].key;
  const api = (p, init = {}) => fetch(`${appBaseUrl}${p}`, {
    ...init,
    headers: { "Api-key": apiKey, Accept: "application/json", ...(init.headers || {}) },
  });
  const calls = [];

  async function launch(view, locale) {
    let res;
    if (view === "start") {
      res = await api("/embeddable/consultation/create", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ patient, locale }),
      });
    } else if (view === "answer") {
      const q = new URLSearchParams({ patientKey, locale });
      res = await api(`/embeddable/consultation/answer?${q}`);
    } else if (view === "details") {
      res = await api("/embeddable/consultation/view", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ patientKey, locale }),
      });
    } else {
      return { status: 400, body: { message: `unknown view ${view}` } };
    }
    const body = await res.json();
    calls.push({ view, locale, status: res.status, body });
    return { status: res.status, body: res.ok ? { iframeUrl: body.iframeUrl } : body };
  }

  const handler = async (req, res) => {
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", ...extra });
      res.end(body);
    };
    try {
      if (!appBaseUrl) return send(503, "text/plain", "not configured");
      const url = new URL(req.url, "http://host");
      if (req.method === "GET" && (url.pathname === "/" || url.pathname === "/host.html")) {
        // The page may load the app's SDK (script-src) and frame the app,
        // and a page of its other origin (the look-alike of the SDK test).
        const other = `http://127.0.0.1:${port}`;
        return send(200, "text/html; charset=utf-8", page.replaceAll("{{APP_ORIGIN}}", appBaseUrl).replaceAll("{{FOREIGN_ORIGIN}}", other), {
          "Content-Security-Policy": `default-src 'self'; script-src 'self' ${appBaseUrl}; frame-src ${appBaseUrl} ${other}; style-src 'self' 'unsafe-inline'`,
        });
      }
      if (req.method === "GET" && url.pathname === "/host.js") {
        return send(200, "text/javascript; charset=utf-8", js);
      }
      // A page of another origin that posts look-alikes of the app's messages.
      if (req.method === "GET" && url.pathname === "/look-alike.html") {
        return send(200, "text/html; charset=utf-8",
          '<!doctype html><title>look-alike</title><script src="/look-alike.js"></script>');
      }
      if (req.method === "GET" && url.pathname === "/look-alike.js") {
        return send(200, "text/javascript; charset=utf-8", LOOK_ALIKE);
      }
      if (req.method === "POST" && url.pathname === "/vendor/launch") {
        let raw = "";
        for await (const chunk of req) raw += chunk;
        const { view, locale = "en" } = JSON.parse(raw || "{}");
        const r = await launch(view, locale);
        return send(r.status, "application/json", JSON.stringify(r.body));
      }
      if (url.pathname === "/favicon.ico") return send(204, "text/plain", "");
      return send(404, "text/plain", "not found");
    } catch (e) {
      return send(500, "application/json", JSON.stringify({ message: String(e) }));
    }
  };

  const v4 = http.createServer(handler);
  await new Promise((resolve, reject) => {
    v4.once("error", reject);
    v4.listen(0, "127.0.0.1", resolve);
  });
  const { port } = v4.address();
  const servers = [v4];
  const v6 = http.createServer(handler);
  await new Promise((resolve) => {
    v6.once("error", () => resolve()); // no IPv6 loopback: 127.0.0.1 serves localhost
    v6.listen(port, "::1", () => { servers.push(v6); resolve(); });
  });
  return {
    port,
    calls,
    configure(app, key) {
      appBaseUrl = app;
      apiKey = key;
    },
    async stop() {
      await Promise.all(servers.map((s) => new Promise((r) => {
        s.closeAllConnections?.();
        s.close(() => r());
      })));
    },
  };
}
