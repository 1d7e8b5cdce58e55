//! Owner resolution: an ordered chain of rules; the first that finds a user wins. The full option set
//! (categories, opt-in/out) plugs in here as further rules.
//!
//! Where the vendor lists a meeting's people ([`AttendeeSource`]; Webex `meetingParticipants`), they are
//! recorded on the entry: the host (a fallback when the recording itself names none), the co-hosts (those in
//! the directory become co-users) and the participants.

use crate::catalog::{Attendees, RecordingEntry};
use crate::config::Connection;
use crate::error::Error;
use crate::ids::{Email, UserId};
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
/// The participant the vendor flags as host (Webex `meetingParticipants` `host: true`), by e-mail.
pub struct ParticipantHost;
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

/// The directory user with this e-mail in the connection's tenant, if any.
async fn user_by_email(
    users: &dyn UserDirectory,
    conn: &Connection,
    email: Option<&Email>,
) -> Result<Option<UserId>, Error> {
    let Some(email) = email else {
        return Ok(None);
    };
    Ok(users.by_email(&conn.tenant, email).await?.map(|u| u.id))
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
        user_by_email(users, conn, rec.host_email.as_ref()).await
    }
}

#[async_trait]
impl OwnerRule for ParticipantHost {
    fn name(&self) -> &'static str {
        "participant_host"
    }
    async fn resolve(
        &self,
        rec: &RecordingEntry,
        conn: &Connection,
        users: &dyn UserDirectory,
    ) -> Result<Option<UserId>, Error> {
        let host = rec.attendees.as_ref().and_then(|a| a.host.as_ref());
        user_by_email(users, conn, host).await
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

/// The default chain: host id → host e-mail → participant flagged host → the connection's default owner.
pub fn default_rules() -> Vec<Box<dyn OwnerRule>> {
    vec![
        Box::new(HostVendorId),
        Box::new(HostEmail),
        Box::new(ParticipantHost),
        Box::new(DefaultOwner),
    ]
}

/// Lists a meeting's people at the vendor.
#[async_trait]
pub trait AttendeeSource: Send + Sync {
    /// `None` where the vendor offers no list for this recording.
    async fn attendees(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<Option<Attendees>, Error>;
}

/// Fills `co_users`: the co-hosts who are users of the tenant's directory (never the owner).
pub async fn resolve_co_users(
    attendees: &mut Attendees,
    conn: &Connection,
    owner: Option<&UserId>,
    users: &dyn UserDirectory,
) -> Result<(), Error> {
    attendees.co_users.clear();
    for email in &attendees.co_hosts {
        if let Some(u) = users.by_email(&conn.tenant, email).await?
            && Some(&u.id) != owner
            && !attendees.co_users.contains(&u.id)
        {
            attendees.co_users.push(u.id);
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{User, VendorUserId};
    use crate::fakes::MemoryConfig;
    use crate::ids::{Email, TenantId, Vendor};

    fn conn() -> Connection {
        crate::fakes::connection(Vendor::Zoom)
    }

    fn user(id: &str, email: &str, zoom: &[&str]) -> User {
        User {
            id: UserId::parse(id).unwrap(),
            tenant: TenantId::parse("uni").unwrap(),
            email: Email::parse(email).unwrap(),
            name: String::new(),
            vendor_ids: zoom
                .iter()
                .map(|z| VendorUserId {
                    vendor: Vendor::Zoom,
                    id: z.to_string(),
                })
                .collect(),
        }
    }

    fn recording(host_id: Option<&str>, email: Option<&str>) -> RecordingEntry {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let rec = crate::zoom::event::normalise(raw).unwrap();
        let mut e = RecordingEntry::new(
            &rec,
            TenantId::parse("uni").unwrap(),
            conn().id,
            chrono::Utc::now(),
        );
        e.host_id = host_id.map(str::to_owned);
        e.host_email = email.map(|m| Email::parse(m).unwrap());
        e
    }

    #[tokio::test]
    async fn rules_apply_in_order() {
        let dir = MemoryConfig {
            connections: vec![],
            users: vec![
                user("alice", "alice@uni.edu", &["Z1"]),
                user("bob", "bob@uni.edu", &[]),
            ],
        };
        let rules = default_rules();
        let c = conn();
        let cases = [
            (Some("Z1"), Some("bob@uni.edu"), "alice", "host_vendor_id"),
            (Some("unknown"), Some("BOB@uni.edu"), "bob", "host_email"),
            (None, Some("nobody@uni.edu"), "media", "default_owner"),
            (None, None, "media", "default_owner"),
        ];
        for (host, email, owner, rule) in cases {
            let got = resolve(&rules, &recording(host, email), &c, &dir)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (got.owner.as_str(), got.rule),
                (owner, rule),
                "{host:?} {email:?}"
            );
        }
        // A user of another tenant never matches.
        let mut other = user("eve", "eve@uni.edu", &["Z9"]);
        other.tenant = TenantId::parse("other").unwrap();
        let dir = MemoryConfig {
            connections: vec![],
            users: vec![other],
        };
        let got = resolve(&rules, &recording(Some("Z9"), None), &c, &dir)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.owner.as_str(), "media");
    }
}
