//! The S3 side: objects in one versioned bucket, addressed by key and S3 version id.
//!
//! Every write records the version id S3 returned, so a stored object is immutable even when
//! the same key is written again. Hashes are computed here while the bytes stream, never
//! taken from a client.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use radiant_config::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::config::{ChecksumMode, S3Config};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// S3 did not answer, or answered 5xx: try again later.
    #[error("object storage unavailable: {0}")]
    Unavailable(String),
    #[error("object not found: {0}")]
    NotFound(String),
    #[error("object storage refused the request: {0}")]
    Rejected(String),
}

fn read_failed(error: aws_sdk_s3::primitives::ByteStreamError) -> StorageError {
    StorageError::Unavailable(format!("reading object: {error}"))
}

fn classify<E, R>(operation: &str, error: SdkError<E, R>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StorageError::Unavailable(format!(
                "{operation}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&error)
            ))
        }
        SdkError::ServiceError(service_error) => {
            let code = service_error.err().code().unwrap_or("unknown").to_string();
            let message = service_error.err().message().unwrap_or("").to_string();
            match code.as_str() {
                "NoSuchKey" | "NoSuchUpload" | "NoSuchVersion" | "NotFound" => {
                    StorageError::NotFound(format!("{operation}: {code} {message}"))
                }
                "InternalError" | "ServiceUnavailable" | "SlowDown" | "RequestTimeout" => {
                    StorageError::Unavailable(format!("{operation}: {code} {message}"))
                }
                _ => StorageError::Rejected(format!("{operation}: {code} {message}")),
            }
        }
        _ => StorageError::Rejected(format!(
            "{operation}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&error)
        )),
    }
}

/// Where one immutable object version lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLocation {
    pub bucket: String,
    pub key: String,
    pub version_id: String,
}

#[derive(Debug, Clone)]
pub struct ReceivedPart {
    pub part_number: u32,
    pub size_bytes: u64,
    pub etag: String,
}

/// The SHA-256 and length of an object as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDigest {
    pub sha256: String,
    pub size_bytes: u64,
}

