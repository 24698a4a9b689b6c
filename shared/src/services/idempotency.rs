//! `Idempotency-Key` for the creating `POST`s of the v2 API.
