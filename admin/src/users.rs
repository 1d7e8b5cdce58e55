//! `archiver-admin users import`: a directory from a CSV file, as student systems and identity providers
//! export one. The header names the columns (any order; only `id` and `email` are required):
//!
//! `id,email,name,external_id,status,groups,opt_out,zoom_user_ids,webex_person_ids`
//!
//! Lists (`groups`, `zoom_user_ids`, `webex_person_ids`) are separated by `;`. `status` is `active` (default)
//! or `blocked`; `opt_out` is `true`/`yes`/`1` or `false`/`no`/`0`/empty. Every row is then validated like the
//! `users:` of a tenant file, each problem named by its line.

use anyhow::{Context, Result};
use serde::Deserialize;
use shared::config::UserStatus;
use shared::config_file::{ConfigProblem, UserEntry};
use std::path::Path;

/// The columns a file may have.
pub const COLUMNS: [&str; 9] = [
    "id",
    "email",
    "name",
    "external_id",
    "status",
    "groups",
    "opt_out",
    "zoom_user_ids",
    "webex_person_ids",
];

#[derive(Debug, Deserialize)]
struct Row {
    id: String,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    external_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    opt_out: String,
    #[serde(default)]
    zoom_user_ids: String,
    #[serde(default)]
    webex_person_ids: String,
}

/// The name of the entry on data line `i` (0-based) in problems: the header is line 1.
pub fn line_name(i: usize) -> String {
    format!("line {}", i + 2)
}

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads `path` into directory entries; a file that is not such a CSV, or a cell that cannot be read, is a
/// list of problems (each naming its line and column). Fails only when the file cannot be read.
pub fn read(path: &Path) -> Result<Result<Vec<UserEntry>, Vec<ConfigProblem>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse(&text))
}

/// [`read`] over the file's text.
pub fn parse(text: &str) -> Result<Vec<UserEntry>, Vec<ConfigProblem>> {
    let problem = |field: String, reason: String| ConfigProblem { field, reason };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![problem("line 1".into(), e.to_string())]),
    };
    let mut problems = Vec::new();
    for h in headers.iter() {
        if !COLUMNS.contains(&h) {
            problems.push(problem(
                format!("line 1: column {h:?}"),
                format!("unknown column; the columns are {}", COLUMNS.join(", ")),
            ));
        }
    }
    for required in ["id", "email"] {
        if !headers.iter().any(|h| h == required) {
            problems.push(problem("line 1".into(), format!("no {required} column")));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut entries = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let at = line_name(i);
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(at, e.to_string()));
                continue;
            }
        };
        let status = match row.status.to_ascii_lowercase().as_str() {
            "" | "active" => UserStatus::Active,
            "blocked" => UserStatus::Blocked,
            other => {
                problems.push(problem(
                    format!("{at}.status"),
                    format!("{other:?} is not active or blocked"),
                ));
                UserStatus::Active
            }
        };
        let opt_out = match row.opt_out.to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => false,
            "true" | "yes" | "1" => true,
            other => {
                problems.push(problem(
                    format!("{at}.opt_out"),
                    format!("{other:?} is not true or false"),
                ));
                false
            }
        };
        entries.push(UserEntry {
            id: row.id,
            email: row.email,
            name: row.name,
            zoom_user_ids: list(&row.zoom_user_ids),
            webex_person_ids: list(&row.webex_person_ids),
            external_id: Some(row.external_id).filter(|x| !x.is_empty()),
            status,
            groups: list(&row.groups),
            opt_out,
        });
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

/// The tenant and its connections as stored (`snap`), with `users`: what an import or a sync writes, so that
/// only the directory changes.
pub fn with_users(
    snap: &shared::changes::Snapshot,
    tenant: &shared::config::Tenant,
    users: Vec<shared::config::User>,
) -> shared::config::TenantConfig {
    shared::config::TenantConfig {
        tenant: tenant.clone(),
        connections: snap.connections.iter().map(|c| c.value.clone()).collect(),
        users,
        secrets: vec![],
    }
}

/// What a vendor lists for `users sync`: the people, the managed groups ([`shared::directory`]), and a note
/// for each person or group that could not be taken.
#[derive(Debug, Default)]
pub struct Listed {
    pub people: Vec<shared::directory::ListedPerson>,
    pub managed: Vec<shared::ids::GroupId>,
    pub notes: Vec<String>,
}

