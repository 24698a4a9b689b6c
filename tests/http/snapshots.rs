//! A visit's snapshots over HTTP, on both stores: on the embedded store
//! the blobs are files (a temporary directory) served by the local
//! `/blobs/…` route; on DynamoDB they go to moto's S3 (a bucket of the
//! test's own) and the presigned URL is fetched for real. Stored, listed,
//! fetched (the bytes equal), deleted (the URL serves no more); refused
//! when too large, of another type, from another franchise, by the patient;
//! a local URL expired or tampered with is refused.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request};
use serde_json::Value;
use shared::app::Ports;
use shared::blobs::{Blobs, LocalBlobs};
use shared::crypto::Secret;

use crate::clinic::{provider_header, sso, walkin};
use crate::helpers::{BASE_URL, Reply, TestApp, assert_error, on_dynamodb, spawn_app_with};

const MINUTE: i64 = 60_000;
const MAX: usize = 5 * 1024 * 1024;
const PNG: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

/// Where a test's blobs are.
enum Kept {
    Files(tempfile::TempDir),
    Bucket(aws_sdk_s3::Client, String),
}

struct Snap {
    t: TestApp,
    kept: Kept,
}

fn s3_client() -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(crate::dynamo::endpoint())
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The app, its blobs on S3 (moto) with DynamoDB, else in files; or in
/// files whatever the store when `files` is set.
async fn spawn(files: bool) -> Snap {
    let (blobs, kept): (Arc<dyn Blobs>, Kept) = if on_dynamodb() && !files {
        let client = s3_client();
        let bucket = format!("snap-{}", uuid::Uuid::new_v4().simple());
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("a bucket");
        let blobs = shared::blobs::s3::S3Blobs::new(client.clone(), bucket.clone());
        (Arc::new(blobs), Kept::Bucket(client, bucket))
    } else {
        let dir = tempfile::tempdir().expect("a directory");
        let blobs = LocalBlobs::new(dir.path().join("blobs"), BASE_URL, &Secret::ephemeral());
        (Arc::new(blobs), Kept::Files(dir))
    };
    let t = spawn_app_with(
        move |_| Ports {
            blobs,
            ..Ports::default()
        },
        |_| {},
    )
    .await;
    Snap { t, kept }
}

impl Snap {
    /// How many blobs are kept.
    async fn blobs(&self) -> usize {
        match &self.kept {
            Kept::Files(dir) => {
                fn count(p: &std::path::Path) -> usize {
                    std::fs::read_dir(p).map_or(0, |d| {
                        d.map(|e| e.expect("an entry").path())
                            .map(|p| if p.is_dir() { count(&p) } else { 1 })
                            .sum()
                    })
                }
                count(dir.path())
            }
            Kept::Bucket(client, bucket) => {
                let out = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .send()
                    .await
                    .expect("a listing");
                out.contents().len()
            }
        }
    }

    /// A URL the app handed out, fetched: through the router for the local
    /// server's, over HTTP for S3's.
    async fn fetch(&self, url: &str) -> (u16, String, Vec<u8>) {
        if let Some(path) = url.strip_prefix(BASE_URL) {
            let req = Request::builder().uri(path).body(Body::empty()).unwrap();
            let r = self.t.send(req).await;
            let ct = r.header("content-type").to_owned();
            return (r.status.as_u16(), ct, r.body);
        }
        let res = reqwest::get(url).await.expect("the presigned URL answers");
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, ct, res.bytes().await.expect("a body").to_vec())
    }
}

/// A request of the provider `provider` (the API key naming them), or of
/// the bearer `token`.
fn request(t: &TestApp, method: Method, path: &str, as_who: Who<'_>) -> http::request::Builder {
    let b = Request::builder().method(method).uri(path);
    match as_who {
        Who::Provider(p) => b
            .header("Api-key", &t.world.api_key)
            .header("x-integration-user", provider_header(p)),
        Who::Key(k, p) => b
            .header("Api-key", k)
            .header("x-integration-user", provider_header(p)),
        Who::KeyOnly => b.header("Api-key", &t.world.api_key),
        Who::Bearer(tok) => b.header("authorization", format!("Bearer {tok}")),
        Who::Nobody => b,
    }
}

