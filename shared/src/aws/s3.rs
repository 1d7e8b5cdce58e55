//! S3 adapter of [`ObjectSink`]: multipart uploads into the media bucket.

use crate::aws::error::sdk_error;
use crate::error::Error;
use crate::ports::{MultipartUpload, ObjectSink, ObjectTarget};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective, Tag, Tagging};
use bytes::Bytes;

/// Objects up to this size get the SHA-256 into their metadata by a server-side copy onto themselves.
pub const MAX_COPY_OBJECT: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct S3Sink {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Sink {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

struct S3Upload {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: String,
}

#[async_trait]
impl ObjectSink for S3Sink {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn start(&self, target: &ObjectTarget) -> Result<Box<dyn MultipartUpload>, Error> {
        let mut req = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&target.key)
            .content_type(&target.content_type);
        for (k, v) in &target.metadata {
            req = req.metadata(k, v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| sdk_error("CreateMultipartUpload", e))?;
        let upload_id = out
            .upload_id
            .ok_or_else(|| Error::transient("CreateMultipartUpload returned no upload id"))?;
        Ok(Box::new(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: target.key.clone(),
            upload_id,
        }))
    }

    async fn record_sha256(
        &self,
        target: &ObjectTarget,
        sha256: &str,
        size: u64,
    ) -> Result<Option<String>, Error> {
        let tag = Tag::builder()
            .key("sha256")
            .value(sha256)
            .build()
            .map_err(Error::permanent)?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(&target.key)
            .tagging(
                Tagging::builder()
                    .tag_set(tag)
                    .build()
                    .map_err(Error::permanent)?,
            )
            .send()
            .await
            .map_err(|e| sdk_error("PutObjectTagging", e))?;
        if size <= MAX_COPY_OBJECT {
            let source = format!(
                "{}/{}",
                self.bucket,
                percent_encoding::utf8_percent_encode(&target.key, COPY_SOURCE)
            );
            let mut req = self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(&target.key)
                .copy_source(source)
                .metadata_directive(MetadataDirective::Replace)
                .content_type(&target.content_type)
                .metadata("sha256", sha256);
            for (k, v) in &target.metadata {
                req = req.metadata(k, v);
            }
            let out = req
                .send()
                .await
                .map_err(|e| sdk_error("CopyObject(metadata)", e))?;
            return Ok(out.copy_object_result.and_then(|r| r.e_tag));
        }
        Ok(None)
    }
}

const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[async_trait]
impl MultipartUpload for S3Upload {
    async fn upload_part(&self, number: u32, bytes: Bytes) -> Result<String, Error> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number as i32)
            .content_length(bytes.len() as i64)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| sdk_error("UploadPart", e))?;
        out.e_tag
            .ok_or_else(|| Error::transient("UploadPart returned no ETag"))
    }

    async fn complete(&self, parts: Vec<(u32, String)>) -> Result<String, Error> {
        let parts = parts
            .into_iter()
            .map(|(n, etag)| {
                CompletedPart::builder()
                    .part_number(n as i32)
                    .e_tag(etag)
                    .build()
            })
            .collect();
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("CompleteMultipartUpload", e))?;
        Ok(out.e_tag.unwrap_or_default())
    }

    async fn abort(&self) -> Result<(), Error> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await
            .map_err(|e| sdk_error("AbortMultipartUpload", e))?;
        Ok(())
    }
}
