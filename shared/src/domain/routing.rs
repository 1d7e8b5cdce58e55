//! Routing: whose recordings are archived (opt-in and opt-out by directory group, a user's own opt-out) and
//! where they are filed (categories), decided after the owner ([`crate::owner::decide`]) and traced the same
//! way, one line per rule, so that `archiver-admin explain` can say why.
//!
//! The rules, in order:
//! 1. The owner decision; nobody found under `owner.unmatched: skip` is not archived.
//! 2. The people whose wishes count: the host (the directory user the owner rule matched; a host matched by
//!    no rule is in no group), and with `routing.co_hosts` the co-hosts found in the directory.
//! 3. `user_opt_out`: one of them has `opt_out: true` → not archived.
//! 4. `opt_out_group`: one of them is in a group of `routing.opt_out` → not archived.
//! 5. `not_opted_in`: `routing.opt_in` is set and none of them is in one of its groups → not archived.
//! 6. Categories: the kind's defaults (`categories.meetings` or `.webinars`), then every rule whose
//!    conditions all hold (topic, host group, kind) adds its own, in order, each once.

use crate::catalog::{Attendees, Placement, RecordingEntry};
use crate::config::{Connection, User, topic_pattern};
use crate::error::Error;
use crate::ids::{Category, GroupId, UserId};
use crate::model::MeetingKind;
use crate::owner::{QUARANTINE, UNMATCHED_SKIP, decide, resolve_co_users};
use crate::ports::UserDirectory;
use serde::{Deserialize, Serialize};

/// A connection's routing (`routing:` in the tenant file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Only recordings of members of these groups are archived (empty: everyone's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opt_in: Vec<GroupId>,
    /// Recordings of members of these groups are not archived (wins over `opt_in`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opt_out: Vec<GroupId>,
    /// Co-hosts in the directory count like the host: one who opted in lets a recording in, one who opted out
    /// keeps it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub co_hosts: bool,
    #[serde(default, skip_serializing_if = "Categories::is_empty")]
    pub categories: Categories,
}

/// Where recordings are filed: defaults per kind, and rules that add more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meetings: Vec<Category>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webinars: Vec<Category>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<CategoryRule>,
}

impl Categories {
    pub fn is_empty(&self) -> bool {
        self.meetings.is_empty() && self.webinars.is_empty() && self.rules.is_empty()
    }
}

/// Adds `add` to every recording that meets all of the conditions given (at least one is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// A regular expression the topic matches (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// A group the host is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_group: Option<GroupId>,
    /// Only for these kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<MeetingKind>>,
    pub add: Vec<Category>,
}

/// The rule names of a recording routing keeps out (stored as the entry's `owner_rule`).
pub const USER_OPT_OUT: &str = "user_opt_out";
pub const OPT_OUT_GROUP: &str = "opt_out_group";
pub const NOT_OPTED_IN: &str = "not_opted_in";
/// The rule of a recording whose quarantine ran out with no owner assigned: our copy was removed (the
/// vendor's is kept); `archiver-admin retry` archives it again.
pub const QUARANTINE_EXPIRED: &str = "quarantine_expired";

/// Whether `rule` (an entry's `owner_rule`) kept the recording out before anything was downloaded: such a
/// recording goes back to the owner stage on `archiver-admin retry`.
pub fn skipped_by(rule: &str) -> bool {
    [
        UNMATCHED_SKIP,
        USER_OPT_OUT,
        OPT_OUT_GROUP,
        NOT_OPTED_IN,
        QUARANTINE_EXPIRED,
    ]
    .contains(&rule)
}

/// The most a recording's categories may take up as one object tag value (S3 allows 256 characters).
pub const TAG_LIMIT: usize = 256;
/// How categories are joined in the `categories` object tag and metadata (`+` is never in a name).
pub const TAG_JOIN: &str = " + ";

/// What routing decided for a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The owner; `None`: not archived (`skip` says why).
    pub owner: Option<UserId>,
    /// The owner rule that chose them, or the rule that kept the recording out.
    pub rule: &'static str,
    pub skip: Option<String>,
    pub categories: Vec<Category>,
    /// The meeting's people with their co-users resolved (when the vendor listed them).
    pub attendees: Option<Attendees>,
    /// Every rule tried, one line each.
    pub trace: Vec<String>,
    /// Under `unmatched: create`: the directory user the owner stage adds (the owner).
    pub create: Option<User>,
}