/// Zoom's users (active and deactivated, every page) as the directory sync takes them, with the groups Zoom
/// has them in among the tenant's `declared` groups (a Zoom group counts when its name made an id is one of
/// them). Groups unreadable (no `group:read:admin` scope) are a note: the users are still taken.
pub async fn zoom_people(
    api: &dyn shared::zoom::api::ZoomApi,
    declared: &[shared::ids::GroupId],
) -> Result<Listed, shared::error::Error> {
    let mut out = Listed::default();
    let mut group_of = std::collections::HashMap::new();
    match api.groups().await {
        Ok(groups) => {
            for g in groups {
                match shared::ids::GroupId::from_name(&g.name).filter(|id| declared.contains(id)) {
                    Some(id) => {
                        if !out.managed.contains(&id) {
                            out.managed.push(id.clone());
                        }
                        group_of.insert(g.id, id);
                    }
                    None => out.notes.push(format!(
                        "zoom group \"{}\" is no group of the tenant: its members keep their groups",
                        g.name
                    )),
                }
            }
        }
        Err(e) if e.class() == shared::error::Class::Permanent => out.notes.push(format!(
            "zoom groups not read ({e}): users taken without their groups"
        )),
        Err(e) => return Err(e),
    }
    for status in shared::zoom::backfill::USER_STATUSES {
        for u in api.users(status).await? {
            let name = [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            match u.email.as_deref().map(shared::ids::Email::parse) {
                Some(Ok(email)) => out.people.push(shared::directory::ListedPerson {
                    groups: u
                        .group_ids
                        .iter()
                        .filter_map(|g| group_of.get(g).cloned())
                        .collect(),
                    vendor_id: u.id,
                    email,
                    name,
                    active: status == "active",
                }),
                _ => out.notes.push(format!(
                    "zoom user {} has no usable e-mail: not taken",
                    u.id
                )),
            }
        }
    }
    Ok(out)
}

/// Webex's people of the org (`GET /people`, every page) as the directory sync takes them: a person who
/// cannot sign in (`loginEnabled: false`, deactivated in Control Hub) is listed as inactive, bots and app
/// users are left out, and anyone without a usable e-mail is a note. (`status` is presence, never read.)
pub async fn webex_people(
    api: &dyn shared::webex::api::WebexApi,
) -> Result<Listed, shared::error::Error> {
    let mut listed = Vec::new();
    let mut notes = Vec::new();
    for p in api.people().await? {
        if p.kind.as_deref().is_some_and(|k| k != "person") {
            notes.push(format!(
                "webex {} {} is not a person: not taken",
                p.kind.as_deref().unwrap_or_default(),
                p.id
            ));
            continue;
        }
        match p.emails.first().map(shared::ids::Email::parse) {
            Some(Ok(email)) => listed.push(shared::directory::ListedPerson {
                vendor_id: p.id,
                email,
                name: p.display_name.unwrap_or_default(),
                active: p.login_enabled != Some(false),
                groups: vec![],
            }),
            _ => notes.push(format!(
                "webex person {} has no usable e-mail: not taken",
                p.id
            )),
        }
    }
    Ok(Listed {
        people: listed,
        managed: vec![],
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn webex_people_are_taken_with_their_sign_in_state_and_bots_left_out() {
        use shared::webex::api::WebexPerson;
        let webex = shared::fakes::FakeWebex::default();
        let person = |id: &str, email: &str, kind: &str, login: Option<bool>| WebexPerson {
            id: id.into(),
            emails: vec![email.into()],
            display_name: Some(id.to_uppercase()),
            kind: Some(kind.into()),
            login_enabled: login,
        };
        *webex.people.lock().unwrap() = vec![
            person("p1", "Ann@Uni.edu", "person", Some(true)),
            person("p2", "gone@uni.edu", "person", Some(false)),
            person("p3", "bot@webex.bot", "bot", None),
            person("p4", "not an e-mail", "person", None),
        ];
        let Listed {
            people: listed,
            notes,
            ..
        } = webex_people(&webex).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|p| (p.vendor_id.as_str(), p.email.as_str(), p.active))
                .collect::<Vec<_>>(),
            [("p1", "ann@uni.edu", true), ("p2", "gone@uni.edu", false)]
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn rows_become_entries_in_any_column_order_with_lists_and_switches() {
        let csv = "email,id,groups,opt_out,status,zoom_user_ids\n\
                   prof@uni.edu,prof,staff; chemistry,,,Zx1;Zx2\n\
                   \"stu@uni.edu\",stu,students,yes,blocked,\n";
        let got = parse(csv).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].id.as_str(), got[0].email.as_str()),
            ("prof", "prof@uni.edu")
        );
        assert_eq!(got[0].groups, ["staff", "chemistry"]);
        assert_eq!(got[0].zoom_user_ids, ["Zx1", "Zx2"]);
        assert!(!got[0].opt_out && got[0].external_id.is_none());
        assert_eq!(got[1].status, UserStatus::Blocked);
        assert!(got[1].opt_out);
    }

    #[test]
    fn a_bad_file_names_each_line_and_column() {
        let fields = |csv: &str| -> Vec<String> {
            parse(csv)
                .unwrap_err()
                .into_iter()
                .map(|p| p.field)
                .collect()
        };
        assert_eq!(
            fields("id,mail\na,b\n"),
            ["line 1: column \"mail\"", "line 1"]
        );
        assert_eq!(
            fields("id,email,status,opt_out\na,a@x.edu,gone,\nb,b@x.edu,,maybe\n"),
            ["line 2.status", "line 3.opt_out"]
        );
        // A row with a missing cell is refused with its line.
        assert_eq!(fields("id,email\nonly-one\n"), ["line 2"]);
    }
}
