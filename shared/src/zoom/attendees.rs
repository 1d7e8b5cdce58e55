//! The people of a Zoom meeting or webinar as [`Attendees`] for the owner rules: co-hosts (the dashboard's
//! past participants with role `cohost`), alternative hosts (the meeting's settings), participants (the
//! participant report) and, for webinars, panelists. Only the lists the connection's policy uses are asked
//! for ([`Needed`]): the report is a "Heavy" call, and every call counts against the account's limits.
//!
//! A list Zoom refuses for good (no scope, not on the account's plan, the meeting gone) is left out and
//! recorded in [`Attendees::unread`]; the others are kept. A refusal that can heal (429, 5xx, a timeout) is
//! an error, so the message is retried.

use super::api::{MeetingRef, ZoomApi, ZoomConnections, ZoomParticipant};
use crate::catalog::{Attendees, RecordingEntry};
use crate::config::{CoRole, Connection};
use crate::error::{Class, Error, Kind};
use crate::ids::{Email, Vendor};
use crate::model::MeetingKind;
use crate::owner::AttendeeSource;
use async_trait::async_trait;

/// [`AttendeeSource`] over the Zoom API of each connection; asks only for what the connection's policy uses.
pub struct ZoomAttendees<Z>(pub Z);

#[async_trait]
impl<Z: ZoomConnections> AttendeeSource for ZoomAttendees<Z> {
    async fn attendees(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<Option<Attendees>, Error> {
        listed(&self.0, conn, rec).await
    }
}

/// The people of `rec` over the connection's API client, as far as its policy uses them; `None` where it
/// uses none (nothing is asked).
pub async fn listed(
    zoom: &impl ZoomConnections,
    conn: &Connection,
    rec: &RecordingEntry,
) -> Result<Option<Attendees>, Error> {
    let needed = Needed::of(conn, rec.kind);
    if !needed.any() {
        return Ok(None);
    }
    let api = zoom.api(conn).await?;
    read(api.as_ref(), rec, needed).await.map(Some)
}

/// Which of Zoom's lists a connection's policy uses for a recording of some kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needed {
    /// `co_owners.co_hosts` maps them, or `routing.co_hosts` counts their wishes.
    pub co_hosts: bool,
    pub alternative_hosts: bool,
    pub participants: bool,
    /// Webinars only.
    pub panelists: bool,
}

impl Needed {
    pub fn of(conn: &Connection, kind: MeetingKind) -> Self {
        if conn.vendor != Vendor::Zoom {
            return Self::default();
        }
        let p = conn.co_owners;
        Self {
            co_hosts: p.co_hosts != CoRole::Ignore || conn.routing.co_hosts,
            alternative_hosts: p.alternative_hosts != CoRole::Ignore,
            participants: p.participants != CoRole::Ignore,
            panelists: kind == MeetingKind::Webinar && p.panelists != CoRole::Ignore,
        }
    }

    pub fn any(&self) -> bool {
        self.co_hosts || self.alternative_hosts || self.participants || self.panelists
    }
}

/// Asks Zoom for the lists `needed` names, in this order: co-hosts, alternative hosts, participants,
/// panelists. E-mails are lower-cased and unique per list, in Zoom's order; people without one are skipped.
pub async fn read(
    api: &dyn ZoomApi,
    rec: &RecordingEntry,
    needed: Needed,
) -> Result<Attendees, Error> {
    let m = MeetingRef::of(rec);
    let mut a = Attendees::default();
    let mut unread = Vec::new();
    if needed.co_hosts
        && let Some(rows) = kept("co_hosts", api.metrics_participants(&m).await, &mut unread)?
    {
        a.co_hosts = emails(rows.iter().filter(|p| p.is_co_host()));
    }
    if needed.alternative_hosts {
        let listed = if m.id.trim().is_empty() {
            unread.push("alternative_hosts: not read: the recording names no meeting id".into());
            None
        } else {
            kept(
                "alternative_hosts",
                api.alternative_hosts(&m).await,
                &mut unread,
            )?
        };
        if let Some(listed) = listed {
            a.alternative_hosts = alternative_hosts(&listed);
        }
    }
    if needed.participants
        && let Some(rows) = kept(
            "participants",
            api.report_participants(&m).await,
            &mut unread,
        )?
    {
        a.participants = emails(rows.iter());
    }
    if needed.panelists && m.kind == MeetingKind::Webinar {
        let listed = if m.id.trim().is_empty() {
            unread.push("panelists: not read: the recording names no webinar id".into());
            None
        } else {
            kept("panelists", api.panelists(&m).await, &mut unread)?
        };
        if let Some(rows) = listed {
            a.panelists = emails(rows.iter());
        }
    }
    a.unread = unread;
    Ok(a)
}

