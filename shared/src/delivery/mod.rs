//! The ports of event delivery to vendors outside AWS, and their adapters:
//!
//! - the work queue (`queue.rs`): webhook attempts and the subscription
//!   stream's chores, each a message that becomes visible after a delay —
//!   SQS in AWS (`sqs.rs`, feature `aws-events`), a queue of the local
//!   server driven by the app's clock (`local.rs`);
//! - live connections (`connections.rs`): send a text frame to a
//!   connection, close it — API Gateway's Management API in AWS
//!   (`apigw.rs`, feature `aws-events`), a registry of the local server's
//!   WebSocket senders (`connections.rs`); any WebSocket route set can use
//!   it;
//! - the webhook sender (`sender.rs`): one signed `POST`, no redirects
//!   followed — reqwest behind feature `webhooks` (`client.rs`);
//! - the resolver (`resolver.rs`): host names to addresses, the system's or
//!   a map (tests), filtered by `domain::net` at creation and at connect
//!   time.
//!
//! Nothing here knows a service, HTTP or the store's keys.

#[cfg(feature = "aws-events")]
pub mod apigw;
#[cfg(feature = "webhooks")]
pub mod client;
pub mod connections;
pub mod local;
pub mod queue;
pub mod resolver;
pub mod sender;
#[cfg(feature = "aws-events")]
pub mod sqs;
