//! Request parsing that fails with our error shape and a message that says
//! what is wrong (axum's own rejections are plain text and name Rust types):
//! the one JSON body reader, query parameters, headers, the caller of a
//! vendor request, and the one parser of each kind of parameter (ids,
//! locales, dates, cursors).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use crate::app::{App, AppState};
use crate::domain::ids::{ID_RULE, Id};
use crate::domain::{DueDate, Frequency, Locale};
use crate::error::{Error, Result};
use crate::services::auth::{self, Caller};
use crate::services::lists::BAD_CURSOR;

/// A JSON object body. `Content-Type` must be `application/json` (or
/// `application/…+json`); a body over the limit is a `413`, one that is not
/// a JSON object a `400`.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(Error::UnsupportedMediaType(
                "Content-Type must be application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("Request body too large (at most 2 MB)".into())
            } else {
                Error::invalid("Request body could not be read")
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(Error::invalid("Request body must be a JSON object")),
            Err(_) => Err(Error::invalid("Request body is not valid JSON")),
        }
    }
}

/// Query parameters; a known parameter given twice is an error.
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Result<Self> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| Error::invalid("Query string is malformed"))?;
        Ok(Self(pairs))
    }

    /// The value of `name`, trimmed; blank reads as absent.
    pub fn get(&self, name: &str) -> Result<Option<&str>> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim());
        let first = values.next();
        if values.next().is_some() {
            return Err(Error::invalid(format!(
                "Query parameter {name} is given more than once"
            )));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

/// A header's value as text, if present and valid UTF-8.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// True when the client asked for JSON (`Accept: application/json`).
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| {
            m.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// The token of `Authorization: Bearer {token}`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The checked API key of a vendor request (`Api-key`, `X-Tenant-Key`),
/// its franchise not read yet ([`auth::KeyAuth`]).
pub async fn key_auth(app: &App, headers: &HeaderMap) -> Result<auth::KeyAuth> {
    // A tenant key that is not visible ASCII is no tenant key: a 400, not
    // an absent header (which would pick the key's only franchise).
    let tenant = match headers.get("x-tenant-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Error::invalid("Invalid X-Tenant-Key header"))?,
        ),
    };
    auth::authenticate_key(app, header_str(headers, "api-key"), tenant).await
}

/// The authenticated caller of a vendor request (`Api-key`, `X-Tenant-Key`).
pub async fn caller(app: &App, headers: &HeaderMap) -> Result<Caller> {
    key_auth(app, headers).await?.caller(app).await
}

/// An authenticated vendor request: the app, its caller and its headers.
pub struct Vendor {
    pub app: AppState,
    pub caller: Caller,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for Vendor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let caller = caller(app, &parts.headers).await?;
        Ok(Self {
            app: app.clone(),
            caller,
            headers: parts.headers.clone(),
        })
    }
}

/// A vendor request whose key is checked and whose franchise the call's own
/// first batch reads (a cold call saves a round trip: [`auth::KeyAuth`]);
/// for the calls that read a batch first.
pub struct VendorKey {
    pub app: AppState,
    pub auth: auth::KeyAuth,
    pub headers: HeaderMap,
}

impl FromRequestParts<AppState> for VendorKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        let auth = key_auth(app, &parts.headers).await?;
        Ok(Self {
            app: app.clone(),
            auth,
            headers: parts.headers.clone(),
        })
    }
}

/// An authenticated vendor request with a JSON object body: the body is
/// read first (a 415, 413 or 400 before a 401), then the caller.
pub struct VendorJson {
    pub vendor: Vendor,
    pub body: Map<String, Value>,
}

impl FromRequest<AppState> for VendorJson {
    type Rejection = Error;

    async fn from_request(req: Request, app: &AppState) -> Result<Self> {
        let headers = req.headers().clone();
        let JsonObject(body) = JsonObject::from_request(req, app).await?;
        let caller = caller(app, &headers).await?;
        Ok(Self {
            vendor: Vendor {
                app: app.clone(),
                caller,
                headers,
            },
            body,
        })
    }
}

/// [`VendorJson`] of a call that reads its franchise in its own batch
/// ([`VendorKey`]).
pub struct VendorKeyJson {
    pub vendor: VendorKey,
    pub body: Map<String, Value>,
}

impl FromRequest<AppState> for VendorKeyJson {
    type Rejection = Error;

    async fn from_request(req: Request, app: &AppState) -> Result<Self> {
        let headers = req.headers().clone();
        let JsonObject(body) = JsonObject::from_request(req, app).await?;
        let auth = key_auth(app, &headers).await?;
        Ok(Self {
            vendor: VendorKey {
                app: app.clone(),
                auth,
                headers,
            },
            body,
        })
    }
}

/// An id parameter named `name`: absent, or one of ours (else a `400`).
pub fn id<T: Id>(name: &str, raw: Option<&str>) -> Result<Option<T>> {
    match raw {
        None => Ok(None),
        Some(v) => T::parse(v)
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("{name} must be {ID_RULE}"))),
    }
}

/// A `locale` parameter: `en` or `fr`.
pub fn locale(raw: Option<&str>) -> Result<Option<Locale>> {
    raw.map(|l| Locale::parse(l).ok_or_else(|| Error::invalid("locale must be en or fr")))
        .transpose()
}

/// A `dueDate`: `YYYY-MM-DD`.
/// `scope`: absent (what the launch's view is for), or `franchise` (every
/// employee view of the franchise, asked for explicitly).
pub fn franchise_scope(raw: Option<&str>) -> Result<bool> {
    match raw {
        None => Ok(false),
        Some("franchise") => Ok(true),
        Some(_) => Err(Error::invalid("scope must be franchise (or absent)")),
    }
}

pub fn due_date(raw: &str) -> Result<DueDate> {
    DueDate::parse(raw).ok_or_else(|| Error::invalid(DueDate::RULE))
}

/// A `frequency`: once, daily, weekly or monthly.
pub fn frequency(raw: &str) -> Result<Frequency> {
    Frequency::parse(raw).ok_or_else(|| Error::invalid(Frequency::RULE))
}

/// A `cursor` parameter: the sealed cursor of a list, passed on to the
/// service that opens it; what cannot be one is refused here already.
pub fn cursor(raw: Option<&str>) -> Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(c)
            if c.len() <= 4096
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(c.to_owned()))
        }
        Some(_) => Err(Error::invalid(BAD_CURSOR)),
    }
}
