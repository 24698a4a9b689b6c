// Type declarations of embedcare.js (the host-page SDK) and of the messages
// embedcare's embedded pages post to their host.
//
// embedcare.js defines a global `Embedcare` (it is loaded by a classic
// <script> or imported for its effect: `import "…/embedcare.js"`). This file
// declares that global and exports the types:
//
//   /// <reference path="./embedcare.d.ts" />           (global use), or
//   import type { MountOptions, ChangeEvent } from "./embedcare";

/** The page's view, as `area/view`: "consultation/start", "consultation/details", … */
export type ViewPath = string;

/** Posted once a page has loaded with a valid session. */
export interface ReadyMessage {
  type: "embed.ready";
  view: ViewPath;
  tenantKey: string;
  locale: string;
  userId: string;
  patientId?: string;
  consultationId?: string;
  followupId?: string;
  [key: string]: unknown;
}

/** Posted whenever the content's height changes (CSS pixels). */
export interface ResizeMessage {
  type: "embed.resize";
  height: number;
}

/** Posted when the launch URL was already used or has expired. */
export interface ExpiredMessage {
  type: "session.expired";
  tenantKey: string;
  view: ViewPath;
}

/** Posted when the user leaves a flow (e.g. a visit room). */
export interface ExitMessage {
  type: "embed.exit";
  reason: string;
  [key: string]: unknown;
}

/**
 * A change (consultation, follow-up, franchise…): the same body, with the
 * same `id`, as the event on the bus and on every other channel. It has no
 * `type`.
 */
export interface ChangeEvent<D = Record<string, unknown>> {
  /** The event's id: the same as the bus event's. */
  id: string;
  /** ISO 8601, UTC, milliseconds. */
  createdAt: string;
  eventType: "consultation" | "followup" | "franchise" | (string & {});
  operation: "create" | "update" | (string & {});
  /** The entity's status after the change (e.g. "SENT", "TO_BE_ANALYZED"). */
  status: string;
  tenantKey: string;
  /** Identifiers and the change's facts (e.g. consultationId, previousStatus); never personal data. */
  data: D;
}

/** Every message a page may post to its host. */
export type AppMessage = ReadyMessage | ResizeMessage | ExpiredMessage | ExitMessage | ChangeEvent;

/** Features the frame may be granted (to `appOrigin` only). */
export type FrameFeature = "camera" | "microphone" | "fullscreen" | "display-capture" | "autoplay";

/** What `onError` receives: an Error with one of these codes. */
export interface EmbedcareError extends Error {
  code:
    | "refresh-limit" // expired again after 3 refreshes within a minute: not refreshed
    | "refresh-refused" // refreshUrl gave a URL that is not of appOrigin: not loaded
    | "refresh-failed"; // refreshUrl threw or its promise rejected
  cause?: unknown;
}

/** A new single-use iframe URL: the URL itself, or the launch answer `{iframeUrl}`. */
export type RefreshedUrl = string | URL | { iframeUrl: string };

export interface MountOptions {
  /** The single-use iframeUrl the vendor's server received from embedcare. Must be of `appOrigin`. */
  url: string | URL;
  /**
   * The app's origin, exactly as a browser writes it: "https://host" or
   * "https://host:port" (no path, no trailing slash). Messages from any
   * other origin, or from any other window, are ignored.
   */
  appOrigin: string;
  /**
   * Called after `onExpired` when the page's URL was used or expired, with
   * the same info (its `view` says which view to launch again): ask the
   * vendor's own server for a new URL. The result must be of
   * `appOrigin`, else it is refused (`onError`, code "refresh-refused").
   * At most 3 refreshes a minute; past that, `onExpired` only.
   */
  refreshUrl?: (expired: ExpiredMessage) => RefreshedUrl | Promise<RefreshedUrl>;
  onReady?: (info: ReadyMessage) => void;
  onEvent?: (event: ChangeEvent) => void;
  onExpired?: (info: ExpiredMessage) => void;
  /** The frame's new height in CSS pixels, after clamping to [minHeight, maxHeight]. */
  onResize?: (height: number) => void;
  onExit?: (info: ExitMessage) => void;
  /** A refresh that was refused, failed or rate-limited. Without it, `console.error`. */
  onError?: (error: EmbedcareError) => void;
  /** The frame's accessible name. Default "embedcare". */
  title?: string;
  /** Features to grant the frame (camera, microphone…), to `appOrigin` only. Default none. */
  allow?: FrameFeature | FrameFeature[];
  /** Bounds of the frame's height in CSS pixels. Defaults 150 and 10000. */
  minHeight?: number;
  maxHeight?: number;
}

export interface EmbedcareHandle {
  /** The iframe the SDK created. */
  readonly iframe: HTMLIFrameElement;
  readonly appOrigin: string;
  /** Loads another URL of `appOrigin` (throws a TypeError otherwise, or after destroy). */
  reload(url: string | URL): void;
  /** Removes the message listener and the frame. Idempotent. */
  destroy(): void;
}

export interface EmbedcareStatic {
  readonly version: string;
  /**
   * Creates the iframe in `element` (an element or a CSS selector) and loads
   * `options.url`. Throws a TypeError when an option is wrong (e.g. `url`
   * is not of `appOrigin`); nothing is created then.
   */
  mount(element: Element | string, options: MountOptions): EmbedcareHandle;
}

declare global {
  // eslint-disable-next-line no-var
  var Embedcare: EmbedcareStatic;
  interface Window {
    Embedcare: EmbedcareStatic;
  }
}
