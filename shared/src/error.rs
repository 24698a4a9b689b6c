//! The one error type of the core. Every operation returns it. It says what
//! went wrong, not how HTTP spells it: the HTTP layer maps each meaning to a
//! status and the error body in one place (`http::error`). Messages are
//! written for the vendor's developer and never contain personal data or
//! internal detail.
//!
//! Imports nothing of the crate, so that every layer may use it; the
//! conversion of a store failure lives with the store (`store::StoreError`).

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A bad, missing, revoked or unknown API key or session. Deliberately
    /// one message.
    #[error("Authentication failed")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// Unknown, or belonging to another tenant: the two are never told apart.
    #[error("{0}")]
    NotFound(String),
    /// The change contradicts the current state (a move outside a state
    /// machine, a duplicate, a lost race that was not retried).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed but not acceptable (an idempotency key reused for
    /// another request).
    #[error("{0}")]
    Unprocessable(String),
    /// The API key used up its request budget (`ratelimit`); the caller
    /// may retry after `retry_after_s` seconds.
    #[error("Too many requests for this API key; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// A condition of a store write did not hold: a concurrent change won.
    /// `failed` lists the writes of a transaction whose conditions failed
    /// (empty when unknown). `services::retry` retries it or turns it into a
    /// `Conflict` with a message; one that escapes is logged as internal.
    #[error("a concurrent change won the race (writes {failed:?})")]
    Contention { failed: Vec<usize> },
    /// A backend (the store, the bus) failed or could not be reached;
    /// logged with its cause.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// A bug or a broken invariant; logged with its cause.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Error::Conflict(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Error::Forbidden(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