impl Route {
    /// What the owner stage stores for `rec` when routing lets it in (`None`: kept out) at `now`: owner,
    /// rule, trace, categories, and the folder and titles the connection's layout and templates give them. A
    /// recording in quarantine ([`QUARANTINE`]) is filed under [`crate::keys::quarantine_folder`] until
    /// `now` plus the connection's `owner.quarantine_hours`.
    pub fn placement(
        &self,
        rec: &RecordingEntry,
        conn: &Connection,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Placement> {
        let owner = self.owner.clone()?;
        let folder = rec.folder(&conn.layout, Some(&owner), &self.categories);
        let quarantined = self.rule == QUARANTINE;
        Some(Placement {
            s3_prefix: if quarantined {
                crate::keys::quarantine_folder(&rec.tenant, &folder)
            } else {
                folder
            },
            quarantine_until: quarantined.then(|| now + conn.owner.quarantine_for()),
            titled: Some(conn.titles.render(rec, Some(&owner), &self.categories)),
            owner,
            rule: self.rule.to_owned(),
            trace: self.trace.clone(),
            categories: self.categories.clone(),
        })
    }
}

/// Decides owner, admission and categories for `rec` by the connection's rules over the directory, with
/// what the vendor said of the host (`facts`). Reads only.
pub async fn route(
    rec: &RecordingEntry,
    conn: &Connection,
    users: &dyn UserDirectory,
    facts: &crate::owner::HostFacts,
) -> Result<Route, Error> {
    let d = decide(rec, conn, users, facts).await?;
    let mut trace = d.trace.clone();
    let Some(owner) = d.owner.clone() else {
        return Ok(Route {
            owner: None,
            rule: d.rule,
            skip: d.skip_reason(),
            categories: vec![],
            attendees: None,
            trace,
            create: None,
        });
    };
    let mut attendees = rec.attendees.clone();
    let mut co = Vec::new();
    if let Some(people) = &mut attendees {
        trace.extend(resolve_co_users(people, conn, Some(&owner), users).await?);
        if conn.routing.co_hosts {
            for id in &people.co_users {
                co.extend(users.by_id(&conn.tenant, id).await?);
            }
        }
    }
    if let Err((rule, reason)) = admit(&conn.routing, d.host.as_ref(), &co, &mut trace) {
        return Ok(Route {
            owner: None,
            rule,
            skip: Some(reason),
            categories: vec![],
            attendees,
            trace,
            create: None,
        });
    }
    let groups = d.host.as_ref().map_or(&[][..], |u| &u.groups[..]);
    let categories = categories(
        &conn.routing.categories,
        rec.kind,
        &rec.topic,
        groups,
        &mut trace,
    );
    Ok(Route {
        owner: Some(owner),
        rule: d.rule,
        skip: None,
        categories,
        attendees,
        trace,
        create: d.create,
    })
}

/// Whether the wishes of the host (`None`: not in the directory) and of the co-users `co` (already chosen by
/// `routing.co_hosts`) let the recording in; if not, the rule and the reason.
pub fn admit(
    r: &Routing,
    host: Option<&User>,
    co: &[User],
    trace: &mut Vec<String>,
) -> Result<(), (&'static str, String)> {
    if r.opt_in.is_empty()
        && r.opt_out.is_empty()
        && host.is_none_or(|h| !h.opt_out)
        && co.is_empty()
    {
        return Ok(());
    }
    let people: Vec<(&User, &str)> = host
        .map(|h| (h, "host"))
        .into_iter()
        .chain(co.iter().map(|c| (c, "co-host")))
        .collect();
    if host.is_none() {
        trace.push(
            "routing: the host is not a directory user: in no group, no opt-out of their own"
                .into(),
        );
    }
    for (u, role) in &people {
        if u.opt_out {
            let why = format!("{} ({role}) opted out of archiving (users[].opt_out)", u.id);
            trace.push(format!("{USER_OPT_OUT}: {why}: not archived"));
            return Err((USER_OPT_OUT, format!("{why}; recorded as skipped")));
        }
    }
    for (u, role) in &people {
        if let Some(g) = u.groups.iter().find(|g| r.opt_out.contains(g)) {
            let why = format!("{} ({role}) is in opt-out group {g}", u.id);
            trace.push(format!("{OPT_OUT_GROUP}: {why}: not archived"));
            return Err((OPT_OUT_GROUP, format!("{why}; recorded as skipped")));
        }
    }
    if !r.opt_out.is_empty() {
        trace.push(format!(
            "{OPT_OUT_GROUP}: nobody counted is in {}",
            names(&r.opt_out)
        ));
    }
    if r.opt_in.is_empty() {
        return Ok(());
    }
    for (u, role) in &people {
        if let Some(g) = u.groups.iter().find(|g| r.opt_in.contains(g)) {
            trace.push(format!(
                "opt_in: {} ({role}) is in opt-in group {g}: archived",
                u.id
            ));
            return Ok(());
        }
    }
    let why = if r.co_hosts {
        format!(
            "neither the host nor a co-host is in an opt-in group ({})",
            names(&r.opt_in)
        )
    } else {
        format!("the host is in no opt-in group ({})", names(&r.opt_in))
    };
    trace.push(format!("{NOT_OPTED_IN}: {why}: not archived"));
    Err((NOT_OPTED_IN, format!("{why}; recorded as skipped")))
}

fn names<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The categories of a recording of `kind` with `topic` whose host is in `host_groups`.
pub fn categories(
    c: &Categories,
    kind: MeetingKind,
    topic: &str,
    host_groups: &[GroupId],
    trace: &mut Vec<String>,
) -> Vec<Category> {
    if c.is_empty() {
        return vec![];
    }
    let mut out: Vec<Category> = Vec::new();
    let add = |more: &[Category], out: &mut Vec<Category>| {
        for m in more {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
    };
    let (defaults, field) = match kind {
        MeetingKind::Meeting => (&c.meetings, "meetings"),
        MeetingKind::Webinar => (&c.webinars, "webinars"),
    };
    if defaults.is_empty() {
        trace.push(format!("categories.{field}: none"));
    } else {
        trace.push(format!("categories.{field}: {}", names(defaults)));
        add(defaults, &mut out);
    }
    for (i, rule) in c.rules.iter().enumerate() {
        let missed = rule_misses(rule, kind, topic, host_groups);
        match missed {
            Some(why) => trace.push(format!("categories.rules[{i}]: not applied: {why}")),
            None => {
                trace.push(format!(
                    "categories.rules[{i}]: applied: adds {}",
                    names(&rule.add)
                ));
                add(&rule.add, &mut out);
            }
        }
    }
    out
}

/// The first condition of `rule` that fails, or `None` when all hold.
fn rule_misses(
    rule: &CategoryRule,
    kind: MeetingKind,
    topic: &str,
    host_groups: &[GroupId],
) -> Option<String> {
    if let Some(kinds) = &rule.kinds
        && !kinds.contains(&kind)
    {
        return Some(format!("not for {kind:?} recordings").to_lowercase());
    }
    if let Some(p) = &rule.topic
        && !topic_pattern(p).is_ok_and(|re| re.is_match(topic))
    {
        return Some(format!("topic does not match {p:?}"));
    }
    if let Some(g) = &rule.host_group
        && !host_groups.contains(g)
    {
        return Some(format!("the host is not in group {g}"));
    }
    None
}

impl Routing {
    /// What is wrong with the routing (field below `routing`, reason) given the tenant's declared groups and
    /// categories; empty when it can work.
    pub fn problems(&self, groups: &[GroupId], categories: &[Category]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let group = |field: String, g: &GroupId, out: &mut Vec<(String, String)>| {
            if !groups.contains(g) {
                out.push((
                    field,
                    format!("group '{g}' is not declared in tenant.groups"),
                ));
            }
        };
        let category = |field: String, c: &Category, out: &mut Vec<(String, String)>| {
            if !categories.contains(c) {
                out.push((
                    field,
                    format!("category '{c}' is not declared in tenant.categories"),
                ));
            }
        };
        for (i, g) in self.opt_in.iter().enumerate() {
            group(format!("opt_in[{i}]"), g, &mut out);
        }
        for (i, g) in self.opt_out.iter().enumerate() {
            group(format!("opt_out[{i}]"), g, &mut out);
            if self.opt_in.contains(g) {
                out.push((
                    format!("opt_out[{i}]"),
                    format!("group '{g}' is both opted in and out"),
                ));
            }
        }
        let c = &self.categories;
        for (list, name) in [(&c.meetings, "meetings"), (&c.webinars, "webinars")] {
            for (i, cat) in list.iter().enumerate() {
                category(format!("categories.{name}[{i}]"), cat, &mut out);
            }
        }
        for (i, rule) in c.rules.iter().enumerate() {
            let f = |n: &str| format!("categories.rules[{i}].{n}");
            if rule.topic.is_none() && rule.host_group.is_none() && rule.kinds.is_none() {
                out.push((
                    format!("categories.rules[{i}]"),
                    "names no condition (topic, host_group or kinds)".into(),
                ));
            }
            if let Some(p) = &rule.topic
                && let Err(e) = topic_pattern(p)
            {
                out.push((
                    f("topic"),
                    format!("{p:?} is not a regular expression: {e}"),
                ));
            }
            if let Some(g) = &rule.host_group {
                group(f("host_group"), g, &mut out);
            }
            if rule.kinds.as_ref().is_some_and(Vec::is_empty) {
                out.push((f("kinds"), "is empty: the rule would never apply".into()));
            }
            if rule.add.is_empty() {
                out.push((f("add"), "adds no category".into()));
            }
            for (j, cat) in rule.add.iter().enumerate() {
                category(f(&format!("add[{j}]")), cat, &mut out);
            }
        }
        // Every category a recording could get must fit the one object tag that carries them.
        for (kind, defaults) in [("meetings", &c.meetings), ("webinars", &c.webinars)] {
            let mut all: Vec<&Category> = defaults.iter().collect();
            for cat in c.rules.iter().flat_map(|r| &r.add) {
                if !all.contains(&cat) {
                    all.push(cat);
                }
            }
            let len = all.iter().map(|c| c.as_str().len()).sum::<usize>()
                + TAG_JOIN.len() * all.len().saturating_sub(1);
            if len > TAG_LIMIT {
                out.push((
                    "categories".into(),
                    format!(
                        "{kind} could get {} categories, {len} characters together: more than the {TAG_LIMIT} an \
                         object tag holds",
                        all.len()
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserStatus;
    use crate::ids::{Email, TenantId};

    fn g(s: &str) -> GroupId {
        GroupId::parse(s).unwrap()
    }
    fn cat(s: &str) -> Category {
        Category::parse(s).unwrap()
    }
    fn user(id: &str, groups: &[&str], opt_out: bool) -> User {
        User {
            id: UserId::parse(id).unwrap(),
            tenant: TenantId::parse("uni").unwrap(),
            email: Email::parse(format!("{id}@uni.edu")).unwrap(),
            name: String::new(),
            vendor_ids: vec![],
            external_id: None,
            status: UserStatus::Active,
            groups: groups.iter().map(|s| g(s)).collect(),
            opt_out,
        }
    }

    /// Each option on and off, with and without co-hosts counting: who gets in, by which rule.
    #[test]
    fn opt_in_opt_out_and_own_opt_out_decide_with_their_rule() {
        let staff = user("prof", &["staff"], false);
        let student = user("stu", &["students"], false);
        let shy = user("shy", &["staff"], true);
        let none = Routing::default();
        let opt_in = Routing {
            opt_in: vec![g("staff")],
            ..Routing::default()
        };
        let opt_out = Routing {
            opt_out: vec![g("students")],
            ..Routing::default()
        };
        let both_co = Routing {
            opt_in: vec![g("staff")],
            opt_out: vec![g("students")],
            co_hosts: true,
            ..Routing::default()
        };
        /// Routing, host, co-hosts counted, the rule that keeps the recording out (`None`: archived).
        type Case<'a> = (&'a Routing, Option<&'a User>, &'a [User], Option<&'a str>);
        let cases: [Case; 13] = [
            (&none, Some(&staff), &[], None),
            (&none, None, &[], None),
            (&none, Some(&shy), &[], Some(USER_OPT_OUT)),
            (&opt_in, Some(&staff), &[], None),
            (&opt_in, Some(&student), &[], Some(NOT_OPTED_IN)),
            (&opt_in, None, &[], Some(NOT_OPTED_IN)),
            (&opt_out, Some(&student), &[], Some(OPT_OUT_GROUP)),
            (&opt_out, Some(&staff), &[], None),
            (&opt_out, None, &[], None),
            // Co-hosts count only where the routing says so (the caller passes them only then).
            (&both_co, Some(&student), &[], Some(OPT_OUT_GROUP)),
            (&both_co, None, std::slice::from_ref(&staff), None),
            (
                &both_co,
                Some(&staff),
                std::slice::from_ref(&student),
                Some(OPT_OUT_GROUP),
            ),
            (
                &both_co,
                Some(&staff),
                std::slice::from_ref(&shy),
                Some(USER_OPT_OUT),
            ),
        ];
        for (i, (r, host, co, want)) in cases.into_iter().enumerate() {
            let mut trace = vec![];
            let got = admit(r, host, co, &mut trace);
            assert_eq!(got.as_ref().err().map(|e| e.0), want, "case {i}: {trace:?}");
            if let Err((rule, reason)) = got {
                assert!(
                    trace.last().unwrap().starts_with(rule),
                    "case {i}: {trace:?}"
                );
                assert!(reason.ends_with("recorded as skipped"), "{reason}");
            }
        }
        let mut trace = vec![];
        let Err((_, reason)) = admit(&opt_in, Some(&student), &[], &mut trace) else {
            panic!()
        };
        assert_eq!(
            reason,
            "the host is in no opt-in group (staff); recorded as skipped"
        );
    }

    #[test]
    fn categories_come_from_the_kind_and_every_rule_that_holds() {
        let c = Categories {
            meetings: vec![cat("Lectures")],
            webinars: vec![cat("Events")],
            rules: vec![
                CategoryRule {
                    topic: Some("^chem".into()),
                    host_group: None,
                    kinds: None,
                    add: vec![cat("Chemistry"), cat("Lectures")],
                },
                CategoryRule {
                    topic: None,
                    host_group: Some(g("physics")),
                    kinds: Some(vec![MeetingKind::Meeting]),
                    add: vec![cat("Physics")],
                },
            ],
        };
        let mut trace = vec![];
        let got = categories(
            &c,
            MeetingKind::Meeting,
            "CHEM 101",
            &[g("physics")],
            &mut trace,
        );
        assert_eq!(got, [cat("Lectures"), cat("Chemistry"), cat("Physics")]);
        assert_eq!(
            trace,
            [
                "categories.meetings: Lectures",
                "categories.rules[0]: applied: adds Chemistry, Lectures",
                "categories.rules[1]: applied: adds Physics",
            ]
        );
        let mut trace = vec![];
        let got = categories(
            &c,
            MeetingKind::Webinar,
            "Open day",
            &[g("physics")],
            &mut trace,
        );
        assert_eq!(got, [cat("Events")]);
        assert_eq!(
            trace[1],
            "categories.rules[0]: not applied: topic does not match \"^chem\""
        );
        assert_eq!(
            trace[2],
            "categories.rules[1]: not applied: not for webinar recordings"
        );
        let mut trace = vec![];
        assert!(
            categories(
                &Categories::default(),
                MeetingKind::Meeting,
                "x",
                &[],
                &mut trace
            )
            .is_empty()
        );
        assert!(trace.is_empty());
    }

    #[test]
    fn routing_naming_what_the_tenant_does_not_declare_is_refused_with_its_field() {
        let r = Routing {
            opt_in: vec![g("staff")],
            opt_out: vec![g("staff"), g("ghosts")],
            co_hosts: false,
            categories: Categories {
                meetings: vec![cat("Lectures"), cat("Typo")],
                webinars: vec![],
                rules: vec![
                    CategoryRule {
                        topic: Some("(".into()),
                        host_group: Some(g("nobody")),
                        kinds: Some(vec![]),
                        add: vec![],
                    },
                    CategoryRule {
                        topic: None,
                        host_group: None,
                        kinds: None,
                        add: vec![cat("Lectures")],
                    },
                ],
            },
        };
        let fields: Vec<String> = r
            .problems(&[g("staff")], &[cat("Lectures")])
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "opt_out[0]",
                "opt_out[1]",
                "categories.meetings[1]",
                "categories.rules[0].topic",
                "categories.rules[0].host_group",
                "categories.rules[0].kinds",
                "categories.rules[0].add",
                "categories.rules[1]",
            ]
        );
        assert!(Routing::default().problems(&[], &[]).is_empty());
        // Too many categories for one object tag.
        let long: Vec<Category> = (0..5)
            .map(|i| cat(&format!("{i}{}", "x".repeat(60))))
            .collect();
        let r = Routing {
            categories: Categories {
                meetings: long.clone(),
                ..Categories::default()
            },
            ..Routing::default()
        };
        let p = r.problems(&[], &long);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].1.contains("5 categories"), "{p:?}");
    }

    #[test]
    fn category_names_are_safe_everywhere_they_are_written() {
        for ok in ["Lectures", "Events/Open day", "CHEM-101_2026.spring"] {
            assert!(Category::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a+b",
            "/x",
            "x/",
            " x",
            "a//b",
            "ä",
            "a,b",
            &"x".repeat(65),
        ] {
            assert!(Category::parse(bad).is_err(), "{bad:?}");
        }
    }
}
