//! Owner resolution: who owns a recording, decided by the connection's [`OwnerPolicy`] over the tenant's
//! directory, with a trace of every rule tried (stored on the entry as `owner_trace`, printed by
//! `archiver-admin explain`), so that any decision can be explained.
//!
//! The rules, in order; the first that finds an active user wins (a blocked user counts as not found):
//! 1. `host_vendor_id`: the host's vendor user id (Zoom `host_id`), among the users' vendor ids.
//! 2. For the host's e-mail, then (Webex) the participant the vendor flags as host: the *name* made of it by
//!    `owner.postfix` is looked for as a user id (`user_id`), then by `owner.lookup`: the users' e-mail
//!    (`host_email`) or their external id (`external_id`).
//! 3. `default_owner`: the connection's.
//!
//! Where the vendor lists a meeting's people ([`AttendeeSource`]: Webex `meetingParticipants`; Zoom's
//! co-hosts, alternative hosts, participants and panelists, each only where the connection's policy uses it),
//! they are recorded on the entry: the host (Webex: a fallback when the recording itself names none), the
//! co-hosts (those in the directory become co-users), the other groups, the co-owners `co_owners` makes of
//! them ([`resolve_co_users`]), and any list the vendor refused (`unread`).

use crate::catalog::{Attendees, RecordingEntry};
use crate::config::{Connection, Lookup, Postfix, User, UserStatus};
use crate::error::Error;
use crate::ids::{Email, UserId};
use crate::ports::UserDirectory;
use async_trait::async_trait;

pub use crate::config::OwnerPolicy;

/// Who owns a recording, which rule chose them, and every rule tried on the way (one line each). No owner:
/// nobody was found and the policy is `unmatched: skip`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub owner: Option<UserId>,
    /// The directory user a rule matched for the host (`None` when the default owner or nobody was chosen):
    /// whose groups and opt-out the routing rules read.
    pub host: Option<User>,
    pub rule: &'static str,
    pub trace: Vec<String>,
    /// Under `unmatched: create`: the directory user to add for the host (the owner stage writes it).
    pub create: Option<User>,
}

/// The rule name of a decision that found nobody under `unmatched: skip`.
pub const UNMATCHED_SKIP: &str = "unmatched_skip";
/// The rule name of a decision that found nobody under `unmatched: quarantine`: the default owner holds the
/// recording, archived under `quarantine/`, until an owner is assigned or the quarantine expires.
pub const QUARANTINE: &str = "quarantine";
/// The rule name of a decision that found nobody under `unmatched: create`: the host becomes a user.
pub const CREATED: &str = "created";
/// How a trace line says a rule found a blocked user.
const BLOCKED: &str = "is blocked: counts as not found";

impl Decision {
    /// Why the recording is skipped (`None`: it has an owner).
    pub fn skip_reason(&self) -> Option<String> {
        self.owner.is_none().then(|| {
            "no owner: no rule found an active directory user for the host (owner.unmatched: skip); add \
             the user, then archiver-admin retry --instance archives it"
                .to_owned()
        })
    }
}

/// A directory user a rule found: taken if active; a blocked one is passed over, and the trace says so.
fn take(rule: &str, looked: &str, found: Option<User>, trace: &mut Vec<String>) -> Option<User> {
    match found {
        None => {
            trace.push(format!("{rule}: {looked} → no directory user"));
            None
        }
        Some(u) if u.status == UserStatus::Blocked => {
            trace.push(format!("{rule}: {looked} → {} {BLOCKED}", u.id));
            None
        }
        Some(u) => {
            trace.push(format!("{rule}: {looked} → {} (chosen)", u.id));
            Some(u)
        }
    }
}

/// What the vendor says of the host beyond the recording, read at the owner stage ([`HostSource`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// Zoom's `cms_user_id` of the host (`owner.name_from: cms_user_id`); `None`: not read, or none.
    pub cms_user_id: Option<String>,
    /// Whether it was asked for (a replay does not ask).
    pub asked: bool,
}