#[derive(Clone, Copy)]
enum Who<'a> {
    Provider(&'a str),
    Key(&'a str, &'a str),
    KeyOnly,
    Bearer(&'a str),
    Nobody,
}

async fn post(t: &TestApp, visit: &str, who: Who<'_>, ct: &str, body: Vec<u8>) -> Reply {
    let req = request(
        t,
        Method::POST,
        &format!("/v2/visits/{visit}/snapshots"),
        who,
    )
    .header("content-type", ct)
    .body(Body::from(body))
    .unwrap();
    t.send(req).await
}

async fn send(t: &TestApp, method: Method, path: &str, who: Who<'_>) -> Reply {
    t.send(request(t, method, path, who).body(Body::empty()).unwrap())
        .await
}

fn png(len: usize) -> Vec<u8> {
    let mut b = PNG.to_vec();
    b.extend((0..len.saturating_sub(PNG.len())).map(|i| (i * 7 % 251) as u8));
    b
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend((0..len.saturating_sub(4)).map(|i| (i % 13) as u8));
    b
}

/// A walk-in of a new patient: (visitId, the patient's token).
async fn visit(t: &TestApp, patient_key: &str) -> (String, String) {
    let (_, token) = sso(t, patient_key).await;
    let v = walkin(t, &token).await;
    (v["visitId"].as_str().expect("an id").to_owned(), token)
}

#[tokio::test]
async fn snapshots_are_stored_listed_fetched_and_deleted() {
    let s = spawn(false).await;
    let t = &s.t;
    let (v, _) = visit(t, "P-900").await;
    let first = png(70_000);
    let r = post(
        t,
        &v,
        Who::Provider("dr-martin"),
        "image/png",
        first.clone(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    assert_eq!(a["contentType"], "image/png");
    assert_eq!(a["bytes"], 70_000);
    assert_eq!(a["visitId"], v.as_str());
    assert_eq!(a["takenBy"], "dr-martin");
    assert_eq!(a["takenAt"], "2026-01-01T00:00:00.000Z");
    let a_id = a["snapshotId"].as_str().unwrap().to_owned();
    t.clock.advance_ms(MINUTE);
    let second = jpeg(1_000);
    let r = post(
        t,
        &v,
        Who::Provider("dr-nguyen"),
        "image/jpeg; q=1",
        second.clone(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let b = r.json();
    assert_eq!(b["contentType"], "image/jpeg");
    assert_eq!(b["takenBy"], "dr-nguyen");
    assert_eq!(
        s.blobs().await,
        if on_dynamodb() { 2 } else { 4 },
        "each blob (and locally its type)"
    );

    // Listed, oldest first, in one Query of the visit's partition; no URLs.
    t.store.reset();
    let path = format!("/v2/visits/{v}/snapshots");
    let r = send(t, Method::GET, &path, Who::Provider("dr-martin")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["snapshotId"], a_id.as_str());
    assert_eq!(items[1]["snapshotId"], b["snapshotId"]);
    assert!(items.iter().all(|i| i.get("url").is_none()));
    assert!(t.store.written().is_empty(), "a list writes nothing");

    // Fetched through its URL (5 minutes): the same bytes, the same type.
    let one = format!("/v2/visits/{v}/snapshots/{a_id}");
    let r = send(t, Method::GET, &one, Who::Provider("dr-martin")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got["bytes"], 70_000);
    assert_eq!(got["expiresAt"], "2026-01-01T00:06:00.000Z");
    let url = got["url"].as_str().unwrap().to_owned();
    assert!(
        url.contains(&format!("t/demo/visits/{v}/{a_id}")),
        "the key carries the tenant and ids only: {url}"
    );
    assert!(!url.contains("Lopez") && !url.contains("P-900"));
    let (status, ct, bytes) = s.fetch(&url).await;
    assert_eq!(status, 200);
    assert_eq!(ct, "image/png");
    assert!(bytes == first, "the bytes stored are the bytes served");
    let r = send(
        t,
        Method::GET,
        &format!("{path}/{}", b["snapshotId"].as_str().unwrap()),
        Who::Provider("dr-martin"),
    )
    .await;
    let (status, ct, bytes) = s.fetch(r.json()["url"].as_str().unwrap()).await;
    assert_eq!((status, ct.as_str()), (200, "image/jpeg"));
    assert!(bytes == second);
    if let Kept::Bucket(client, bucket) = &s.kept {
        let head = client
            .head_object()
            .bucket(bucket)
            .key(format!("t/demo/visits/{v}/{a_id}"))
            .send()
            .await
            .expect("the object");
        assert_eq!(head.content_type(), Some("image/png"));
        assert_eq!(
            head.server_side_encryption().map(|e| e.as_str()),
            Some("aws:kms"),
            "encrypted at rest"
        );
    }

    // Deleted: the record and the blob; its URL serves no more.
    let r = send(t, Method::DELETE, &one, Who::Provider("dr-martin")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(s.fetch(&url).await.0, 404, "the URL no longer serves");
    assert_eq!(
        send(t, Method::GET, &one, Who::Provider("dr-martin"))
            .await
            .status,
        404
    );
    assert_eq!(
        send(t, Method::DELETE, &one, Who::Provider("dr-martin"))
            .await
            .status,
        404
    );
    let r = send(t, Method::GET, &path, Who::Provider("dr-martin")).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(s.blobs().await, if on_dynamodb() { 1 } else { 2 });
}

#[tokio::test]
async fn too_large_of_another_type_or_empty_is_refused_and_nothing_is_kept() {
    let s = spawn(false).await;
    let t = &s.t;
    let (v, _) = visit(t, "P-901").await;
    let path = format!("/v2/visits/{v}/snapshots");
    t.store.reset();
    let dr = Who::Provider("dr-martin");

    // 5 MiB is the limit: one byte more is a 413 in the error shape.
    let r = post(t, &v, dr, "image/png", png(MAX + 1)).await;
    assert_error(
        &r,
        413,
        "A snapshot is at most 5242880 bytes (5 MiB)",
        &path,
    );
    // A declared length over it is refused before anything is read.
    let req = request(t, Method::POST, &path, dr)
        .header("content-type", "image/png")
        .header("content-length", (MAX + 1).to_string())
        .body(Body::from(png(10)))
        .unwrap();
    assert_eq!(t.send(req).await.status, 413);
    // Text labelled as an image; an image labelled as the other type.
    let r = post(t, &v, dr, "image/png", b"hello, I am no image".to_vec()).await;
    assert_error(
        &r,
        415,
        "The body is not image/png: its first bytes are not those of one",
        &path,
    );
    let r = post(t, &v, dr, "image/jpeg", png(100)).await;
    assert_error(
        &r,
        415,
        "The body is image/png, not the image/jpeg its Content-Type says",
        &path,
    );
    // A type we do not keep, no type, an empty body.
    for ct in ["text/plain", "image/gif", "application/json"] {
        let r = post(t, &v, dr, ct, png(100)).await;
        assert_error(
            &r,
            415,
            "Content-Type must be image/png or image/jpeg",
            &path,
        );
    }
    let req = request(t, Method::POST, &path, dr)
        .body(Body::from(png(100)))
        .unwrap();
    assert_eq!(t.send(req).await.status, 415);
    let r = post(t, &v, dr, "image/png", Vec::new()).await;
    assert_error(
        &r,
        400,
        "The snapshot is empty: send the image as the body",
        &path,
    );

    assert!(
        t.store
            .written()
            .iter()
            .all(|w| !w.key().sk.starts_with("SNAP#")),
        "no record written"
    );
    assert_eq!(s.blobs().await, 0, "no blob kept");
    let r = send(t, Method::GET, &path, dr).await;
    assert_eq!(r.json()["items"], Value::Array(vec![]));

    // Exactly the limit is taken.
    let r = post(t, &v, dr, "image/png", png(MAX)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["bytes"], MAX);
}

#[tokio::test]
async fn snapshots_are_the_providers_of_the_visits_franchise() {
    let s = spawn(false).await;
    let t = &s.t;
    let (v, token) = visit(t, "P-902").await;
    let (_, other_patient) = visit(t, "P-903").await;
    let r = post(t, &v, Who::Provider("dr-martin"), "image/png", png(100)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["snapshotId"].as_str().unwrap().to_owned();
    let path = format!("/v2/visits/{v}/snapshots");
    let one = format!("{path}/{id}");
    t.store.reset();

    // Another franchise's key, naming a provider: not found, whatever the call.
    let other = t.world.other_account_api_key.clone();
    let foreign = Who::Key(&other, "dr-martin");
    assert_error(
        &post(t, &v, foreign, "image/png", png(100)).await,
        404,
        "Visit not found",
        &path,
    );
    for (m, p) in [
        (Method::GET, &path),
        (Method::GET, &one),
        (Method::DELETE, &one),
    ] {
        assert_eq!(send(t, m, p, foreign).await.status, 404);
    }
    // The visit's own patient: forbidden (snapshots are the provider's);
    // another patient: not found.
    let r = post(t, &v, Who::Bearer(&token), "image/png", png(100)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    for (m, p) in [
        (Method::GET, &path),
        (Method::GET, &one),
        (Method::DELETE, &one),
    ] {
        assert_eq!(send(t, m.clone(), p, Who::Bearer(&token)).await.status, 403);
        assert_eq!(send(t, m, p, Who::Bearer(&other_patient)).await.status, 404);
    }
    // The API key without a provider, a user who is no provider of the room,
    // nobody at all.
    assert_eq!(
        post(t, &v, Who::KeyOnly, "image/png", png(100))
            .await
            .status,
        403
    );
    assert_eq!(send(t, Method::GET, &one, Who::KeyOnly).await.status, 403);
    assert_eq!(
        post(t, &v, Who::Provider("dr-nobody"), "image/png", png(100))
            .await
            .status,
        403
    );
    assert_error(
        &post(t, &v, Who::Nobody, "image/png", png(100)).await,
        401,
        "Authentication failed",
        &path,
    );
    assert_eq!(send(t, Method::GET, &path, Who::Nobody).await.status, 401);
    // An id that cannot be one; a snapshot of another visit.
    assert_eq!(
        send(
            t,
            Method::GET,
            &format!("{path}/no.such"),
            Who::Provider("dr-martin")
        )
        .await
        .status,
        404
    );
    let (w, _) = visit(t, "P-904").await;
    let r = send(
        t,
        Method::GET,
        &format!("/v2/visits/{w}/snapshots/{id}"),
        Who::Provider("dr-martin"),
    )
    .await;
    assert_eq!(r.status, 404);

    assert!(
        t.store
            .written()
            .iter()
            .all(|w| !w.key().sk.starts_with("SNAP#")),
        "nothing written for a refusal"
    );
    let r = send(t, Method::GET, &one, Who::Provider("dr-martin")).await;
    assert_eq!(r.status, 200, "still there");
}

#[tokio::test]
async fn a_local_url_expires_and_cannot_be_altered() {
    let s = spawn(true).await;
    let t = &s.t;
    let (v, _) = visit(t, "P-905").await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = post(t, &v, Who::Provider("dr-martin"), "image/png", png(500)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["snapshotId"].as_str().unwrap().to_owned());
    }
    let r = send(
        t,
        Method::GET,
        &format!("/v2/visits/{v}/snapshots/{}", ids[0]),
        Who::Provider("dr-martin"),
    )
    .await;
    let url = r.json()["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(BASE_URL).unwrap().to_owned();
    let get = |p: String| async move {
        t.send(Request::builder().uri(p).body(Body::empty()).unwrap())
            .await
    };
    let r = get(path.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "private, no-store");
    assert_eq!(r.header("x-content-type-options"), "nosniff");

    // Altered: another snapshot's key, a later expiry, a changed signature.
    let (route, query) = path.split_once('?').unwrap();
    let other = path.replace(&ids[0], &ids[1]);
    let other_route = other.split_once('?').unwrap().0.to_owned();
    assert_error(
        &get(other).await,
        403,
        "This link is not valid, or it has expired",
        &other_route,
    );
    let expires: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let later = path.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires + 3_600_000),
    );
    assert_eq!(get(later).await.status, 403);
    let sig = query
        .split('&')
        .find_map(|p| p.strip_prefix("signature="))
        .unwrap();
    let mut forged = sig.to_owned().into_bytes();
    forged[5] = if forged[5] == b'x' { b'y' } else { b'x' };
    let forged = path.replace(sig, std::str::from_utf8(&forged).unwrap());
    assert_eq!(get(forged).await.status, 403);
    assert_eq!(get(route.to_owned()).await.status, 403, "unsigned");
    // No way out of the blob directory, signed or not.
    for bad in [
        format!("/blobs/t/demo/visits/{v}/..%2F..%2F..%2Fsecret?{query}"),
        format!("/blobs/..%2Fsecret?{query}"),
        format!("/blobs/t/demo/visits/{v}/{}.type?{query}", ids[0]),
    ] {
        assert_eq!(get(bad.clone()).await.status, 404, "{bad}");
    }

    // Expired after 5 minutes.
    t.clock.advance_ms(5 * MINUTE - 1);
    assert_eq!(get(path.clone()).await.status, 200);
    t.clock.advance_ms(1);
    let r = get(path.clone()).await;
    assert_error(&r, 403, "This link is not valid, or it has expired", route);
}

/// A blob store that is down.
struct Down;

#[async_trait::async_trait]
impl Blobs for Down {
    async fn put(&self, _: &str, _: Vec<u8>, _: &str) -> shared::Result<()> {
        Err(shared::Error::Unavailable(
            "S3 PutObject: unreachable".into(),
        ))
    }
    async fn presign_get(
        &self,
        _: &str,
        _: i64,
        _: i64,
    ) -> shared::Result<shared::blobs::Presigned> {
        Err(shared::Error::Unavailable("down".into()))
    }
    async fn delete(&self, _: &str) -> shared::Result<()> {
        Err(shared::Error::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn a_blob_store_that_fails_leaves_no_record() {
    let t = spawn_app_with(
        |_| Ports {
            blobs: Arc::new(Down),
            ..Ports::default()
        },
        |_| {},
    )
    .await;
    let (v, _) = visit(&t, "P-906").await;
    t.store.reset();
    let r = post(&t, &v, Who::Provider("dr-martin"), "image/png", png(100)).await;
    assert_eq!(r.status, 503, "a dependency down: {}", r.text());
    assert_eq!(r.header("retry-after"), "1");
    assert!(
        !r.text().contains("PutObject"),
        "no internal detail: {}",
        r.text()
    );
    assert!(
        t.store
            .written()
            .iter()
            .all(|w| !w.key().sk.starts_with("SNAP#")),
        "the record comes after its blob"
    );
    let r = send(
        &t,
        Method::GET,
        &format!("/v2/visits/{v}/snapshots"),
        Who::Provider("dr-martin"),
    )
    .await;
    assert_eq!(r.json()["items"], Value::Array(vec![]));
}
