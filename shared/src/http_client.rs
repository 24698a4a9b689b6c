//! The one HTTPS client of a process, for every AWS SDK client
//! (`runtime::aws_config` hands it to `aws-config`) and for the webhook
//! client (`delivery/client.rs` takes its TLS configuration):
//!
//! - HTTP/1.1 only: DynamoDB, EventBridge, SES, S3, SQS, Scheduler, Chime
//!   and the API Gateway Management API all speak it, so neither HTTP/2
//!   (`h2`) nor its ALPN offer is in the binary;
//! - the roots compiled in (`webpki-roots`): nothing is read from the
//!   system's CA bundle, and the TLS configuration itself (the roots
//!   copied, the provider's suites) is built with the first connector, at
//!   the process's first request, not at init;
//! - rustls on one crypto provider, `ring` unless the crate is built with
//!   feature `tls-aws-lc` (the measurement is in BENCHMARKS.md).
//!
//! Connections are pooled per connect/read timeout pair, as the SDK asks
//! for them (`HttpClient::http_connector`), so all the clients of a process
//! with the same timeouts share one pool.

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// The name of the crypto provider this build links (`ring` or `aws-lc-rs`).
pub const CRYPTO_PROVIDER: &str = if cfg!(feature = "tls-aws-lc") {
    "aws-lc-rs"
} else {
    "ring"
};

/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

fn crypto_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "tls-aws-lc")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "tls-aws-lc"))]
    let provider = rustls::crypto::ring::default_provider();
    provider
}

/// The compiled-in roots (Mozilla's, through `webpki-roots`): already
/// parsed trust anchors, copied, not decoded.
pub fn root_store() -> rustls::RootCertStore {
    rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// The TLS client configuration of the process, built at its first use:
/// TLS 1.2 and 1.3, the compiled-in roots, ALPN offering `http/1.1` only.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(crypto_provider()))
            .with_safe_default_protocol_versions()
            // The provider is one of rustls' own: it has both versions
            // (checked by the tests of this module).
            .expect("rustls' own provider supports TLS 1.2 and 1.3")
            .with_root_certificates(root_store())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    });
    CONFIG.clone()
}

/// Makes this build's provider the process default of rustls, for the
/// clients that look for one (a `reqwest::Client` built without
/// [`tls_config`]: the benchmarks' own). A provider already installed
/// stays.
pub fn install_default_provider() {
    let _ = crypto_provider().install_default();
}

/// The SDK's HTTP client, one per process: hand it to every SDK
/// configuration (`aws_config::ConfigLoader::http_client`).
pub fn sdk_http_client() -> SharedHttpClient {
    static CLIENT: LazyLock<SharedHttpClient> =
        LazyLock::new(|| SharedHttpClient::new(Http1Client::default()));
    CLIENT.clone()
}

type Timeouts = (Option<Duration>, Option<Duration>);

#[derive(Debug, Default)]
struct Http1Client {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl HttpClient for Http1Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new(Http1Connector::new(key)))
            .clone()
    }
}

/// One pool of connections: hyper's HTTP/1 client over rustls (or plain
/// TCP for an `http://` endpoint).
#[derive(Debug, Clone)]
struct Http1Connector {
    client: Client<hyper_rustls::HttpsConnector<TcpConnector>, SdkBody>,
    read_timeout: Option<Duration>,
}

impl Http1Connector {
    fn new((connect_timeout, read_timeout): Timeouts) -> Self {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(connect_timeout);
        // `From` leaves the configuration's ALPN as it is (the builder of
        // hyper-rustls insists on setting it) and allows `http://`.
        let https = hyper_rustls::HttpsConnector::from((tcp, tls_config()));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(https);
        Self {
            client,
            read_timeout,
        }
    }
}

impl HttpConnector for Http1Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|e| ConnectorError::timeout(e.into()))?,
                None => response.await,
            }
            .map_err(|e| connector_error(e.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// What the SDK's retry strategy should make of a failed request: a
/// connection that could not be made, or closed under it, is transient
/// (I/O); a timeout is a timeout; anything else is not retried as such.
fn connector_error(err: BoxError) -> ConnectorError {
    if let Some(e) = find_source::<hyper::Error>(err.as_ref()) {
        if e.is_timeout() {
            return ConnectorError::timeout(err);
        }
        if e.is_user() {
            return ConnectorError::user(err);
        }
        if e.is_closed() || e.is_canceled() || find_source::<std::io::Error>(e).is_some() {
            return ConnectorError::io(err);
        }
        if e.is_incomplete_message() {
            return ConnectorError::other(err, Some(ErrorKind::TransientError));
        }
    }
    if let Some(e) = find_source::<hyper_util::client::legacy::Error>(err.as_ref())
        && (e.is_connect() || find_source::<std::io::Error>(e).is_some())
    {
        return ConnectorError::io(err);
    }
    ConnectorError::other(err, None)
}

fn find_source<'a, E: Error + 'static>(err: &'a (dyn Error + 'static)) -> Option<&'a E> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
#[path = "http_client_tests.rs"]
mod tests;
