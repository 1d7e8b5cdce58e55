//! What an `apply` changes: the stored records of a tenant (each with its revision) against a validated
//! tenant file, record by record and field by field. Pure; the DynamoDB adapter writes a [`Plan`] with each
//! write conditional on the revision read here, so two admins applying at once cannot overwrite each other:
//! the second is told what changed and writes nothing.

use crate::config::{Connection, Tenant, TenantConfig, User};
use serde::Serialize;
use std::collections::BTreeMap;

/// A record as stored, with its revision (0: written before records had revisions, or never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    pub value: T,
    pub rev: u64,
}

/// A tenant's records as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub tenant: Option<Stored<Tenant>>,
    pub connections: Vec<Stored<Connection>>,
    pub users: Vec<Stored<User>>,
}

/// One field that differs: its path (`delete_plan.days`) and both values as JSON (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What becomes of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    /// In the file, not stored: written if absent still.
    Added(T),
    /// Stored and in the file, with other values: written if the stored revision is still `before.rev`.
    Changed {
        before: Stored<T>,
        after: T,
        fields: Vec<FieldChange>,
    },
    /// Stored, not in the file: removed only with `--prune` (and then only if its revision is unchanged).
    Removed(Stored<T>),
}

impl<T> Change<T> {
    /// The revision the write is conditional on (`None`: the record must not exist).
    pub fn read_rev(&self) -> Option<u64> {
        match self {
            Change::Added(_) => None,
            Change::Changed { before, .. } | Change::Removed(before) => Some(before.rev),
        }
    }
}

/// Everything an apply would change, against the revisions it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The tenant record's revision as read (`None`: a new tenant). Every apply writes the tenant record
    /// first, conditional on this: of two applies that read the same state, one goes through.
    pub tenant_rev: Option<u64>,
    pub tenant: Option<Change<Tenant>>,
    pub connections: Vec<Change<Connection>>,
    pub users: Vec<Change<User>>,
    /// Records in the file that are stored as they are.
    pub unchanged: usize,
}

impl Plan {
    /// Nothing to add, change or remove.
    pub fn is_empty(&self) -> bool {
        self.tenant.is_none() && self.connections.is_empty() && self.users.is_empty()
    }

    /// Removals that `--prune` would do and that cannot be done: an enabled connection must be disconnected
    /// first (its webhooks removed, its tokens revoked), never just forgotten.
    pub fn prune_problems(&self) -> Vec<String> {
        self.connections
            .iter()
            .filter_map(|c| match c {
                Change::Removed(s) if s.value.enabled => Some(format!(
                    "connection {} is not in the file but is enabled: run archiver-admin disconnect --connection {} first",
                    s.value.id, s.value.id
                )),
                _ => None,
            })
            .collect()
    }

    /// The diff as an admin reads it: `+` added, `~` changed (one line per field), `-` removed (or kept,
    /// without `prune`).
    pub fn lines(&self, prune: bool) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = &self.tenant {
            describe(&mut out, "tenant", |t: &Tenant| t.id.to_string(), t, prune);
        }
        for c in &self.connections {
            describe(
                &mut out,
                "connection",
                |c: &Connection| c.id.to_string(),
                c,
                prune,
            );
        }
        for u in &self.users {
            describe(&mut out, "user", |u: &User| u.id.to_string(), u, prune);
        }
        out
    }
}

fn describe<T>(
    out: &mut Vec<String>,
    what: &str,
    id: impl Fn(&T) -> String,
    change: &Change<T>,
    prune: bool,
) {
    match change {
        Change::Added(v) => out.push(format!("+ {what} {}", id(v))),
        Change::Changed { after, fields, .. } => {
            out.push(format!("~ {what} {}", id(after)));
            for f in fields {
                let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
                out.push(format!(
                    "    {}: {} → {}",
                    f.path,
                    show(&f.before),
                    show(&f.after)
                ));
            }
        }
        Change::Removed(s) if prune => out.push(format!("- {what} {}", id(&s.value))),
        Change::Removed(s) => out.push(format!(
            "= {what} {} is not in the file: kept (--prune removes it)",
            id(&s.value)
        )),
    }
}

/// What applying `new` over `stored` changes.
pub fn plan(stored: &Snapshot, new: &TenantConfig) -> Plan {
    let mut unchanged = 0;
    let tenant = match &stored.tenant {
        None => Some(Change::Added(new.tenant.clone())),
        Some(s) => compare(s, &new.tenant, &mut unchanged),
    };
    Plan {
        tenant_rev: stored.tenant.as_ref().map(|t| t.rev),
        tenant,
        connections: records(
            &stored.connections,
            &new.connections,
            |c| c.id.to_string(),
            &mut unchanged,
        ),
        users: records(
            &stored.users,
            &new.users,
            |u| u.id.to_string(),
            &mut unchanged,
        ),
        unchanged,
    }
}

fn records<T: Clone + Serialize>(
    stored: &[Stored<T>],
    new: &[T],
    id: impl Fn(&T) -> String,
    unchanged: &mut usize,
) -> Vec<Change<T>> {
    let by_id: BTreeMap<String, &Stored<T>> = stored.iter().map(|s| (id(&s.value), s)).collect();
    let mut out = Vec::new();
    for v in new {
        match by_id.get(&id(v)) {
            None => out.push(Change::Added(v.clone())),
            Some(s) => out.extend(compare(s, v, unchanged)),
        }
    }
    let in_file: std::collections::BTreeSet<String> = new.iter().map(&id).collect();
    out.extend(
        stored
            .iter()
            .filter(|s| !in_file.contains(&id(&s.value)))
            .map(|s| Change::Removed(s.clone())),
    );
    out
}

