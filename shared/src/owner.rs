//! Owner resolution: an ordered chain of rules; the first that finds a user wins. The full option set
//! (co-users, categories, opt-in/out) plugs in here as further rules.

use crate::catalog::RecordingEntry;
use crate::config::Connection;
use crate::error::Error;
use crate::ids::UserId;
use crate::ports::UserDirectory;
use async_trait::async_trait;

/// The owner found and the rule that found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub owner: UserId,
    pub rule: &'static str,
}

/// One way to find an owner.
#[async_trait]
pub trait OwnerRule: Send + Sync {
    fn name(&self) -> &'static str;
    async fn resolve(
        &self,
        rec: &RecordingEntry,
        conn: &Connection,
        users: &dyn UserDirectory,
    ) -> Result<Option<UserId>, Error>;
}

/// The host's vendor user id, mapped through the directory.
pub struct HostVendorId;
/// The host's e-mail, mapped through the directory.
pub struct HostEmail;
/// The connection's default owner.
pub struct DefaultOwner;

#[async_trait]
impl OwnerRule for HostVendorId {
    fn name(&self) -> &'static str {
        "host_vendor_id"
    }
    async fn resolve(
        &self,
        rec: &RecordingEntry,
        conn: &Connection,
        users: &dyn UserDirectory,
    ) -> Result<Option<UserId>, Error> {
        let Some(id) = &rec.host_id else {
            return Ok(None);
        };
        Ok(users
            .by_vendor_id(&conn.tenant, rec.vendor, id)
            .await?
            .map(|u| u.id))
    }
}

#[async_trait]
impl OwnerRule for HostEmail {
    fn name(&self) -> &'static str {
        "host_email"
    }
    async fn resolve(
        &self,
        rec: &RecordingEntry,
        conn: &Connection,
        users: &dyn UserDirectory,
    ) -> Result<Option<UserId>, Error> {
        let Some(email) = &rec.host_email else {
            return Ok(None);
        };
        Ok(users.by_email(&conn.tenant, email).await?.map(|u| u.id))
    }
}

#[async_trait]
impl OwnerRule for DefaultOwner {
    fn name(&self) -> &'static str {
        "default_owner"
    }
    async fn resolve(
        &self,
        _: &RecordingEntry,
        conn: &Connection,
        _: &dyn UserDirectory,
    ) -> Result<Option<UserId>, Error> {
        Ok(Some(conn.default_owner.clone()))
    }
}

/// The default chain: host id → host e-mail → the connection's default owner.
pub fn default_rules() -> Vec<Box<dyn OwnerRule>> {
    vec![
        Box::new(HostVendorId),
        Box::new(HostEmail),
        Box::new(DefaultOwner),
    ]
}

/// Runs the rules in order.
pub async fn resolve(
    rules: &[Box<dyn OwnerRule>],
    rec: &RecordingEntry,
    conn: &Connection,
    users: &dyn UserDirectory,
) -> Result<Option<Resolved>, Error> {
    for rule in rules {
        if let Some(owner) = rule.resolve(rec, conn, users).await? {
            return Ok(Some(Resolved {
                owner,
                rule: rule.name(),
            }));
        }
    }
    Ok(None)
}
