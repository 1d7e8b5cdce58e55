//! S3 adapter of [`ObjectSink`]: multipart uploads into the media bucket.

use crate::aws::error::sdk_error;
use crate::catalog::PartDone;
use crate::error::Error;
use crate::ports::{MultipartUpload, ObjectSink, ObjectTarget, PartBody};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Tag, Tagging};
use base64::Engine as _;

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

/// The deletion sweep's evidence: the object's size now (HeadObject) and the `sha256` tag the downloader put
/// on it (GetObjectTagging), never the catalog's memory of them.
#[async_trait]
impl crate::ports::StoredObjects for S3Sink {
    async fn evidence(&self, key: &str) -> Result<Option<crate::deletion::StoredEvidence>, Error> {
        let Some((bytes, _etag)) = self.stored(key).await? else {
            return Ok(None);
        };
        let tags = self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("GetObjectTagging", e))?;
        let sha256 = tags
            .tag_set()
            .iter()
            .find(|t| t.key() == "sha256")
            .map(|t| t.value().to_owned());
        Ok(Some(crate::deletion::StoredEvidence { bytes, sha256 }))
    }
}

#[async_trait]
impl crate::ports::RetagObjects for S3Sink {
    async fn set_tag(&self, key: &str, name: &str, value: &str) -> Result<(), Error> {
        let current = self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("GetObjectTagging", e))?;
        let mut tags: Vec<Tag> = current
            .tag_set()
            .iter()
            .filter(|t| t.key() != name)
            .cloned()
            .collect();
        tags.push(tag(name, value)?);
        self.put_tags(key, tags).await
    }
}

fn tag(key: &str, value: &str) -> Result<Tag, Error> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(Error::permanent)
}

impl S3Sink {
    /// Replaces the object's tag set with `tags`.
    async fn put_tags(&self, key: &str, tags: Vec<Tag>) -> Result<(), Error> {
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .tagging(
                Tagging::builder()
                    .set_tag_set(Some(tags))
                    .build()
                    .map_err(Error::permanent)?,
            )
            .send()
            .await
            .map_err(|e| sdk_error("PutObjectTagging", e))?;
        Ok(())
    }
}

/// The id of a tenant's own lifecycle rule.
pub fn tenant_rule_id(tenant: &crate::ids::TenantId) -> String {
    format!("tenant-{tenant}")
}

/// Makes the media bucket's lifecycle carry the tenant's retention as one rule on its prefix
/// (`tenants/<id>/`), or no rule for it with `None`. Every other rule (the template's, other tenants') is kept
/// as it is. Returns the rule ids now in the configuration.
pub async fn sync_tenant_retention(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    tenant: &crate::ids::TenantId,
    retention: Option<&crate::config::Retention>,
) -> Result<Vec<String>, Error> {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, Transition, TransitionStorageClass,
    };
    let id = tenant_rule_id(tenant);
    let mut rules: Vec<LifecycleRule> = match client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out.rules.unwrap_or_default(),
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
            vec![]
        }
        Err(e) => return Err(sdk_error("GetBucketLifecycleConfiguration", e)),
    };
    rules.retain(|r| r.id() != Some(id.as_str()));
    if let Some(r) = retention {
        let mut rule = LifecycleRule::builder()
            .id(&id)
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .prefix(format!("{}/", crate::keys::tenant_prefix(tenant)))
                    .build(),
            );
        if let Some(days) = r.transition_after_days {
            rule = rule.transitions(
                Transition::builder()
                    .days(days as i32)
                    .storage_class(TransitionStorageClass::from(r.storage_class.as_str()))
                    .build(),
            );
        }
        if let Some(days) = r.expire_after_days {
            rule = rule.expiration(LifecycleExpiration::builder().days(days as i32).build());
        }
        rules.push(rule.build().map_err(Error::permanent)?);
    }
    let ids = rules
        .iter()
        .filter_map(|r| r.id().map(str::to_owned))
        .collect();
    if rules.is_empty() {
        client
            .delete_bucket_lifecycle()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteBucketLifecycle", e))?;
        return Ok(ids);
    }
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()
                .map_err(Error::permanent)?,
        )
        .send()
        .await
        .map_err(|e| sdk_error("PutBucketLifecycleConfiguration", e))?;
    Ok(ids)
}

struct S3Upload {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: String,
}