/// Reads what [`HostFacts`] holds from the vendor.
#[async_trait]
pub trait HostSource: Send + Sync {
    async fn host_facts(&self, conn: &Connection, rec: &RecordingEntry)
    -> Result<HostFacts, Error>;
}

/// Decides the owner of `rec` by the connection's policy.
pub async fn decide(
    rec: &RecordingEntry,
    conn: &Connection,
    users: &dyn UserDirectory,
    facts: &HostFacts,
) -> Result<Decision, Error> {
    let t = &conn.tenant;
    let mut trace = Vec::new();
    let done = |host: User, rule, trace| {
        Ok(Decision {
            owner: Some(host.id.clone()),
            host: Some(host),
            rule,
            trace,
            create: None,
        })
    };
    match &rec.host_id {
        Some(id) => {
            let found = users.by_vendor_id(t, rec.vendor, id).await?;
            let looked = format!("{} user id {id}", rec.vendor);
            if let Some(owner) = take("host_vendor_id", &looked, found, &mut trace) {
                return done(owner, "host_vendor_id", trace);
            }
        }
        None => trace.push("host_vendor_id: the recording names no host id".into()),
    }
    let host = rec.host_email.as_ref();
    let flagged = rec.attendees.as_ref().and_then(|a| a.host.as_ref());
    for (whose, email) in [("host", host), ("participant_host", flagged)] {
        let Some(email) = email else {
            // Only where the vendor lists the meeting's people is there a flagged host to miss.
            if whose == "host" || rec.attendees.is_some() {
                trace.push(format!("{whose}: no e-mail"));
            }
            continue;
        };
        if whose == "participant_host" && Some(email) == host {
            continue;
        }
        let cms = (whose == "host").then_some(facts);
        if let Some(found) = by_name(whose, email, cms, conn, users, &mut trace).await? {
            return done(found.0, found.1, trace);
        }
    }
    if conn.owner.unmatched == crate::config::Unmatched::Skip {
        trace.push(format!(
            "{UNMATCHED_SKIP}: no rule above found an active user: not archived, recorded as skipped"
        ));
        return Ok(Decision {
            owner: None,
            host: None,
            rule: UNMATCHED_SKIP,
            trace,
            create: None,
        });
    }
    if conn.owner.unmatched == crate::config::Unmatched::Create {
        let blocked = trace.iter().any(|l| l.contains(BLOCKED));
        match new_user(rec, conn, facts) {
            Some(u) if !blocked => {
                trace.push(format!(
                    "{CREATED}: no rule above found an active user: {} ({}) is added to the directory and owns it",
                    u.id, u.email
                ));
                return Ok(Decision {
                    owner: Some(u.id.clone()),
                    host: Some(u.clone()),
                    rule: CREATED,
                    trace,
                    create: Some(u),
                });
            }
            Some(_) => trace.push(format!(
                "{CREATED}: the host is blocked in the directory: not created again"
            )),
            None => trace.push(format!(
                "{CREATED}: no host e-mail (or no usable name) to make a user of"
            )),
        }
    }
    let rule = if conn.owner.unmatched == crate::config::Unmatched::Quarantine {
        trace.push(format!(
            "{QUARANTINE}: no rule above found an active user: archived under quarantine/, held by {} for {} h \
             (archiver-admin assign-owner gives it its owner; otherwise our copy is then removed, the vendor's \
             kept)",
            conn.default_owner,
            conn.owner.quarantine_for().num_hours()
        ));
        QUARANTINE
    } else {
        trace.push(format!(
            "default_owner: {} (chosen: no rule above found an active user)",
            conn.default_owner
        ));
        "default_owner"
    };
    Ok(Decision {
        owner: Some(conn.default_owner.clone()),
        host: None,
        rule,
        trace,
        create: None,
    })
}

