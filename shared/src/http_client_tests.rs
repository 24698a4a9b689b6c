use super::*;

use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[test]
fn the_roots_are_compiled_in_and_hold_amazons() {
    let roots = root_store();
    assert!(roots.len() > 100, "only {} roots", roots.len());
    // The AWS endpoints' certificates chain to Amazon Root CA 1.
    let amazon = roots
        .roots
        .iter()
        .any(|anchor| contains(anchor.subject.as_ref(), b"Amazon Root CA 1"));
    assert!(amazon, "no Amazon Root CA 1 among the roots");
}

#[test]
fn the_tls_configuration_offers_http_1_1_only_on_one_provider() {
    let config = tls_config();
    assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    let suites: Vec<_> = config
        .crypto_provider()
        .cipher_suites
        .iter()
        .map(|s| s.suite())
        .collect();
    assert!(suites.contains(&rustls::CipherSuite::TLS13_AES_128_GCM_SHA256));
    assert!(suites.contains(&rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256));
    // Built once per process.
    assert!(Arc::ptr_eq(&config, &tls_config()));
}

/// What a client sends first on a TLS connection, read by a local listener
/// that never answers.
async fn client_hello() -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut hello = vec![0u8; 5];
        socket.read_exact(&mut hello).await.expect("record header");
        let len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        hello.resize(5 + len, 0);
        socket.read_exact(&mut hello[5..]).await.expect("record");
        hello
    });
    let connector = Http1Connector::new((Some(Duration::from_secs(5)), None));
    let request = HttpRequest::get(format!("https://127.0.0.1:{port}/")).expect("request");
    // The call is lazy: it runs beside the listener.
    let call = tokio::spawn(connector.call(request));
    let hello = server.await.expect("server");
    let err = call
        .await
        .expect("the call")
        .expect_err("the listener closes without a handshake");
    assert!(err.is_io() || err.is_other(), "{err:?}");
    hello
}

/// The protocols of a ClientHello's ALPN extension (RFC 7301), or `None`
/// without one.
fn alpn_offer(record: &[u8]) -> Option<Vec<Vec<u8>>> {
    assert_eq!(record[0], 22, "a handshake record");
    let hs = &record[5..];
    assert_eq!(hs[0], 1, "a ClientHello");
    let mut at = 4 + 2 + 32; // handshake header, version, random
    at += 1 + hs[at] as usize; // session id
    at += 2 + u16::from_be_bytes([hs[at], hs[at + 1]]) as usize; // cipher suites
    at += 1 + hs[at] as usize; // compression methods
    let end = at + 2 + u16::from_be_bytes([hs[at], hs[at + 1]]) as usize;
    at += 2;
    while at < end {
        let kind = u16::from_be_bytes([hs[at], hs[at + 1]]);
        let len = u16::from_be_bytes([hs[at + 2], hs[at + 3]]) as usize;
        let data = &hs[at + 4..at + 4 + len];
        if kind == 16 {
            let mut protocols = Vec::new();
            let mut p = 2;
            while p < data.len() {
                let n = data[p] as usize;
                protocols.push(data[p + 1..p + 1 + n].to_vec());
                p += 1 + n;
            }
            return Some(protocols);
        }
        at += 4 + len;
    }
    None
}

#[tokio::test]
async fn an_https_connection_offers_http_1_1_and_not_h2() {
    let hello = client_hello().await;
    let offer = alpn_offer(&hello).expect("an ALPN extension");
    assert_eq!(offer, vec![b"http/1.1".to_vec()]);
}

#[tokio::test]
async fn a_plain_http_endpoint_is_spoken_to_in_http_1_1() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !contains(&head, b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.expect("read");
            assert!(n > 0, "the client closed before its request's end");
            head.extend_from_slice(&buf[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .expect("write");
        head
    });
    let connector = Http1Connector::new((None, Some(Duration::from_secs(5))));
    let request = HttpRequest::get(format!("http://127.0.0.1:{port}/x")).expect("request");
    let response = connector.call(request).await.expect("a response");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.into_body().collect().await.expect("the body");
    assert_eq!(&body.to_bytes()[..], b"ok");
    let head = server.await.expect("server");
    assert!(head.starts_with(b"GET /x HTTP/1.1\r\n"), "{head:?}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let connector = Http1Connector::new((Some(Duration::from_secs(5)), None));
    let request = HttpRequest::get(format!("http://127.0.0.1:{port}/")).expect("request");
    let err = connector.call(request).await.expect_err("refused");
    assert!(err.is_io(), "{err:?}");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
