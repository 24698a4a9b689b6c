//! The Lambda edges: what turns a Lambda invocation into a call of the core.
//! HTTP functions hand their router to `lambda_http` (`http.rs`, feature
//! `lambda`); the relay reads a DynamoDB stream event (`stream.rs`); the
//! patient notifier reads an EventBridge envelope (`eventbridge.rs`); the
//! dispatcher reads SQS events (`sqs.rs`), the subscription stream's
//! function API Gateway WebSocket events (`websocket.rs`), as the visits'
//! live connections' (`visit_live.rs`); the visit
//! notifier, a visit event or a reminder's timer (`visits.rs`); the
//! visit sweeper needs none (`services::clinic::due`). Each function's
//! `main.rs` only wires these.

pub mod eventbridge;
#[cfg(feature = "lambda")]
pub mod http;
pub mod sqs;
pub mod stream;
pub mod visit_live;
pub mod visits;
pub mod websocket;