/// A list's answer: `Some` if read; `None` if Zoom refused it for good (recorded in `unread` as
/// `<group>: not read: <why>`); the error if the refusal can heal.
fn kept<T>(
    group: &str,
    answer: Result<T, Error>,
    unread: &mut Vec<String>,
) -> Result<Option<T>, Error> {
    match answer {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class() == Class::Permanent => {
            tracing::warn!(group, error = %e, "Zoom refused a list of the meeting's people; going on without it");
            unread.push(format!("{group}: not read: {}", why(&e)));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Why a list was not read, from the error's kind and operation only (never its text, which is Zoom's), so
/// that no token, URL or identifier of anyone ends up on the entry.
fn why(e: &Error) -> String {
    let what = match e.kind() {
        Kind::NotFound | Kind::Status(404) => "Zoom has no such meeting (HTTP 404)".to_owned(),
        Kind::Status(s) => format!("Zoom refused it (HTTP {s}: a missing scope or plan?)"),
        Kind::Data => "Zoom's answer did not decode".to_owned(),
        Kind::Config => "the connection cannot call the Zoom API".to_owned(),
        other => format!("refused ({other:?})"),
    };
    match e.operation() {
        Some(op) => format!("{what}, {op}"),
        None => what,
    }
}

/// The e-mails of `people`, parsed (lower-cased), unique, in order; those without a valid one are skipped.
fn emails<'a>(people: impl Iterator<Item = &'a ZoomParticipant>) -> Vec<Email> {
    let mut out: Vec<Email> = Vec::new();
    for email in people.filter_map(|p| p.email.as_deref().and_then(|e| Email::parse(e).ok())) {
        if !out.contains(&email) {
            out.push(email);
        }
    }
    out
}

/// `settings.alternative_hosts`: e-mails separated by `;` (also `,`); blank: none.
fn alternative_hosts(listed: &str) -> Vec<Email> {
    let people: Vec<ZoomParticipant> = listed
        .split([';', ','])
        .map(|e| ZoomParticipant {
            email: Some(e.trim().to_owned()),
            role: None,
        })
        .collect();
    emails(people.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CoOwnerPolicy;
    use crate::fakes::{FakePeople, FakeZoom, connection};
    use crate::ids::TenantId;

    fn recording(kind: MeetingKind) -> RecordingEntry {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let mut rec = RecordingEntry::new(
            &crate::zoom::event::normalise(raw).unwrap(),
            TenantId::parse("uni").unwrap(),
            connection(Vendor::Zoom).id,
            chrono::Utc::now(),
        );
        rec.kind = kind;
        rec
    }

    fn person(email: &str, role: &str) -> ZoomParticipant {
        ZoomParticipant {
            email: (!email.is_empty()).then(|| email.to_owned()),
            role: (!role.is_empty()).then(|| role.to_owned()),
        }
    }

    /// A Zoom that knows the recording's people: co-hosts among other rows, alternative hosts, participants
    /// and panelists, with duplicates, odd cases and people without an e-mail.
    fn zoom(rec: &RecordingEntry) -> FakeZoom {
        let z = FakeZoom::default();
        z.people.lock().unwrap().insert(
            rec.instance_id.to_string(),
            FakePeople {
                metrics: vec![
                    person("host@uni.edu", "host"),
                    person("Ann@Uni.edu", "cohost"),
                    person("student@uni.edu", "attendee"),
                    person("", "cohost"),
                    person("bob@uni.edu", "Co-Host"),
                    person("ann@uni.edu", "COHOST"),
                    person("not-an-email", "cohost"),
                ],
                alternative_hosts: " A@x.edu; b@x.edu,,c@x.edu ;".into(),
                report: vec![
                    person("host@uni.edu", ""),
                    person("student@uni.edu", ""),
                    person("", ""),
                    person("Student@uni.edu", ""),
                ],
                panelists: vec![person("pan@uni.edu", ""), person("pan@uni.edu", "")],
            },
        );
        z
    }

    fn emails(v: &[Email]) -> Vec<&str> {
        v.iter().map(Email::as_str).collect()
    }

    #[tokio::test]
    async fn only_the_lists_the_policy_uses_are_asked_for() {
        use CoRole::{CoEditor, CoPublisher, CoViewer, Ignore};
        use MeetingKind::{Meeting, Webinar};
        let none = CoOwnerPolicy {
            co_hosts: Ignore,
            alternative_hosts: Ignore,
            panelists: Ignore,
            participants: Ignore,
        };
        // co_hosts, alternative_hosts, participants, panelists; routing.co_hosts; kind → the calls made.
        type Case = (CoOwnerPolicy, bool, MeetingKind, &'static [&'static str]);
        let cases: Vec<Case> = vec![
            (CoOwnerPolicy::default(), false, Meeting, &["metrics"]),
            (none, false, Meeting, &[]),
            (none, false, Webinar, &[]),
            (none, true, Meeting, &["metrics"]),
            (
                CoOwnerPolicy {
                    alternative_hosts: CoEditor,
                    ..none
                },
                false,
                Meeting,
                &["meeting"],
            ),
            (
                CoOwnerPolicy {
                    participants: CoViewer,
                    ..none
                },
                false,
                Meeting,
                &["report"],
            ),
            (
                CoOwnerPolicy {
                    panelists: CoPublisher,
                    ..none
                },
                false,
                Meeting,
                &[],
            ),
            (
                CoOwnerPolicy {
                    panelists: CoPublisher,
                    ..none
                },
                false,
                Webinar,
                &["panelists"],
            ),
            (
                CoOwnerPolicy {
                    co_hosts: CoEditor,
                    alternative_hosts: CoEditor,
                    panelists: CoPublisher,
                    participants: CoViewer,
                },
                false,
                Webinar,
                &["metrics", "meeting", "report", "panelists"],
            ),
        ];
        for (policy, routing_co_hosts, kind, want) in cases {
            let rec = recording(kind);
            let z = zoom(&rec);
            let mut conn = connection(Vendor::Zoom);
            conn.co_owners = policy;
            conn.routing.co_hosts = routing_co_hosts;
            let got = ZoomAttendees(z.clone())
                .attendees(&conn, &rec)
                .await
                .unwrap();
            let calls: Vec<String> = z.people_calls.lock().unwrap().clone();
            let names: Vec<&str> = calls.iter().map(|c| c.split(' ').next().unwrap()).collect();
            assert_eq!(names, want, "{policy:?} {routing_co_hosts} {kind:?}");
            assert_eq!(got.is_some(), !want.is_empty(), "nothing asked: no list");
            let Some(a) = got else { continue };
            assert!(a.unread.is_empty(), "{:?}", a.unread);
            let has = |call: &str| want.contains(&call);
            assert_eq!(!a.co_hosts.is_empty(), has("metrics"));
            assert_eq!(!a.alternative_hosts.is_empty(), has("meeting"));
            assert_eq!(!a.participants.is_empty(), has("report"));
            assert_eq!(!a.panelists.is_empty(), has("panelists"));
        }
        // The calls address the instance by uuid and the meeting by its id.
        let rec = recording(Webinar);
        let z = zoom(&rec);
        let mut conn = connection(Vendor::Zoom);
        conn.co_owners = CoOwnerPolicy {
            co_hosts: CoEditor,
            alternative_hosts: CoEditor,
            panelists: CoPublisher,
            participants: CoViewer,
        };
        let a = ZoomAttendees(z.clone())
            .attendees(&conn, &rec)
            .await
            .unwrap()
            .unwrap();
        let (uuid, id) = (rec.instance_id.to_string(), rec.meeting_id.clone());
        assert_eq!(
            *z.people_calls.lock().unwrap(),
            [
                format!("metrics {uuid}"),
                format!("meeting {id}"),
                format!("report {uuid}"),
                format!("panelists {id}"),
            ]
        );
        // Lower-cased, unique, in Zoom's order; rows without a (valid) e-mail skipped; only co-host rows.
        assert_eq!(emails(&a.co_hosts), ["ann@uni.edu", "bob@uni.edu"]);
        assert_eq!(
            emails(&a.alternative_hosts),
            ["a@x.edu", "b@x.edu", "c@x.edu"]
        );
        assert_eq!(emails(&a.participants), ["host@uni.edu", "student@uni.edu"]);
        assert_eq!(emails(&a.panelists), ["pan@uni.edu"]);
        // A Webex connection asks Zoom nothing.
        let webex = connection(Vendor::Webex);
        assert!(
            ZoomAttendees(z)
                .attendees(&webex, &rec)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_list_refused_for_good_is_recorded_and_the_others_kept() {
        let rec = recording(MeetingKind::Meeting);
        let z = zoom(&rec);
        z.people_fail
            .lock()
            .unwrap()
            .insert("report", (Class::Permanent, Kind::Status(400)));
        let mut conn = connection(Vendor::Zoom);
        conn.co_owners.alternative_hosts = CoRole::CoEditor;
        conn.co_owners.participants = CoRole::CoViewer;
        let a = ZoomAttendees(z.clone())
            .attendees(&conn, &rec)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(emails(&a.co_hosts), ["ann@uni.edu", "bob@uni.edu"]);
        assert_eq!(a.alternative_hosts.len(), 3);
        assert!(a.participants.is_empty());
        assert_eq!(
            a.unread,
            [
                "participants: not read: Zoom refused it (HTTP 400: a missing scope or plan?), report"
            ]
        );
        // A meeting Zoom no longer has: every list is unread, each says so, and nothing else is there.
        let gone = FakeZoom::default();
        let a = ZoomAttendees(gone)
            .attendees(&conn, &rec)
            .await
            .unwrap()
            .unwrap();
        let groups: Vec<&str> = a
            .unread
            .iter()
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(groups, ["co_hosts", "alternative_hosts", "participants"]);
        assert!(
            a.unread.iter().all(|l| l.contains("HTTP 404")),
            "{:?}",
            a.unread
        );
        assert_eq!(
            a,
            Attendees {
                unread: a.unread.clone(),
                ..Attendees::default()
            }
        );
    }

    #[tokio::test]
    async fn a_refusal_that_can_heal_is_an_error() {
        let rec = recording(MeetingKind::Meeting);
        let mut conn = connection(Vendor::Zoom);
        conn.co_owners.alternative_hosts = CoRole::CoEditor;
        for (call, kind) in [
            ("metrics", Kind::Status(429)),
            ("meeting", Kind::Status(503)),
            ("meeting", Kind::Network),
        ] {
            let z = zoom(&rec);
            z.people_fail
                .lock()
                .unwrap()
                .insert(call, (Class::Retryable, kind));
            let e = ZoomAttendees(z).attendees(&conn, &rec).await.unwrap_err();
            assert_eq!((e.class(), e.kind()), (Class::Retryable, kind), "{call}");
        }
    }

    #[test]
    fn rows_are_read_by_their_string_fields_only() {
        let p = ZoomParticipant::of(&serde_json::json!({
            "user_email": "A@uni.edu", "role": "cohost", "id": 17
        }));
        assert_eq!(
            (p.email.as_deref(), p.is_co_host()),
            (Some("A@uni.edu"), true)
        );
        let p = ZoomParticipant::of(&serde_json::json!({"email": " ", "user_email": "b@uni.edu"}));
        assert_eq!(
            p.email.as_deref(),
            Some("b@uni.edu"),
            "a blank email is none"
        );
        let p = ZoomParticipant::of(&serde_json::json!({"email": 5, "role": ["cohost"]}));
        assert_eq!(p, ZoomParticipant::default());
        for role in ["cohost", "Co-Host", "co_host", "CO HOST"] {
            assert!(person("x@y.z", role).is_co_host(), "{role}");
        }
        for role in ["host", "attendee", "panelist", "cohosts", ""] {
            assert!(!person("x@y.z", role).is_co_host(), "{role}");
        }
    }
}
