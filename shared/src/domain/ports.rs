//! Narrow ports to the outside world, one per capability. AWS adapters live in [`crate::aws`], in-memory
//! fakes in [`crate::fakes`] (feature `fakes`).

use crate::catalog::PartDone;
use crate::config::{Connection, User};
use crate::error::Error;
use crate::ids::{ConnectionId, Email, TenantId, UserId, Vendor};
use async_trait::async_trait;
use bytes::Bytes;
use std::fmt;

/// Reads tenant configuration.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, Error>;
}

/// Lists every connection (the sweeps' view of the configuration).
#[async_trait]
pub trait ConnectionList: Send + Sync {
    async fn connections(&self) -> Result<Vec<Connection>, Error>;
}

/// Turns a connection off (disconnect, the vendor's deauthorization) or on again.
#[async_trait]
pub trait ConnectionSwitch: Send + Sync {
    /// Sets the stored connection's `enabled`; `false` if there is no such connection.
    async fn set_enabled(&self, id: &ConnectionId, enabled: bool) -> Result<bool, Error>;
}

/// Looks users up in a tenant's directory.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    async fn by_vendor_id(
        &self,
        tenant: &TenantId,
        vendor: Vendor,
        id: &str,
    ) -> Result<Option<User>, Error>;
    async fn by_email(&self, tenant: &TenantId, email: &Email) -> Result<Option<User>, Error>;
    async fn by_id(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, Error>;
    /// The user with this `external_id` (SSO, student system).
    async fn by_external_id(&self, tenant: &TenantId, id: &str) -> Result<Option<User>, Error>;
}

/// Adds users to the directory outside `apply`: the owner stage, under `owner.unmatched: create`.
#[async_trait]
pub trait DirectoryWriter: Send + Sync {
    /// Adds `user` (and its e-mail and vendor-id aliases where no other user has them) if no user has its
    /// id. `None`: added; `Some`: the user who has the id already (nothing written).
    async fn create_user(&self, user: &User) -> Result<Option<User>, Error>;
}

/// A secret value that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// Where one download attempt gets its bytes: the URL, the bearer if the vendor wants one, and one more host
/// allowed for this file only (the Webex API host for transcripts). Its `Debug` prints neither URL nor bearer.
#[derive(Clone)]
pub struct Fetch {
    pub url: String,
    pub bearer: Option<SecretString>,
    pub extra_host: Option<String>,
}

impl Fetch {
    /// A URL that needs no Authorization header (a signed or temporary link).
    pub fn anonymous(url: String) -> Self {
        Self {
            url,
            bearer: None,
            extra_host: None,
        }
    }
}

impl fmt::Debug for Fetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetch")
            .field("bearer", &self.bearer.is_some())
            .field("extra_host", &self.extra_host)
            .finish_non_exhaustive()
    }
}

/// Reads secrets.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn secret(&self, id: &str) -> Result<SecretString, Error>;
}

/// Writes secrets (token rotation, generated webhook secrets).
#[async_trait]
pub trait SecretWriter: Send + Sync {
    /// Creates the secret or stores a new current version of it, in one call.
    async fn put_secret(&self, id: &str, value: &SecretString) -> Result<(), Error>;
}

/// Sends a message body to one queue.
#[async_trait]
pub trait Queue: Send + Sync {
    async fn send(&self, body: String) -> Result<(), Error>;
}

/// Serialises `msg` and sends it.
pub async fn send_json<T: serde::Serialize + Sync>(q: &dyn Queue, msg: &T) -> Result<(), Error> {
    let body = serde_json::to_string(msg).map_err(Error::permanent)?;
    q.send(body).await
}

/// Where an object is written, with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectTarget {
    pub key: String,
    pub content_type: String,
    /// `x-amz-meta-*` pairs.
    pub metadata: Vec<(String, String)>,
    /// Object tags (besides `sha256`), for lifecycle rules and access policies by owner or category.
    pub tags: Vec<(String, String)>,
}

/// One part's bytes with their CRC32 (ISO-HDLC, S3's `CRC32`).
#[derive(Clone)]
pub struct PartBody {
    bytes: Bytes,
    crc32: u32,
}

impl PartBody {
    /// A buffer whose CRC32 the caller computed as it filled it, while the bytes were in the CPU's cache
    /// (checked in debug builds).
    pub(crate) fn filled(bytes: Bytes, crc32: crc32fast::Hasher) -> Self {
        let crc32 = crc32.finalize();
        debug_assert_eq!(crc32, crc32fast::hash(&bytes), "the CRC32 is of the buffer");
        Self { bytes, crc32 }
    }

    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn crc32(&self) -> u32 {
        self.crc32
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl From<Bytes> for PartBody {
    fn from(bytes: Bytes) -> Self {
        let crc32 = crc32fast::hash(&bytes);
        Self { bytes, crc32 }
    }
}

impl fmt::Debug for PartBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartBody")
            .field("len", &self.len())
            .field("crc32", &self.crc32)
            .finish()
    }
}

/// A multipart upload in progress.
#[async_trait]
pub trait MultipartUpload: Send + Sync {
    /// The store's id of the upload, kept in the checkpoint to continue it later.
    fn id(&self) -> &str;
    /// Uploads part `number` (1-based); returns what completing needs (ETag, the part's checksum).
    async fn upload_part(&self, number: u32, part: PartBody) -> Result<PartDone, Error>;
    /// Completes with every part in order (part `i + 1` is `parts[i]`); returns the object's ETag. An upload
    /// that no longer exists fails with [`crate::error::Kind::NotFound`].
    async fn complete(&self, parts: &[PartDone]) -> Result<String, Error>;
    async fn abort(&self) -> Result<(), Error>;
}