/// The directory user `unmatched: create` adds for the host: its id from the name the rules looked for (the
/// host's `cms_user_id` with `name_from: cms_user_id`, else the e-mail with `postfix`, made a user id by
/// [`UserId::from_name`]), its e-mail, and its vendor user id. `None` without a host e-mail.
fn new_user(rec: &RecordingEntry, conn: &Connection, facts: &HostFacts) -> Option<User> {
    let email = rec
        .host_email
        .as_ref()
        .or_else(|| rec.attendees.as_ref().and_then(|a| a.host.as_ref()))?
        .clone();
    let name = match (&facts.cms_user_id, conn.owner.name_from) {
        (Some(c), crate::config::NameFrom::CmsUserId) => c.clone(),
        _ => conn.owner.postfix.apply(email.as_str()),
    };
    let id = UserId::from_name(&name)?;
    Some(User {
        id,
        tenant: conn.tenant.clone(),
        name: email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
        vendor_ids: rec
            .host_id
            .iter()
            .map(|h| crate::config::VendorUserId {
                vendor: rec.vendor,
                id: h.clone(),
            })
            .collect(),
        email,
        external_id: None,
        status: UserStatus::Active,
        groups: vec![],
        opt_out: false,
    })
}

/// The e-mail's name (`owner.postfix`, or with `owner.name_from: cms_user_id` the host's `cms_user_id` in
/// `cms`) as a user id, then by `owner.lookup`.
async fn by_name(
    whose: &str,
    email: &Email,
    cms: Option<&HostFacts>,
    conn: &Connection,
    users: &dyn UserDirectory,
    trace: &mut Vec<String>,
) -> Result<Option<(User, &'static str)>, Error> {
    let t = &conn.tenant;
    let cms_name = match cms {
        Some(f) if conn.owner.name_from == crate::config::NameFrom::CmsUserId => {
            match (&f.cms_user_id, f.asked) {
                (Some(id), _) => {
                    trace.push(format!("cms_user_id: Zoom maps the host to {id}"));
                    Some(id.clone())
                }
                (None, true) => {
                    trace.push(
                        "cms_user_id: Zoom has none for the host: the e-mail as it is".into(),
                    );
                    Some(email.to_string())
                }
                (None, false) => {
                    trace.push(
                        "cms_user_id: not read here (the owner stage asks Zoom): the e-mail as it is".into(),
                    );
                    Some(email.to_string())
                }
            }
        }
        _ => None,
    };
    let name = cms_name
        .clone()
        .unwrap_or_else(|| conn.owner.postfix.apply(email.as_str()));
    let shown = if name == email.as_str() {
        format!("{whose} e-mail {email}")
    } else if cms_name.is_some() {
        format!("{whose}'s cms_user_id {name}")
    } else {
        let how = match &conn.owner.postfix {
            Postfix::Add(p) => format!("{p} added"),
            Postfix::Remove(p) => format!("{p} removed"),
            Postfix::Keep => String::new(),
        };
        format!("{whose} e-mail {email} with {how}: {name}")
    };
    let rule = |r: &'static str| {
        if whose == "host" {
            r
        } else {
            "participant_host"
        }
    };
    match UserId::parse(name.to_ascii_lowercase()) {
        Ok(id) => {
            let found = users.by_id(t, &id).await?;
            if let Some(o) = take(
                rule("user_id"),
                &format!("{shown}, as user id"),
                found,
                trace,
            ) {
                return Ok(Some((o, rule("user_id"))));
            }
        }
        Err(_) => trace.push(format!("{}: {shown} is not a user id", rule("user_id"))),
    }
    let other = Email::parse(&name).ok().filter(|e| e != email);
    let tries: Vec<(&'static str, String, Option<User>)> = match conn.owner.lookup {
        Lookup::Email => {
            let mut v = vec![(
                rule("host_email"),
                format!("{whose} e-mail {email}"),
                users.by_email(t, email).await?,
            )];
            if let Some(o) = &other {
                v.push((
                    rule("host_email"),
                    format!("{shown}, as e-mail"),
                    users.by_email(t, o).await?,
                ));
            }
            v
        }
        Lookup::ExternalId => {
            let mut v = vec![(
                rule("external_id"),
                format!("{shown}, as external id"),
                users.by_external_id(t, &name).await?,
            )];
            if name != email.as_str() {
                v.push((
                    rule("external_id"),
                    format!("{whose} e-mail {email}, as external id"),
                    users.by_external_id(t, email.as_str()).await?,
                ));
            }
            v
        }
    };
    for (r, looked, found) in tries {
        if let Some(o) = take(r, &looked, found, trace) {
            return Ok(Some((o, r)));
        }
    }
    Ok(None)
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