impl S3Sink {
    fn upload(&self, target: &ObjectTarget, upload_id: &str) -> Box<dyn MultipartUpload> {
        Box::new(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: target.key.clone(),
            upload_id: upload_id.to_owned(),
        })
    }
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
            .content_type(&target.content_type)
            // Each part carries its CRC32, which S3 checks on arrival and again when completing.
            .checksum_algorithm(ChecksumAlgorithm::Crc32);
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
        Ok(self.upload(target, &upload_id))
    }

    async fn resume(
        &self,
        target: &ObjectTarget,
        upload_id: &str,
    ) -> Result<Option<Box<dyn MultipartUpload>>, Error> {
        let listed = self
            .client
            .list_parts()
            .bucket(&self.bucket)
            .key(&target.key)
            .upload_id(upload_id)
            .max_parts(1)
            .send()
            .await;
        match listed {
            Ok(_) => Ok(Some(self.upload(target, upload_id))),
            Err(e) => {
                let e = sdk_error("ListParts", e);
                if e.kind() == crate::error::Kind::NotFound {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn stored(&self, key: &str) -> Result<Option<(u64, String)>, Error> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(h) => Ok(Some((
                h.content_length.unwrap_or_default().max(0) as u64,
                h.e_tag.unwrap_or_default(),
            ))),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(sdk_error("HeadObject", e)),
        }
    }

    async fn record_sha256(&self, target: &ObjectTarget, sha256: &str) -> Result<(), Error> {
        let mut tags = Vec::new();
        for (k, v) in std::iter::once(("sha256", sha256))
            .chain(target.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            tags.push(tag(k, v)?);
        }
        self.put_tags(&target.key, tags).await
    }
}

#[async_trait]
impl MultipartUpload for S3Upload {
    fn id(&self) -> &str {
        &self.upload_id
    }

    async fn upload_part(&self, number: u32, part: PartBody) -> Result<PartDone, Error> {
        let len = part.len();
        // The part's CRC32, computed as its bytes arrived and sent as a header: S3 checks it on arrival and
        // again when completing. (Left to the SDK, it would stream the body aws-chunked with a trailer.)
        let crc32 = base64::engine::general_purpose::STANDARD.encode(part.crc32().to_be_bytes());
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number as i32)
            .content_length(len as i64)
            .checksum_crc32(crc32.clone())
            .body(ByteStream::from(part.bytes().clone()))
            .customize()
            // The body is not hashed a second time for the signature: TLS protects it on the way and the
            // part's CRC32 guards its integrity.
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| sdk_error("UploadPart", e))?;
        let etag = out
            .e_tag
            .ok_or_else(|| Error::transient("UploadPart returned no ETag"))?;
        Ok(PartDone {
            etag,
            crc32: out.checksum_crc32.or(Some(crc32)),
            bytes: len,
        })
    }

    async fn complete(&self, parts: &[PartDone]) -> Result<String, Error> {
        let parts = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                CompletedPart::builder()
                    .part_number(i as i32 + 1)
                    .e_tag(&p.etag)
                    .set_checksum_crc32(p.crc32.clone())
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

/// The media bucket's unfinished multipart uploads.
#[derive(Clone, Debug)]
pub struct S3Uploads {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Uploads {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

#[async_trait]
impl crate::ports::RemoveObjects for S3Uploads {
    async fn remove(&self, key: &str) -> Result<(), Error> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("DeleteObject", e))?;
        Ok(())
    }
}

#[async_trait]
impl crate::ports::Uploads for S3Uploads {
    async fn started_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, String)>, Error> {
        let mut found = Vec::new();
        let (mut key_marker, mut id_marker) = (None, None);
        loop {
            let out = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .set_key_marker(key_marker)
                .set_upload_id_marker(id_marker)
                .send()
                .await
                .map_err(|e| sdk_error("ListMultipartUploads", e))?;
            for u in out.uploads.unwrap_or_default() {
                let started = u
                    .initiated
                    .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0));
                if let (Some(key), Some(id), Some(at)) = (u.key, u.upload_id, started)
                    && at < before
                {
                    found.push((key, id));
                }
            }
            if out.is_truncated != Some(true) {
                return Ok(found);
            }
            (key_marker, id_marker) = (out.next_key_marker, out.next_upload_id_marker);
        }
    }

    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), Error> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| sdk_error("AbortMultipartUpload", e))?;
        Ok(())
    }
}