/// Starts and continues multipart uploads into the media bucket.
#[async_trait]
pub trait ObjectSink: Send + Sync {
    fn bucket(&self) -> &str;
    async fn start(&self, target: &ObjectTarget) -> Result<Box<dyn MultipartUpload>, Error>;
    /// The upload `upload_id`, started earlier (perhaps by another invocation), to continue; `None` if it no
    /// longer exists (completed, or aborted by the bucket's lifecycle rule or the sweep).
    async fn resume(
        &self,
        target: &ObjectTarget,
        upload_id: &str,
    ) -> Result<Option<Box<dyn MultipartUpload>>, Error>;
    /// The size and ETag of the stored object at `key`, if there is one.
    async fn stored(&self, key: &str) -> Result<Option<(u64, String)>, Error>;
    /// Records the SHA-256, known only at the end of the stream, on the finished object as its tag `sha256`,
    /// beside the target's own tags (tagging neither copies the bytes nor changes the ETag).
    async fn record_sha256(&self, target: &ObjectTarget, sha256: &str) -> Result<(), Error>;
}

/// A message that reached a dead-letter queue. Its receipt never prints.
#[derive(Clone)]
pub struct DeadLetter {
    pub body: String,
    pub receipt: SecretString,
    /// How often the sweep already sent it back.
    pub redrives: u32,
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("redrives", &self.redrives)
            .finish_non_exhaustive()
    }
}

/// One dead-letter queue and the queue its messages came from.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Which queue this is, for reports.
    fn name(&self) -> &str;
    /// Up to `max` messages (each hidden for a while, as any receive).
    async fn receive(&self, max: usize) -> Result<Vec<DeadLetter>, Error>;
    /// Sends the body back to the source queue, counting the re-drive, and removes it here.
    async fn redrive(&self, letter: &DeadLetter) -> Result<(), Error>;
    /// Removes it here: its work was settled another way.
    async fn discard(&self, letter: &DeadLetter) -> Result<(), Error>;
}

/// Multipart uploads in the media bucket that were started and never completed.
#[async_trait]
pub trait Uploads: Send + Sync {
    /// (key, upload id) of the uploads started before `before`.
    async fn started_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(String, String)>, Error>;
    async fn abort(&self, key: &str, upload_id: &str) -> Result<(), Error>;
}

/// Removes objects of ours: the sweeper, when a recording's quarantine expires. With the bucket's versioning,
/// the removed object stays recoverable as a noncurrent version for the deployment's `NoncurrentVersionDays`.
#[async_trait]
pub trait RemoveObjects: Send + Sync {
    /// Removes the object at `key` (nothing if there is none).
    async fn remove(&self, key: &str) -> Result<(), Error>;
}

/// Changes one tag of an archived object, keeping its others (`archiver-admin assign-owner` sets `owner`).
#[async_trait]
pub trait RetagObjects: Send + Sync {
    async fn set_tag(&self, key: &str, name: &str, value: &str) -> Result<(), Error>;
}

/// Re-reads what S3 holds for an archived file (the deletion sweep's evidence; never the catalog's memory).
#[async_trait]
pub trait StoredObjects: Send + Sync {
    /// The object's size and its `sha256` tag; `None` if there is no object at `key`.
    async fn evidence(&self, key: &str) -> Result<Option<crate::deletion::StoredEvidence>, Error>;
}

/// What the deletion sweep asks of the vendors: what they list now, and the deletion calls.
#[async_trait]
pub trait VendorCopies: Send + Sync {
    /// The recording's files as the vendor lists them now (or that it is gone).
    async fn listing(
        &self,
        conn: &Connection,
        rec: &crate::catalog::RecordingEntry,
    ) -> Result<crate::deletion::VendorListing, Error>;
    /// What to put on the events queue so that a recording the vendor lists with files we have not archived
    /// is archived first (through enqueue, like a webhook); `None` if the vendor has no way to say.
    async fn rearchive(
        &self,
        conn: &Connection,
        rec: &crate::catalog::RecordingEntry,
    ) -> Result<Option<crate::messages::IngestMessage>, Error>;
    /// Deletes the vendor copy by the connection's plan (`files`: the verified file ids; with the plan's file
    /// scope only these go; `listed`: what the vendor listed when they were verified), making the calls in
    /// order and stopping at the first that does not succeed.
    async fn delete(
        &self,
        conn: &Connection,
        rec: &crate::catalog::RecordingEntry,
        files: &[String],
        listed: &[crate::deletion::VendorFile],
        action: crate::config::DeleteAction,
        scope: crate::config::DeleteScope,
    ) -> Result<Vec<crate::deletion::CallResult>, Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_body_carries_the_crc32_of_its_bytes() {
        let whole: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut crc = crc32fast::Hasher::new();
        for c in whole.chunks(7_777) {
            crc.update(c);
        }
        let filled = PartBody::filled(Bytes::from(whole.clone()), crc);
        let direct = PartBody::from(Bytes::from(whole.clone()));
        assert_eq!(filled.crc32(), crc32fast::hash(&whole));
        assert_eq!(
            (filled.len(), filled.bytes(), filled.crc32()),
            (direct.len(), direct.bytes(), direct.crc32())
        );
        assert!(PartBody::filled(Bytes::new(), crc32fast::Hasher::new()).is_empty());
    }
}
