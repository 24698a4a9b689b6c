//! Blobs on Amazon S3 (feature `aws-blobs`): `PutObject` with server-side
//! encryption (SSE-KMS under the AWS-managed key, the bucket's default
//! too), a presigned `GetObject` URL (SigV4, query-signed, valid for the
//! TTL asked), `DeleteObject` (on a versioned bucket: a delete marker; the
//! bucket's lifecycle rule expires the old version).

use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::{Blobs, Presigned, is_key};
use crate::error::{Error, Result};

pub struct S3Blobs {
    client: Client,
    bucket: String,
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn failed<E: ProvideErrorMetadata, R>(what: &str, e: &SdkError<E, R>) -> Error {
    Error::Unavailable(format!("S3 {what}: {}", e.code().unwrap_or("unreachable")))
}

fn checked(key: &str) -> Result<()> {
    if is_key(key) {
        Ok(())
    } else {
        Err(Error::internal("a blob key that is not a path of ids"))
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        checked(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| failed("PutObject", &e))?;
        Ok(())
    }

    async fn presign_get(&self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<Presigned> {
        checked(key)?;
        let start = UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
        // The SDK signs at the app's clock (the system's in AWS), so the
        // URL's expiry is the one reported. (Signed with the function's
        // temporary credentials, a URL stops working sooner if they expire
        // first.)
        let config = PresigningConfig::builder()
            .start_time(start)
            .expires_in(Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)))
            .build()
            .map_err(|e| Error::internal(format!("presigning: {e}")))?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_cache_control("private, no-store")
            .presigned(config)
            .await
            .map_err(|e| failed("presign GetObject", &e))?;
        Ok(Presigned {
            url: req.uri().to_owned(),
            expires_at: now_ms + ttl_ms,
        })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        checked(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed("DeleteObject", &e))?;
        Ok(())
    }
}
