//! The people of a Webex meeting (`meetingParticipants`, every page) as [`Attendees`] for the owner rules.

use super::WebexConnections;
use super::api::WebexParticipant;
use crate::catalog::{Attendees, RecordingEntry};
use crate::config::Connection;
use crate::error::Error;
use crate::ids::Email;
use crate::owner::AttendeeSource;
use async_trait::async_trait;

/// [`AttendeeSource`] over the Webex API of each connection.
pub struct WebexAttendees<W>(pub W);

#[async_trait]
impl<W: WebexConnections> AttendeeSource for WebexAttendees<W> {
    async fn attendees(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<Option<Attendees>, Error> {
        listed(&self.0, conn, rec).await
    }
}

/// The meeting's participants over the connection's API client, sorted by [`attendees_of`].
pub async fn listed(
    webex: &impl WebexConnections,
    conn: &Connection,
    rec: &RecordingEntry,
) -> Result<Option<Attendees>, Error> {
    let api = webex.api(conn).await?;
    let people = api
        .participants(rec.instance_id.as_str(), rec.host_email.as_ref())
        .await?;
    Ok(Some(attendees_of(&people)))
}

/// Sorts Webex participants into host, co-hosts and participants (unique e-mails, in listing order).
pub fn attendees_of(people: &[WebexParticipant]) -> Attendees {
    let mut a = Attendees::default();
    for p in people {
        let Some(email) = p.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
            continue;
        };
        if p.host && a.host.is_none() {
            a.host = Some(email.clone());
        }
        if p.co_host && !a.co_hosts.contains(&email) {
            a.co_hosts.push(email.clone());
        }
        if !a.participants.contains(&email) {
            a.participants.push(email);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{FakeWebex, MemoryConfig, user};
    use crate::ids::{TenantId, UserId, Vendor};
    use crate::owner::{decide, resolve_co_users};

    #[tokio::test]
    async fn participants_give_host_fallback_and_co_users() {
        let webex = FakeWebex::default();
        let person = |email: &str, host, co_host| WebexParticipant {
            id: None,
            host,
            co_host,
            email: Some(email.into()),
            display_name: None,
        };
        *webex.participants.lock().unwrap() = vec![
            person("Bob@Uni.edu", true, false),
            person("alice@uni.edu", false, true),
            person("stranger@else.org", false, true),
            person("alice@uni.edu", false, true),
            person("student@uni.edu", false, false),
        ];
        let dir = MemoryConfig {
            connections: vec![],
            users: vec![user("alice", "alice@uni.edu"), user("bob", "bob@uni.edu")],
        };
        let c = crate::fakes::connection(Vendor::Webex);
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let mut rec = RecordingEntry::new(
            &crate::zoom::event::normalise(raw).unwrap(),
            TenantId::parse("uni").unwrap(),
            c.id.clone(),
            chrono::Utc::now(),
        );
        rec.vendor = Vendor::Webex;
        (rec.host_id, rec.host_email) = (None, None);
        let mut people = WebexAttendees(webex.clone())
            .attendees(&c, &rec)
            .await
            .unwrap()
            .expect("webex lists participants");
        assert_eq!(people.host.as_ref().map(Email::as_str), Some("bob@uni.edu"));
        assert_eq!(people.co_hosts.len(), 2, "unique co-hosts");
        assert_eq!(people.participants.len(), 4);
        rec.attendees = Some(people.clone());
        let got = decide(&rec, &c, &dir, &crate::owner::HostFacts::default())
            .await
            .unwrap();
        let owner = got.owner.unwrap();
        assert_eq!((owner.as_str(), got.rule), ("bob", "participant_host"));
        resolve_co_users(&mut people, &c, Some(&owner), &dir)
            .await
            .unwrap();
        assert_eq!(people.co_users, vec![UserId::parse("alice").unwrap()]);
        assert!(
            webex.calls.lock().unwrap()[0].starts_with("participants "),
            "{:?}",
            webex.calls
        );
    }
}