fn compare<T: Clone + Serialize>(
    before: &Stored<T>,
    after: &T,
    unchanged: &mut usize,
) -> Option<Change<T>> {
    let fields = field_changes(&json(&before.value), &json(after));
    if fields.is_empty() {
        *unchanged += 1;
        return None;
    }
    Some(Change::Changed {
        before: before.clone(),
        after: after.clone(),
        fields,
    })
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// The leaves that differ between two JSON values, by path; arrays are compared whole.
pub fn field_changes(before: &serde_json::Value, after: &serde_json::Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

fn walk(
    path: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
    out: &mut Vec<FieldChange>,
) {
    use serde_json::Value;
    // A field absent and a field null read alike (a default left out of one side).
    let (before, after) = (
        before.filter(|v| !v.is_null()),
        after.filter(|v| !v.is_null()),
    );
    if before == after {
        return;
    }
    if let (Some(Value::Object(b)), Some(Value::Object(a))) = (before, after) {
        let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for k in keys {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            walk(&p, b.get(k), a.get(k), out);
        }
        return;
    }
    out.push(FieldChange {
        path: if path.is_empty() {
            "(all)".into()
        } else {
            path.into()
        },
        before: before.map(Value::to_string),
        after: after.map(Value::to_string),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeletePlan;
    use crate::fakes::{connection, user};
    use crate::ids::{UserId, Vendor};

    fn stored<T>(value: T, rev: u64) -> Stored<T> {
        Stored { value, rev }
    }

    fn file() -> TenantConfig {
        let zoom = connection(Vendor::Zoom);
        TenantConfig {
            tenant: Tenant {
                id: zoom.tenant.clone(),
                name: "University".into(),
                retention: None,
                groups: vec![],
                categories: vec![],
                timezone: None,
            },
            connections: vec![zoom, connection(Vendor::Webex)],
            users: vec![user("ann", "ann@uni.edu"), user("bob", "bob@uni.edu")],
            secrets: vec![],
        }
    }

    fn as_stored(cfg: &TenantConfig) -> Snapshot {
        Snapshot {
            tenant: Some(stored(cfg.tenant.clone(), 3)),
            connections: cfg
                .connections
                .iter()
                .map(|c| stored(c.clone(), 2))
                .collect(),
            users: cfg.users.iter().map(|u| stored(u.clone(), 1)).collect(),
        }
    }

    #[test]
    fn a_new_tenant_adds_everything_and_the_same_file_again_changes_nothing() {
        let p = plan(&Snapshot::default(), &file());
        assert_eq!(p.tenant_rev, None);
        assert!(matches!(p.tenant, Some(Change::Added(_))));
        assert_eq!((p.connections.len(), p.users.len(), p.unchanged), (2, 2, 0));
        assert!(p.lines(false).iter().all(|l| l.starts_with("+ ")));
        let again = plan(&as_stored(&file()), &file());
        assert!(again.is_empty(), "{again:?}");
        assert_eq!((again.tenant_rev, again.unchanged), (Some(3), 5));
        assert!(again.lines(false).is_empty());
    }

    #[test]
    fn changes_are_shown_by_field_and_read_against_their_revision() {
        let stored = as_stored(&file());
        let mut new = file();
        new.connections[0].delete_plan =
            DeletePlan::after_days(30, crate::config::DeleteAction::Trash);
        new.connections[0].default_owner = UserId::parse("media-team").unwrap();
        new.users[1].name = "Bob Ross".into();
        let p = plan(&stored, &new);
        assert_eq!((p.connections.len(), p.users.len(), p.unchanged), (1, 1, 3));
        assert_eq!(p.connections[0].read_rev(), Some(2));
        let lines = p.lines(false);
        assert_eq!(lines[0], format!("~ connection {}", new.connections[0].id));
        assert!(
            lines
                .iter()
                .any(|l| l.trim() == "default_owner: \"media\" → \"media-team\""),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.trim().starts_with("delete_plan.")),
            "{lines:#?}"
        );
        assert!(
            lines.contains(&"    name: \"\" → \"Bob Ross\"".to_owned()),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_record_left_out_of_the_file_is_kept_unless_pruned_and_an_enabled_connection_never_just_forgotten()
     {
        let stored = as_stored(&file());
        let mut new = file();
        new.users.pop();
        let webex = new.connections.pop().unwrap();
        let p = plan(&stored, &new);
        assert_eq!(
            p.lines(false),
            [
                format!(
                    "= connection {} is not in the file: kept (--prune removes it)",
                    webex.id
                ),
                "= user bob is not in the file: kept (--prune removes it)".to_owned(),
            ]
        );
        assert_eq!(p.lines(true)[1], "- user bob");
        assert_eq!(
            p.prune_problems().len(),
            1,
            "the Webex connection is enabled"
        );
        assert!(p.prune_problems()[0].contains("disconnect"));
        let mut off = stored.clone();
        off.connections[1].value.enabled = false;
        assert!(plan(&off, &new).prune_problems().is_empty());
    }

    #[test]
    fn absent_and_null_fields_read_alike_and_nested_paths_are_named() {
        let b = serde_json::json!({"a": {"b": 1, "c": null}, "d": [1, 2]});
        let a = serde_json::json!({"a": {"b": 2}, "d": [1, 2, 3], "e": "x"});
        let got: Vec<(String, Option<String>, Option<String>)> = field_changes(&b, &a)
            .into_iter()
            .map(|f| (f.path, f.before, f.after))
            .collect();
        assert_eq!(
            got,
            [
                ("a.b".into(), Some("1".into()), Some("2".into())),
                ("d".into(), Some("[1,2]".into()), Some("[1,2,3]".into())),
                ("e".into(), None, Some("\"x\"".into())),
            ]
        );
    }
}