/// Fills `co_users` (the co-hosts who are active directory users, never the owner) and `co_owners` (each
/// group of the meeting's people by the connection's `co_owners` mapping: directory users, and the e-mails
/// of people not in it); one trace line per person. A person is looked up by e-mail, then by the name
/// `owner.postfix` and `owner.lookup` make of it; the first group that names someone decides their role
/// (co-hosts, alternative hosts, panelists, participants, in this order).
pub async fn resolve_co_users(
    attendees: &mut Attendees,
    conn: &Connection,
    owner: Option<&UserId>,
    users: &dyn UserDirectory,
) -> Result<Vec<String>, Error> {
    use crate::catalog::CoOwner;
    use crate::config::CoRole;
    attendees.co_users.clear();
    attendees.co_owners.clear();
    let p = conn.co_owners;
    let groups = [
        ("co_host", attendees.co_hosts.clone(), p.co_hosts),
        (
            "alternative_host",
            attendees.alternative_hosts.clone(),
            p.alternative_hosts,
        ),
        ("panelist", attendees.panelists.clone(), p.panelists),
        (
            "participant",
            attendees.participants.clone(),
            p.participants,
        ),
    ];
    let mut trace = Vec::new();
    for (from, emails, role) in groups {
        // Co-hosts are looked up even when ignored: `routing.co_hosts` counts their wishes.
        if role == CoRole::Ignore && from != "co_host" {
            if !emails.is_empty() {
                trace.push(format!(
                    "{from}s: {} ignored (co_owners.{from}s: ignore)",
                    emails.len()
                ));
            }
            continue;
        }
        for email in emails {
            if let Some(known) = attendees.co_owners.iter().find(|c| c.email == email) {
                trace.push(format!("{from} {email}: already a {}", known.role.as_str()));
                continue;
            }
            let line = match person(&email, conn, users).await? {
                None if role == CoRole::Ignore => "not in the directory; ignored".to_owned(),
                None => {
                    attendees.co_owners.push(CoOwner {
                        role,
                        from: from.to_owned(),
                        email: email.clone(),
                        user: None,
                    });
                    format!(
                        "not in the directory: kept as an e-mail ({})",
                        role.as_str()
                    )
                }
                Some(u) if Some(&u.id) == owner => format!("{} is the owner", u.id),
                Some(u) if u.status == UserStatus::Blocked => {
                    format!("{} is blocked: not added", u.id)
                }
                Some(u) => {
                    if from == "co_host" && !attendees.co_users.contains(&u.id) {
                        attendees.co_users.push(u.id.clone());
                    }
                    if role == CoRole::Ignore {
                        format!("{} (co_owners.co_hosts: ignore)", u.id)
                    } else if attendees
                        .co_owners
                        .iter()
                        .any(|c| c.user.as_ref() == Some(&u.id))
                    {
                        format!("{} already added", u.id)
                    } else {
                        attendees.co_owners.push(CoOwner {
                            role,
                            from: from.to_owned(),
                            email: email.clone(),
                            user: Some(u.id.clone()),
                        });
                        format!("{} added as {}", u.id, role.as_str())
                    }
                }
            };
            trace.push(format!("{from} {email}: {line}"));
        }
    }
    Ok(trace)
}

