//! Local-server-only routes: the event stream (`/dev/events`), the local
//! notifier's outbox, and the demo vendor page.