#[derive(Clone)]
pub struct ObjectStore {
    client: Client,
    bucket: String,
    key_prefix: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl ObjectStore {
    pub fn new(config: &S3Config) -> Self {
        let credentials = Credentials::new(
            config.access_key_id.clone(),
            config.secret_access_key.expose_secret().to_string(),
            None,
            None,
            "radiant-config",
        );
        let (request_checksums, response_checksums) = match config.checksum_mode {
            ChecksumMode::WhenRequired => (
                RequestChecksumCalculation::WhenRequired,
                ResponseChecksumValidation::WhenRequired,
            ),
            ChecksumMode::WhenSupported => (
                RequestChecksumCalculation::WhenSupported,
                ResponseChecksumValidation::WhenSupported,
            ),
        };
        let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .read_timeout(Duration::from_millis(config.timeout_ms))
            .build();
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.force_path_style)
            .request_checksum_calculation(request_checksums)
            .response_checksum_validation(response_checksums)
            .timeout_config(timeouts)
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(2));
        if !config.endpoint.is_empty() {
            builder = builder.endpoint_url(config.endpoint.clone());
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
            key_prefix: config.key_prefix.trim_end_matches('/').to_string(),
        }
    }

    /// The SDK client, for operations the vault itself never needs (tests, tools).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the bucket if it is missing and turns versioning on (local stacks and tests;
    /// production buckets are provisioned with versioning by their own tooling).
    pub async fn ensure_versioned_bucket(&self) -> Result<(), StorageError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_err()
            && let Err(error) = self
                .client
                .create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
        {
            let error = classify("create bucket", error);
            if !error.to_string().contains("BucketAlreadyOwnedByYou") {
                return Err(error);
            }
        }
        self.client
            .put_bucket_versioning()
            .bucket(&self.bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| classify("put bucket versioning", error))?;
        Ok(())
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Content-addressed key: `<prefix>/<first two hex digits>/<sha256>`.
    pub fn blob_key(&self, sha256: &str) -> String {
        format!("{}/{}/{sha256}", self.key_prefix, &sha256[..2])
    }

    pub async fn check_bucket(&self) -> Result<String, StorageError> {
        let versioning = self
            .client
            .get_bucket_versioning()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|error| classify("get bucket versioning", error))?;
        match versioning.status() {
            Some(aws_sdk_s3::types::BucketVersioningStatus::Enabled) => {
                Ok(format!("bucket {} versioned", self.bucket))
            }
            other => Err(StorageError::Rejected(format!(
                "bucket {} must have versioning enabled (status {other:?})",
                self.bucket
            ))),
        }
    }

    pub async fn put(
        &self,
        key: &str,
        content: Bytes,
        mime_type: &str,
    ) -> Result<ObjectLocation, StorageError> {
        let output = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(mime_type)
            .body(ByteStream::from(content))
            .send()
            .await
            .map_err(|error| classify("put object", error))?;
        self.location(key, output.version_id())
    }

    fn location(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<ObjectLocation, StorageError> {
        let version_id = version_id
            .filter(|id| !id.is_empty() && *id != "null")
            .ok_or_else(|| {
                StorageError::Rejected(format!(
                    "bucket {} returned no version id: versioning must be enabled",
                    self.bucket
                ))
            })?;
        Ok(ObjectLocation {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            version_id: version_id.to_string(),
        })
    }

    pub async fn create_multipart(
        &self,
        key: &str,
        mime_type: &str,
    ) -> Result<String, StorageError> {
        let output = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(mime_type)
            .send()
            .await
            .map_err(|error| classify("create multipart upload", error))?;
        output.upload_id().map(str::to_string).ok_or_else(|| {
            StorageError::Rejected("create multipart upload returned no upload id".to_string())
        })
    }

    pub async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let presigning = PresigningConfig::expires_in(expires_in)
            .map_err(|error| StorageError::Rejected(format!("presigning: {error}")))?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number as i32)
            .presigned(presigning)
            .await
            .map_err(|error| classify("presign upload part", error))?;
        Ok(request.uri().to_string())
    }

    pub async fn presign_get(
        &self,
        location: &ObjectLocation,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        let presigning = PresigningConfig::expires_in(expires_in)
            .map_err(|error| StorageError::Rejected(format!("presigning: {error}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .version_id(&location.version_id)
            .presigned(presigning)
            .await
            .map_err(|error| classify("presign get object", error))?;
        Ok(request.uri().to_string())
    }

    /// Every part S3 has received for the upload, in part order.
    pub async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<ReceivedPart>, StorageError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let output = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
                .map_err(|error| classify("list parts", error))?;
            for part in output.parts() {
                parts.push(ReceivedPart {
                    part_number: part.part_number().unwrap_or_default().max(0) as u32,
                    size_bytes: part.size().unwrap_or_default().max(0) as u64,
                    etag: part.e_tag().unwrap_or_default().to_string(),
                });
            }
            if output.is_truncated() != Some(true) {
                break;
            }
            marker = output.next_part_number_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        parts.sort_by_key(|part| part.part_number);
        Ok(parts)
    }

    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[ReceivedPart],
    ) -> Result<ObjectLocation, StorageError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|part| {
                        CompletedPart::builder()
                            .part_number(part.part_number as i32)
                            .e_tag(&part.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        let output = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map_err(|error| classify("complete multipart upload", error))?;
        self.location(key, output.version_id())
    }

    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StorageError> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => match classify("abort multipart upload", error) {
                // already aborted or completed: nothing left to release
                StorageError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// The body of one object version.
    async fn body(&self, location: &ObjectLocation) -> Result<ByteStream, StorageError> {
        let output = self
            .client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .version_id(&location.version_id)
            .send()
            .await
            .map_err(|error| classify("get object", error))?;
        Ok(output.body)
    }

    /// Reads the object version and hashes it as it streams (memory stays at one chunk).
    /// Reading, not hashing, bounds the speed: running the hash on another task or thread
    /// measured no faster (`bench/media-vault.sh --probe-read`).
    pub async fn digest(&self, location: &ObjectLocation) -> Result<ObjectDigest, StorageError> {
        let mut body = self.body(location).await?;
        let mut hasher = Sha256::new();
        let mut size_bytes = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(read_failed)?;
            size_bytes += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(ObjectDigest {
            sha256: hex::encode(hasher.finalize()),
            size_bytes,
        })
    }

    /// The whole object version in memory (images for variants, bounded by the caller).
    pub async fn read(&self, location: &ObjectLocation) -> Result<Bytes, StorageError> {
        let collected = self
            .body(location)
            .await?
            .collect()
            .await
            .map_err(read_failed)?;
        Ok(collected.into_bytes())
    }

    /// Deletes one object version for good. Only the purge job and the cleanup of an upload
    /// that failed verification (bytes never recorded) call this.
    pub async fn delete_version(&self, location: &ObjectLocation) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .version_id(&location.version_id)
            .send()
            .await
            .map_err(|error| classify("delete object version", error))?;
        Ok(())
    }
}