/// A meeting's person in the directory: by e-mail, else the name the owner policy makes of it as a user id,
/// else (`lookup: external_id`) the name, then the e-mail, as an external id.
async fn person(
    email: &Email,
    conn: &Connection,
    users: &dyn UserDirectory,
) -> Result<Option<User>, Error> {
    let t = &conn.tenant;
    if let Some(u) = users.by_email(t, email).await? {
        return Ok(Some(u));
    }
    let name = conn.owner.postfix.apply(email.as_str());
    if let Ok(id) = UserId::parse(name.to_ascii_lowercase())
        && let Some(u) = users.by_id(t, &id).await?
    {
        return Ok(Some(u));
    }
    if conn.owner.lookup == Lookup::ExternalId {
        for x in [name.as_str(), email.as_str()] {
            if let Some(u) = users.by_external_id(t, x).await? {
                return Ok(Some(u));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VendorUserId;
    use crate::fakes::MemoryConfig;
    use crate::ids::{TenantId, Vendor};

    fn conn(postfix: Postfix, lookup: Lookup) -> Connection {
        let mut c = crate::fakes::connection(Vendor::Zoom);
        c.owner = OwnerPolicy {
            postfix,
            lookup,
            ..OwnerPolicy::default()
        };
        c
    }

    fn user(id: &str, email: &str, zoom: &[&str]) -> User {
        User {
            vendor_ids: zoom
                .iter()
                .map(|z| VendorUserId {
                    vendor: Vendor::Zoom,
                    id: z.to_string(),
                })
                .collect(),
            ..crate::fakes::user(id, email)
        }
    }

    fn recording(host_id: Option<&str>, email: Option<&str>) -> RecordingEntry {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let rec = crate::zoom::event::normalise(raw).unwrap();
        let mut e = RecordingEntry::new(
            &rec,
            TenantId::parse("uni").unwrap(),
            crate::fakes::connection(Vendor::Zoom).id,
            chrono::Utc::now(),
        );
        e.host_id = host_id.map(str::to_owned);
        e.host_email = email.map(|m| Email::parse(m).unwrap());
        e
    }

    fn directory() -> MemoryConfig {
        let mut blocked = user("carl", "carl@uni.edu", &["Z3"]);
        blocked.status = UserStatus::Blocked;
        let mut dana = user("dana", "dana.k@uni.edu", &[]);
        dana.external_id = Some("dk42@uni.edu".into());
        MemoryConfig {
            connections: vec![],
            users: vec![
                user("alice", "alice@uni.edu", &["Z1"]),
                user("bob", "bob@uni.edu", &[]),
                blocked,
                dana,
                user("jdoe", "john.doe@uni.edu", &[]),
            ],
        }
    }

    #[tokio::test]
    async fn each_option_decides_as_documented_and_says_why() {
        let remove = || Postfix::Remove("@uni.edu".into());
        let add = || Postfix::Add("@uni.edu".into());
        use Lookup::{Email as ByEmail, ExternalId};
        // Policy, vendor host id, host e-mail → owner and the rule that chose them.
        type Case<'a> = (
            Postfix,
            Lookup,
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            &'a str,
        );
        let cases: Vec<Case> = vec![
            // Today's defaults: vendor id, then e-mail, then the default owner.
            (
                Postfix::Keep,
                ByEmail,
                Some("Z1"),
                Some("bob@uni.edu"),
                "alice",
                "host_vendor_id",
            ),
            (
                Postfix::Keep,
                ByEmail,
                Some("unknown"),
                Some("BOB@uni.edu"),
                "bob",
                "host_email",
            ),
            (
                Postfix::Keep,
                ByEmail,
                None,
                Some("nobody@uni.edu"),
                "media",
                "default_owner",
            ),
            (Postfix::Keep, ByEmail, None, None, "media", "default_owner"),
            // A blocked user counts as not found, by vendor id and by e-mail.
            (
                Postfix::Keep,
                ByEmail,
                Some("Z3"),
                Some("carl@uni.edu"),
                "media",
                "default_owner",
            ),
            // Removing the postfix makes the e-mail a user id: jdoe@uni.edu → jdoe.
            (
                remove(),
                ByEmail,
                None,
                Some("jdoe@uni.edu"),
                "jdoe",
                "user_id",
            ),
            (
                Postfix::Keep,
                ByEmail,
                None,
                Some("jdoe@uni.edu"),
                "media",
                "default_owner",
            ),
            // A name that is no user id (`dana.k`) falls through to the e-mail as it is.
            (
                remove(),
                ByEmail,
                None,
                Some("dana.k@uni.edu"),
                "dana",
                "host_email",
            ),
            // Adding a postfix the e-mail has already changes nothing.
            (
                add(),
                ByEmail,
                None,
                Some("bob@uni.edu"),
                "bob",
                "host_email",
            ),
            (
                add(),
                ExternalId,
                None,
                Some("dk42@uni.edu"),
                "dana",
                "external_id",
            ),
            // External ids: the name first, then the e-mail as it is.
            (
                Postfix::Keep,
                ExternalId,
                None,
                Some("dk42@uni.edu"),
                "dana",
                "external_id",
            ),
            (
                Postfix::Keep,
                ExternalId,
                None,
                Some("dana.k@uni.edu"),
                "media",
                "default_owner",
            ),
            (
                Postfix::Keep,
                ByEmail,
                None,
                Some("dana.k@uni.edu"),
                "dana",
                "host_email",
            ),
        ];
        let dir = directory();
        for (postfix, lookup, host, email, owner, rule) in cases {
            let c = conn(postfix.clone(), lookup);
            let d = decide(
                &recording(host, email),
                &c,
                &dir,
                &crate::owner::HostFacts::default(),
            )
            .await
            .unwrap();
            assert_eq!(
                (d.owner.as_ref().unwrap().as_str(), d.rule),
                (owner, rule),
                "{postfix:?} {lookup:?} {host:?} {email:?}: {:#?}",
                d.trace
            );
            let last = d.trace.last().unwrap();
            assert!(last.starts_with(rule) && last.contains("(chosen"), "{last}");
        }
        let c = conn(Postfix::Keep, ByEmail);
        let d = decide(
            &recording(Some("Z3"), Some("carl@uni.edu")),
            &c,
            &dir,
            &crate::owner::HostFacts::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            d.trace[0],
            "host_vendor_id: zoom user id Z3 → carl is blocked: counts as not found"
        );
        assert!(
            d.trace
                .iter()
                .any(|l| l == "user_id: host e-mail carl@uni.edu is not a user id")
        );
    }

    /// `unmatched: create`: a stranger becomes a user (id from the name the rules looked for); a blocked host
    /// or one with no e-mail goes to the default owner.
    #[tokio::test]
    async fn unmatched_create_makes_a_stranger_a_user_but_never_a_blocked_host_again() {
        let mut c = conn(Postfix::Remove("@uni.edu".into()), Lookup::Email);
        c.owner.unmatched = crate::config::Unmatched::Create;
        let facts = crate::owner::HostFacts::default();
        let d = decide(
            &recording(Some("Z9"), Some("New.Person@uni.edu")),
            &c,
            &directory(),
            &facts,
        )
        .await
        .unwrap();
        let made = d.create.as_ref().expect("a user to create");
        assert_eq!(
            (
                made.id.as_str(),
                made.email.as_str(),
                made.vendor_ids[0].id.as_str(),
                d.rule
            ),
            ("new-person", "new.person@uni.edu", "Z9", CREATED)
        );
        assert_eq!(d.owner.as_ref(), Some(&made.id));
        // Carl is blocked (found by his Zoom id): not made a user again.
        let d = decide(
            &recording(Some("Z3"), Some("carl@uni.edu")),
            &c,
            &directory(),
            &facts,
        )
        .await
        .unwrap();
        assert_eq!(
            (d.owner.unwrap().as_str(), d.rule, d.create),
            ("media", "default_owner", None)
        );
        assert!(
            d.trace
                .iter()
                .any(|l| l.contains("blocked in the directory")),
            "{:#?}",
            d.trace
        );
        let d = decide(&recording(None, None), &c, &directory(), &facts)
            .await
            .unwrap();
        assert_eq!((d.rule, d.create), ("default_owner", None));
    }

    #[tokio::test]
    async fn unmatched_skip_leaves_a_stranger_without_owner_and_says_why_and_a_match_still_wins() {
        let mut c = conn(Postfix::Keep, Lookup::Email);
        c.owner.unmatched = crate::config::Unmatched::Skip;
        let d = decide(
            &recording(None, Some("visitor@else.org")),
            &c,
            &directory(),
            &crate::owner::HostFacts::default(),
        )
        .await
        .unwrap();
        assert_eq!((d.owner.as_ref(), d.rule), (None, UNMATCHED_SKIP));
        assert!(
            d.trace.last().unwrap().contains("recorded as skipped"),
            "{:#?}",
            d.trace
        );
        assert!(d.skip_reason().unwrap().contains("owner.unmatched: skip"));
        let d = decide(
            &recording(None, Some("bob@uni.edu")),
            &c,
            &directory(),
            &crate::owner::HostFacts::default(),
        )
        .await
        .unwrap();
        assert_eq!(d.owner.unwrap().as_str(), "bob");
    }

    #[tokio::test]
    async fn the_participant_flagged_host_is_tried_after_the_host_and_users_of_other_tenants_never_match()
     {
        let c = conn(Postfix::Keep, Lookup::Email);
        let mut rec = recording(None, Some("stranger@else.edu"));
        rec.attendees = Some(Attendees {
            host: Some(Email::parse("alice@uni.edu").unwrap()),
            ..Attendees::default()
        });
        let d = decide(&rec, &c, &directory(), &crate::owner::HostFacts::default())
            .await
            .unwrap();
        assert_eq!(
            (d.owner.unwrap().as_str(), d.rule),
            ("alice", "participant_host")
        );
        let mut other = user("eve", "eve@uni.edu", &["Z9"]);
        other.tenant = TenantId::parse("other").unwrap();
        let dir = MemoryConfig {
            connections: vec![],
            users: vec![other],
        };
        let d = decide(
            &recording(Some("Z9"), Some("eve@uni.edu")),
            &c,
            &dir,
            &crate::owner::HostFacts::default(),
        )
        .await
        .unwrap();
        assert_eq!(d.owner.unwrap().as_str(), "media");
    }

    #[tokio::test]
    async fn co_hosts_become_co_users_unless_blocked_the_owner_or_unknown_and_each_says_so() {
        let c = conn(Postfix::Keep, Lookup::Email);
        let mut people = Attendees {
            co_hosts: [
                "bob@uni.edu",
                "carl@uni.edu",
                "alice@uni.edu",
                "guest@else.edu",
                "bob@uni.edu",
            ]
            .iter()
            .map(|e| Email::parse(*e).unwrap())
            .collect(),
            ..Attendees::default()
        };
        let alice = UserId::parse("alice").unwrap();
        let trace = resolve_co_users(&mut people, &c, Some(&alice), &directory())
            .await
            .unwrap();
        assert_eq!(people.co_users, [UserId::parse("bob").unwrap()]);
        assert_eq!(
            trace,
            [
                "co_host bob@uni.edu: bob added as co_publisher",
                "co_host carl@uni.edu: carl is blocked: not added",
                "co_host alice@uni.edu: alice is the owner",
                "co_host guest@else.edu: not in the directory: kept as an e-mail (co_publisher)",
                "co_host bob@uni.edu: already a co_publisher",
            ]
        );
    }

    /// Each group mapped on and off: who becomes what, the e-mails of strangers kept, the first group wins.
    #[tokio::test]
    async fn each_group_of_people_is_mapped_to_its_role_or_ignored() {
        use crate::config::{CoOwnerPolicy, CoRole};
        let emails =
            |v: &[&str]| -> Vec<Email> { v.iter().map(|e| Email::parse(*e).unwrap()).collect() };
        // As Webex lists them: everyone is a participant, the co-hosts too.
        let people = Attendees {
            co_hosts: emails(&["bob@uni.edu"]),
            participants: emails(&[
                "alice@uni.edu",
                "bob@uni.edu",
                "jdoe@uni.edu",
                "guest@else.edu",
            ]),
            alternative_hosts: emails(&["dk42@uni.edu"]),
            ..Attendees::default()
        };
        let alice = UserId::parse("alice").unwrap();
        let roles = |a: &Attendees| -> Vec<(String, &'static str, Option<String>)> {
            a.co_owners
                .iter()
                .map(|c| {
                    (
                        c.email.to_string(),
                        c.role.as_str(),
                        c.user.as_ref().map(|u| u.to_string()),
                    )
                })
                .collect()
        };
        let run = |policy: CoOwnerPolicy, lookup: Lookup| {
            let mut c = conn(Postfix::Remove("@uni.edu".into()), lookup);
            c.co_owners = policy;
            let mut p = people.clone();
            let alice = alice.clone();
            async move {
                let trace = resolve_co_users(&mut p, &c, Some(&alice), &directory())
                    .await
                    .unwrap();
                (p, trace)
            }
        };
        // The default: co-hosts co-publish; nobody else.
        let (p, trace) = run(CoOwnerPolicy::default(), Lookup::Email).await;
        assert_eq!(
            roles(&p),
            [("bob@uni.edu".into(), "co_publisher", Some("bob".into()))]
        );
        assert!(
            trace.contains(&"participants: 4 ignored (co_owners.participants: ignore)".to_owned()),
            "{trace:#?}"
        );
        // Everyone mapped: participants co-view, alternative hosts co-edit (found by external id).
        let all = CoOwnerPolicy {
            co_hosts: CoRole::CoEditor,
            alternative_hosts: CoRole::CoEditor,
            panelists: CoRole::CoViewer,
            participants: CoRole::CoViewer,
        };
        let (p, trace) = run(all, Lookup::ExternalId).await;
        assert_eq!(
            roles(&p),
            [
                ("bob@uni.edu".into(), "co_editor", Some("bob".into())),
                ("dk42@uni.edu".into(), "co_editor", Some("dana".into())),
                ("jdoe@uni.edu".into(), "co_viewer", Some("jdoe".into())),
                ("guest@else.edu".into(), "co_viewer", None),
            ]
        );
        assert!(trace.contains(&"participant alice@uni.edu: alice is the owner".to_owned()));
        assert!(trace.contains(&"participant bob@uni.edu: already a co_editor".to_owned()));
        assert_eq!(
            p.co_users,
            [UserId::parse("bob").unwrap()],
            "co-hosts in the directory"
        );
        // Co-hosts ignored as co-owners still count for routing.
        let (p, _) = run(
            CoOwnerPolicy {
                co_hosts: CoRole::Ignore,
                ..CoOwnerPolicy::default()
            },
            Lookup::Email,
        )
        .await;
        assert!(p.co_owners.is_empty());
        assert_eq!(p.co_users, [UserId::parse("bob").unwrap()]);
    }

    #[test]
    fn postfixes_are_added_once_removed_only_at_the_end_and_checked() {
        let add = Postfix::Add("@uni.edu".into());
        assert_eq!(add.apply("jdoe"), "jdoe@uni.edu");
        assert_eq!(add.apply("jdoe@UNI.edu"), "jdoe@UNI.edu");
        let rm = Postfix::Remove("@uni.edu".into());
        assert_eq!(rm.apply("jdoe@Uni.Edu"), "jdoe");
        assert_eq!(rm.apply("jdoe@uni.edu.au"), "jdoe@uni.edu.au");
        assert_eq!(rm.apply("@uni.edu"), "@uni.edu", "never to nothing");
        let bad = OwnerPolicy {
            postfix: Postfix::Add(" ".into()),
            ..OwnerPolicy::default()
        };
        assert_eq!(bad.problems()[0].0, "postfix");
        assert!(OwnerPolicy::default().problems().is_empty());
    }
}
