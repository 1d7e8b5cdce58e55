//! The admin's configuration file: what `archiver-admin apply` reads, and its validation into the records of
//! [`crate::config`]. [`ConfigFile::validate`] turns a file into a [`TenantConfig`] or into a list of every
//! problem, each naming its field. Vendor-specific checks (Webex credentials JSON) are made here, outside the
//! domain, so the records themselves stay vendor-neutral.

use crate::config::*;
use crate::ids::{AccountId, Category, ConnectionId, Email, GroupId, TenantId, UserId, Vendor};
use serde::Deserialize;
use std::collections::HashSet;

/// The file an admin applies with `archiver-admin apply` (YAML or JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub tenant: TenantEntry,
    #[serde(default)]
    pub connections: Vec<ConnectionEntry>,
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    pub id: String,
    pub name: String,
    /// This tenant's retention of its archive (a lifecycle rule on its prefix), if it has its own.
    #[serde(default)]
    pub retention: Option<crate::config::Retention>,
    /// The directory's groups (users' `groups`, connections' `routing`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The categories connections may file recordings under.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The institution's IANA time zone, for titles (default UTC).
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionEntry {
    pub id: String,
    pub vendor: String,
    pub account_id: String,
    /// Name of an environment variable that holds the webhook secret token; the CLI stores it in Secrets
    /// Manager. Either this or `webhook_secret_ref` (an existing secret) is required.
    pub webhook_secret_env: Option<String>,
    pub webhook_secret_ref: Option<String>,
    pub credentials_ref: Option<String>,
    /// Name of an environment variable holding the API credentials JSON (Webex: see
    /// [`crate::webex::auth::Credentials`]); the CLI checks it and stores it in Secrets Manager.
    pub credentials_env: Option<String>,
    pub api_base_url: Option<String>,
    pub oauth_base_url: Option<String>,
    pub download_hosts: Option<Vec<String>>,
    pub max_age_secs: Option<i64>,
    pub max_future_secs: Option<i64>,
    pub delete_plan: Option<DeletePlan>,
    pub default_owner: String,
    pub enabled: Option<bool>,
    /// Which recordings are archived at all ([`crate::config::Filters`]); absent: every one.
    pub filters: Option<crate::config::Filters>,
    /// How the owner is found ([`crate::config::OwnerPolicy`]); absent: vendor user id, e-mail, default owner.
    pub owner: Option<crate::config::OwnerPolicy>,
    /// Co-owners by group of the meeting's people ([`crate::config::CoOwnerPolicy`]); absent: co-hosts as
    /// co-publishers.
    pub co_owners: Option<crate::config::CoOwnerPolicy>,
    /// Opt-in / opt-out groups and categories ([`crate::routing::Routing`]); absent: everyone's, no category.
    pub routing: Option<crate::routing::Routing>,
    /// The folder template of each recording ([`crate::keys::FolderLayout`]); absent: today's layout.
    pub layout: Option<String>,
    /// Title and description templates ([`crate::naming::Titles`]); absent: today's.
    pub titles: Option<TitlesEntry>,
}

/// `titles:` of a connection; each part optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitlesEntry {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Overrides `tenant.timezone` for this connection.
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub zoom_user_ids: Vec<String>,
    #[serde(default)]
    pub webex_person_ids: Vec<String>,
    /// The institution's id of the user (SSO, student system), for `owner.lookup: external_id`.
    pub external_id: Option<String>,
    /// `active` (default) or `blocked`: a blocked user is given no recordings.
    #[serde(default)]
    pub status: crate::config::UserStatus,
    /// Groups the user is in (declared in `tenant.groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The user's own opt-out: recordings they host are not archived.
    #[serde(default)]
    pub opt_out: bool,
}

/// One problem in an admin's file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigProblem {
    pub field: String,
    pub reason: String,
}

/// Defaults for a vendor's endpoints and download hosts.
pub fn vendor_defaults(vendor: Vendor) -> (&'static str, &'static str, &'static [&'static str]) {
    match vendor {
        Vendor::Zoom => (
            "https://api.zoom.us/v2",
            "https://zoom.us",
            &["zoom.us", "*.zoom.us"],
        ),
        Vendor::Webex => (
            "https://webexapis.com/v1",
            "https://webexapis.com/v1",
            &["*.webex.com", "*.webexcontent.com"],
        ),
    }
}

/// The secret id a connection's API credentials are stored under.
pub fn credentials_secret_id(prefix: &str, tenant: &TenantId, conn: &ConnectionId) -> String {
    format!("{prefix}{tenant}/{conn}/credentials")
}

/// The secret id a connection's webhook secret is stored under.
pub fn webhook_secret_id(prefix: &str, tenant: &TenantId, conn: &ConnectionId) -> String {
    format!("{prefix}{tenant}/{conn}/webhook-secret")
}

#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigProblem {
            field: field.into(),
            reason: reason.into(),
        });
    }
    fn url(&mut self, field: String, url: &str) -> Option<BaseUrl> {
        BaseUrl::parse(url).map_err(|r| self.add(field, r)).ok()
    }
}

impl ConfigFile {
    /// Checks everything and reports every problem at once. `env` looks up environment variables (injected
    /// so tests need not touch the process environment); `secrets_prefix` names where secrets go.
    pub fn validate(
        self,
        secrets_prefix: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<TenantConfig, Vec<ConfigProblem>> {
        let mut p = Problems::default();
        let tenant_id = TenantId::parse(&self.tenant.id)
            .map_err(|e| p.add("tenant.id", e.reason))
            .ok();
        if self.tenant.name.trim().is_empty() {
            p.add("tenant.name", "must not be empty");
        }
        if let Some(r) = &self.tenant.retention {
            validate_retention(r, &mut p);
        }
        let timezone = self.tenant.timezone.as_deref().and_then(|z| {
            crate::naming::TimeZone::parse(z)
                .map_err(|e| p.add("tenant.timezone", e))
                .ok()
        });
        let groups = declared(&self.tenant.groups, "tenant.groups", GroupId::parse, &mut p);
        let categories = declared(
            &self.tenant.categories,
            "tenant.categories",
            Category::parse,
            &mut p,
        );
        let (users, user_ids) = validate_users(&self.users, tenant_id.as_ref(), &groups, &mut p);
        let mut connections = Vec::new();
        let mut secrets = Vec::new();
        let mut seen = HashSet::new();
        let mut accounts = HashSet::new();
        for (i, c) in self.connections.iter().enumerate() {
            let f = |n: &str| format!("connections[{i}].{n}");
            let id = ConnectionId::parse(&c.id)
                .map_err(|e| p.add(f("id"), e.reason))
                .ok();
            if let Some(id) = &id
                && !seen.insert(id.clone())
            {
                p.add(f("id"), format!("duplicate connection '{id}'"));
            }
            let vendor = Vendor::parse(&c.vendor)
                .map_err(|e| p.add(f("vendor"), e.reason))
                .ok();
            let account = AccountId::parse(&c.account_id)
                .map_err(|e| p.add(f("account_id"), e.reason))
                .ok();
            // The catalog keys recordings by vendor account: two connections for one account would apply
            // each other's owners, download hosts and deletion plans.
            if let Some(account) = &account
                && !accounts.insert((c.vendor.trim().to_ascii_lowercase(), account.clone()))
            {
                p.add(
                    f("account_id"),
                    format!(
                        "another connection already serves {} account '{account}'",
                        c.vendor
                    ),
                );
            }
            let owner = UserId::parse(&c.default_owner)
                .map_err(|e| p.add(f("default_owner"), e.reason))
                .ok();
            if let Some(owner) = &owner
                && !user_ids.contains(owner)
            {
                p.add(
                    f("default_owner"),
                    format!("'{owner}' is not one of the users in this file"),
                );
            }
            let window = TimestampWindow::default();
            let max_age = c.max_age_secs.unwrap_or(window.max_age_secs);
            let max_future = c.max_future_secs.unwrap_or(window.max_future_secs);
            if !(60..=86_400).contains(&max_age) {
                p.add(
                    f("max_age_secs"),
                    format!("{max_age} is outside 60..=86400"),
                );
            }
            if !(0..=3_600).contains(&max_future) {
                p.add(
                    f("max_future_secs"),
                    format!("{max_future} is outside 0..=3600"),
                );
            }
            if let Some(DeletePlan::DeleteAfter {
                days,
                hours,
                late_file_hours,
                ..
            }) = &c.delete_plan
            {
                if *days > 3650 {
                    p.add(f("delete_plan.days"), format!("{days} is more than 3650"));
                }
                if *hours > 8760 {
                    p.add(
                        f("delete_plan.hours"),
                        format!("{hours} is more than 8760 (a year; use days)"),
                    );
                }
                if *late_file_hours > 720 {
                    p.add(
                        f("delete_plan.late_file_hours"),
                        format!("{late_file_hours} is more than 720 (30 days)"),
                    );
                }
            }
            for (field, reason) in c.filters.as_ref().map(|x| x.problems()).unwrap_or_default() {
                p.add(f(&format!("filters.{field}")), reason);
            }
            for (field, reason) in c.owner.as_ref().map(|x| x.problems()).unwrap_or_default() {
                p.add(f(&format!("owner.{field}")), reason);
            }
            if c.owner
                .as_ref()
                .is_some_and(|o| o.name_from == NameFrom::CmsUserId)
                && vendor.is_some_and(|v| v != Vendor::Zoom)
            {
                p.add(
                    f("owner.name_from"),
                    "cms_user_id is Zoom's (its SAML mapping); Webex has none",
                );
            }
            let layout = match c.layout.as_deref().map(crate::keys::FolderLayout::parse) {
                None => Some(crate::keys::FolderLayout::default()),
                Some(Ok(l)) => Some(l),
                Some(Err(e)) => {
                    p.add(f("layout"), e);
                    None
                }
            };
            let titles = titles(c.titles.as_ref(), timezone, &mut p, &f);
            let routing = c.routing.clone().unwrap_or_default();
            for (field, reason) in routing.problems(&groups, &categories) {
                p.add(f(&format!("routing.{field}")), reason);
            }
            let Some(vendor) = vendor else { continue };
            let (api, oauth, hosts) = vendor_defaults(vendor);
            let api_base_url = p.url(f("api_base_url"), c.api_base_url.as_deref().unwrap_or(api));
            let oauth_base_url = p.url(
                f("oauth_base_url"),
                c.oauth_base_url.as_deref().unwrap_or(oauth),
            );
            let raw_hosts = c
                .download_hosts
                .clone()
                .unwrap_or_else(|| hosts.iter().map(|h| h.to_string()).collect());
            if raw_hosts.is_empty() {
                p.add(f("download_hosts"), "must list at least one host");
            }
            let mut download_hosts = Vec::new();
            for (j, h) in raw_hosts.iter().enumerate() {
                match HostPattern::parse(h) {
                    Ok(pat) => download_hosts.push(pat),
                    Err(r) => p.add(f(&format!("download_hosts[{j}]")), r),
                }
            }
            let secret_ref = match (&c.webhook_secret_env, &c.webhook_secret_ref) {
                (Some(_), Some(_)) => {
                    p.add(
                        f("webhook_secret_env"),
                        "give either webhook_secret_env or webhook_secret_ref, not both",
                    );
                    None
                }
                // Webex: `archiver-admin webex-webhooks ensure` generates the secret and stores it here.
                (None, None) if vendor == Vendor::Webex => match (&tenant_id, &id) {
                    (Some(t), Some(cid)) => Some(webhook_secret_id(secrets_prefix, t, cid)),
                    _ => None,
                },
                (None, None) => {
                    p.add(
                        f("webhook_secret_env"),
                        "a webhook secret is required (webhook_secret_env or webhook_secret_ref)",
                    );
                    None
                }
                (None, Some(r)) if r.trim().is_empty() => {
                    p.add(f("webhook_secret_ref"), "must not be empty");
                    None
                }
                (None, Some(r)) => Some(r.clone()),
                (Some(var), None) => match env(var) {
                    Some(v) if v.len() >= 8 => match (&tenant_id, &id) {
                        (Some(t), Some(cid)) => {
                            let sid = webhook_secret_id(secrets_prefix, t, cid);
                            secrets.push(SecretToWrite {
                                secret_id: sid.clone(),
                                value: v,
                            });
                            Some(sid)
                        }
                        _ => None,
                    },
                    Some(_) => {
                        p.add(
                            f("webhook_secret_env"),
                            format!("the value of ${var} is shorter than 8 characters"),
                        );
                        None
                    }
                    None => {
                        p.add(
                            f("webhook_secret_env"),
                            format!("environment variable ${var} is not set"),
                        );
                        None
                    }
                },
            };
            let credentials_ref = match (&c.credentials_env, &c.credentials_ref) {
                (Some(_), Some(_)) => {
                    p.add(
                        f("credentials_env"),
                        "give either credentials_env or credentials_ref, not both",
                    );
                    None
                }
                (None, Some(r)) if r.trim().is_empty() => {
                    p.add(f("credentials_ref"), "must not be empty");
                    None
                }
                (None, Some(r))
                    if vendor == Vendor::Webex
                        && !(r.starts_with(secrets_prefix) && r.ends_with("/credentials")) =>
                {
                    p.add(
                        f("credentials_ref"),
                        format!(
                            "'{r}' must start with '{secrets_prefix}' and end in '/credentials': the functions may rewrite only such secrets when they rotate Webex tokens"
                        ),
                    );
                    None
                }
                (None, r) => r.clone(),
                (Some(var), None) => match env(var) {
                    Some(v) => match (&tenant_id, &id) {
                        (Some(t), Some(cid)) => {
                            let checked = match vendor {
                                Vendor::Webex => crate::webex::auth::Credentials::parse(&v)
                                    .map(|_| ())
                                    .map_err(|e| e.to_string()),
                                Vendor::Zoom => {
                                    crate::zoom::api::S2sCredentials::parse(&v).map(|_| ())
                                }
                            };
                            match checked {
                                Ok(()) => {
                                    let sid = credentials_secret_id(secrets_prefix, t, cid);
                                    secrets.push(SecretToWrite {
                                        secret_id: sid.clone(),
                                        value: v,
                                    });
                                    Some(sid)
                                }
                                Err(e) => {
                                    p.add(f("credentials_env"), format!("${var}: {e}"));
                                    None
                                }
                            }
                        }
                        _ => None,
                    },
                    None => {
                        p.add(
                            f("credentials_env"),
                            format!("environment variable ${var} is not set"),
                        );
                        None
                    }
                },
            };
            if vendor == Vendor::Webex && credentials_ref.is_none() && c.credentials_env.is_none() {
                p.add(
                    f("credentials_env"),
                    "Webex needs API credentials (credentials_env with the token JSON, or credentials_ref)",
                );
            }
            if let (
                Some(id),
                Some(account),
                Some(owner),
                Some(tenant),
                Some(secret),
                Some(api_base_url),
                Some(oauth_base_url),
                Some(layout),
            ) = (
                id,
                account,
                owner,
                tenant_id.clone(),
                secret_ref,
                api_base_url,
                oauth_base_url,
                layout,
            ) {
                connections.push(Connection {
                    id,
                    tenant,
                    vendor,
                    account_id: account,
                    webhook_secret_ref: secret,
                    credentials_ref,
                    api_base_url,
                    oauth_base_url,
                    download_hosts,
                    max_age_secs: max_age,
                    max_future_secs: max_future,
                    delete_plan: c.delete_plan.clone().unwrap_or(DeletePlan::Retain),
                    default_owner: owner,
                    enabled: c.enabled.unwrap_or(true),
                    filters: c.filters.clone().unwrap_or_default(),
                    owner: c.owner.clone().unwrap_or_default(),
                    co_owners: c.co_owners.unwrap_or_default(),
                    routing,
                    layout,
                    titles,
                });
            }
        }
        match tenant_id {
            Some(id) if p.0.is_empty() => Ok(TenantConfig {
                tenant: Tenant {
                    id,
                    name: self.tenant.name.trim().to_owned(),
                    retention: self.tenant.retention.clone(),
                    groups,
                    categories,
                    timezone,
                },
                connections,
                users,
                secrets,
            }),
            _ => Err(p.0),
        }
    }
}

/// S3's rules: days from 1 to 36500 (100 years); an expiry after the transition; the minimum days S3 bills
/// a class for (STANDARD_IA and INTELLIGENT_TIERING need 30 days in Standard first).
fn validate_retention(r: &crate::config::Retention, p: &mut Problems) {
    use crate::config::ArchiveClass;
    let f = |n: &str| format!("tenant.retention.{n}");
    for (name, v) in [
        ("transition_after_days", r.transition_after_days),
        ("expire_after_days", r.expire_after_days),
    ] {
        if let Some(d) = v
            && !(1..=36_500).contains(&d)
        {
            p.add(f(name), format!("{d} is not between 1 and 36500 days"));
        }
    }
    if let Some(t) = r.transition_after_days
        && matches!(
            r.storage_class,
            ArchiveClass::StandardIa | ArchiveClass::IntelligentTiering
        )
        && t < 30
    {
        p.add(
            f("transition_after_days"),
            format!(
                "{} needs at least 30 days in S3 Standard first, not {t}",
                r.storage_class.as_str()
            ),
        );
    }
    if let (Some(t), Some(e)) = (r.transition_after_days, r.expire_after_days)
        && e <= t
    {
        p.add(
            f("expire_after_days"),
            format!("{e} is not after the transition ({t} days)"),
        );
    }
    if r.transition_after_days.is_none() && r.expire_after_days.is_none() {
        p.add(
            "tenant.retention",
            "names neither transition_after_days nor expire_after_days",
        );
    }
}

/// A connection's titles: each template given parsed, the rest the defaults; the time zone its own, else the
/// tenant's, else UTC.
fn titles(
    t: Option<&TitlesEntry>,
    tenant_zone: Option<crate::naming::TimeZone>,
    p: &mut Problems,
    f: &dyn Fn(&str) -> String,
) -> crate::naming::Titles {
    use crate::naming::{TimeZone, TitleTemplate, Titles};
    let mut out = Titles {
        timezone: tenant_zone.unwrap_or_default(),
        ..Titles::default()
    };
    let Some(t) = t else { return out };
    if let Some(s) = &t.title {
        match TitleTemplate::parse(s) {
            Ok(v) => out.title = v,
            Err(e) => p.add(f("titles.title"), e),
        }
    }
    if let Some(s) = &t.description {
        match TitleTemplate::parse(s) {
            Ok(v) => out.description = v,
            Err(e) => p.add(f("titles.description"), e),
        }
    }
    if let Some(z) = &t.timezone {
        match TimeZone::parse(z) {
            Ok(v) => out.timezone = v,
            Err(e) => p.add(f("titles.timezone"), e),
        }
    }
    out
}

/// The names a tenant declares (groups, categories), each parsed; a repeated or malformed one is a problem.
fn declared<T: PartialEq>(
    names: &[String],
    field: &str,
    parse: impl Fn(String) -> Result<T, crate::ids::InvalidId>,
    p: &mut Problems,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match parse(n.trim().to_owned()) {
            Ok(v) if out.contains(&v) => {
                p.add(format!("{field}[{i}]"), format!("'{n}' is declared twice"))
            }
            Ok(v) => out.push(v),
            Err(e) => p.add(format!("{field}[{i}]"), e.reason),
        }
    }
    out
}

/// Validates a directory brought in on its own (`archiver-admin users import`) for `tenant`, whose declared
/// groups are `groups`: the users, or every problem, each named `<name(i)>.<field>` for the `i`-th entry.
pub fn validate_directory(
    entries: &[UserEntry],
    tenant: &TenantId,
    groups: &[GroupId],
    name: impl Fn(usize) -> String,
) -> Result<Vec<User>, Vec<ConfigProblem>> {
    let mut p = Problems::default();
    let (users, _) = users_named(entries, Some(tenant), groups, &mut p, name);
    if p.0.is_empty() { Ok(users) } else { Err(p.0) }
}

fn validate_users(
    entries: &[UserEntry],
    tenant: Option<&TenantId>,
    declared_groups: &[GroupId],
    p: &mut Problems,
) -> (Vec<User>, HashSet<UserId>) {
    users_named(entries, tenant, declared_groups, p, |i| {
        format!("users[{i}]")
    })
}

fn users_named(
    entries: &[UserEntry],
    tenant: Option<&TenantId>,
    declared_groups: &[GroupId],
    p: &mut Problems,
    name: impl Fn(usize) -> String,
) -> (Vec<User>, HashSet<UserId>) {
    let mut users = Vec::new();
    let mut ids = HashSet::new();
    let mut emails = HashSet::new();
    let mut externals = HashSet::new();
    for (i, u) in entries.iter().enumerate() {
        let f = |n: &str| format!("{}.{n}", name(i));
        let id = UserId::parse(&u.id)
            .map_err(|e| p.add(f("id"), e.reason))
            .ok();
        let email = Email::parse(&u.email)
            .map_err(|e| p.add(f("email"), e.reason))
            .ok();
        if let Some(id) = &id
            && !ids.insert(id.clone())
        {
            p.add(f("id"), format!("duplicate user '{id}'"));
        }
        if let Some(email) = &email
            && !emails.insert(email.clone())
        {
            p.add(f("email"), format!("'{email}' is used by another user"));
        }
        let vendor_ids: Vec<VendorUserId> = u
            .zoom_user_ids
            .iter()
            .map(|z| (Vendor::Zoom, z))
            .chain(u.webex_person_ids.iter().map(|w| (Vendor::Webex, w)))
            .map(|(vendor, id)| VendorUserId {
                vendor,
                id: id.trim().to_owned(),
            })
            .collect();
        if vendor_ids.iter().any(|v| v.id.is_empty()) {
            p.add(f("zoom_user_ids"), "vendor user ids must not be empty");
        }
        let external_id = u.external_id.as_deref().map(str::trim).map(str::to_owned);
        match &external_id {
            Some(x) if x.is_empty() || x.contains(char::is_whitespace) => {
                p.add(f("external_id"), "must be non-empty, without spaces");
            }
            Some(x) if !externals.insert(x.clone()) => {
                p.add(f("external_id"), format!("'{x}' is used by another user"));
            }
            _ => {}
        }
        let mut groups = Vec::new();
        for (j, g) in u.groups.iter().enumerate() {
            match GroupId::parse(g.trim()) {
                Ok(g) if !declared_groups.contains(&g) => p.add(
                    f(&format!("groups[{j}]")),
                    format!("group '{g}' is not declared in tenant.groups"),
                ),
                Ok(g) if !groups.contains(&g) => groups.push(g),
                Ok(_) => {}
                Err(e) => p.add(f(&format!("groups[{j}]")), e.reason),
            }
        }
        if let (Some(id), Some(email), Some(tenant)) = (id, email, tenant) {
            users.push(User {
                id,
                tenant: tenant.clone(),
                email,
                name: u.name.clone(),
                vendor_ids,
                external_id,
                status: u.status,
                groups,
                opt_out: u.opt_out,
            });
        }
    }
    (users, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: serde_json::Value) -> ConfigFile {
        serde_json::from_value(json).unwrap()
    }

    fn good() -> serde_json::Value {
        serde_json::json!({
            "tenant": {"id": "uni-example", "name": "Example University"},
            "connections": [{
                "id": "zoom-main", "vendor": "zoom", "account_id": "ACCT123",
                "webhook_secret_env": "ZOOM_SECRET", "default_owner": "media-team",
                "delete_plan": {"mode": "delete_after", "days": 30}
            }],
            "users": [
                {"id": "media-team", "email": "media@example.edu", "name": "Media team"},
                {"id": "alice", "email": "Alice@Example.edu", "zoom_user_ids": ["HOSTid1"]}
            ]
        })
    }

    fn env(var: &str) -> Option<String> {
        (var == "ZOOM_SECRET").then(|| "s3cret-token-value".to_owned())
    }

    #[test]
    fn a_good_file_validates_with_defaults() {
        let cfg = file(good()).validate("archiver/", env).unwrap();
        assert_eq!(cfg.tenant.id.as_str(), "uni-example");
        let c = &cfg.connections[0];
        assert_eq!(c.api_base_url.as_str(), "https://api.zoom.us/v2");
        assert_eq!(
            c.webhook_secret_ref,
            "archiver/uni-example/zoom-main/webhook-secret"
        );
        assert_eq!(c.max_age_secs, 7200);
        assert!(c.download_host_allowed("us02web.zoom.us"));
        assert!(c.download_host_allowed("zoom.us"));
        assert!(!c.download_host_allowed("evilzoom.us"));
        assert!(!c.download_host_allowed("zoom.us.evil.com"));
        assert_eq!(cfg.secrets.len(), 1);
        assert_eq!(cfg.secrets[0].value, "s3cret-token-value");
        assert!(!format!("{:?}", cfg.secrets).contains("s3cret"));
        assert_eq!(cfg.users[1].email.as_str(), "alice@example.edu");
        assert_eq!(
            c.delete_plan,
            DeletePlan::after_days(30, DeleteAction::Trash)
        );
    }

    #[test]
    fn a_tenants_retention_is_checked_against_s3s_rules() {
        let with = |r: serde_json::Value| {
            let mut v = good();
            v["tenant"]["retention"] = r;
            file(v).validate("archiver/", env)
        };
        let cfg = with(serde_json::json!({"transition_after_days": 30, "expire_after_days": 2555}))
            .unwrap();
        let r = cfg.tenant.retention.unwrap();
        assert_eq!(
            (
                r.transition_after_days,
                r.storage_class,
                r.expire_after_days
            ),
            (Some(30), crate::config::ArchiveClass::GlacierIr, Some(2555))
        );
        assert!(
            file(good())
                .validate("archiver/", env)
                .unwrap()
                .tenant
                .retention
                .is_none()
        );
        let problems = |r| {
            with(r)
                .unwrap_err()
                .into_iter()
                .map(|p| format!("{}: {}", p.field, p.reason))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            problems(serde_json::json!({"transition_after_days": 60, "expire_after_days": 30})),
            ["tenant.retention.expire_after_days: 30 is not after the transition (60 days)"]
        );
        assert_eq!(
            problems(
                serde_json::json!({"transition_after_days": 7, "storage_class": "STANDARD_IA"})
            ),
            [
                "tenant.retention.transition_after_days: STANDARD_IA needs at least 30 days in S3 Standard first, not 7"
            ]
        );
        assert_eq!(
            problems(serde_json::json!({"expire_after_days": 0})),
            ["tenant.retention.expire_after_days: 0 is not between 1 and 36500 days"]
        );
        assert_eq!(
            problems(serde_json::json!({})),
            ["tenant.retention: names neither transition_after_days nor expire_after_days"]
        );
        // An unknown class or field is refused when the file is read.
        let mut v = good();
        v["tenant"]["retention"] = serde_json::json!({"storage_class": "TAPE"});
        assert!(serde_json::from_value::<ConfigFile>(v).is_err());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut v = good();
        v["tenant"]["id"] = "Bad Tenant".into();
        v["connections"][0]["vendor"] = "teams".into();
        v["users"][0]["email"] = "nope".into();
        v["users"][1]["id"] = "media-team".into();
        let problems = file(v).validate("archiver/", env).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"tenant.id"), "{problems:?}");
        assert!(fields.contains(&"connections[0].vendor"), "{problems:?}");
        assert!(fields.contains(&"users[0].email"), "{problems:?}");
        assert!(fields.contains(&"users[1].id"), "{problems:?}");
    }

    #[test]
    fn filters_are_checked_and_stored_on_the_connection() {
        let mut v = good();
        v["connections"][0]["filters"] = serde_json::json!({"min_minutes": 5, "kinds": ["meeting"], "exclude_topics": ["^test"]});
        let cfg = file(v.clone()).validate("archiver/", env).unwrap();
        let f = &cfg.connections[0].filters;
        assert_eq!((f.min_minutes, f.exclude_topics.len()), (Some(5), 1));
        v["connections"][0]["filters"] = serde_json::json!({"kinds": [], "exclude_topics": ["(x"]});
        let problems = file(v.clone()).validate("archiver/", env).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "connections[0].filters.kinds",
                "connections[0].filters.exclude_topics[0]"
            ]
        );
        v["connections"][0]["filters"] = serde_json::json!({"min_minute": 5});
        assert!(
            serde_json::from_value::<super::ConfigFile>(v).is_err(),
            "a misspelt option is refused"
        );
    }

    #[test]
    fn owner_policies_and_directory_fields_are_checked_and_stored() {
        let mut v = good();
        v["connections"][0]["owner"] = serde_json::json!({"postfix": {"remove": "@uni.edu"}, "lookup": "external_id", "unmatched": "skip"});
        v["users"][0]["external_id"] = "mt-01".into();
        v["users"][0]["status"] = "blocked".into();
        let cfg = file(v.clone()).validate("archiver/", env).unwrap();
        let owner = &cfg.connections[0].owner;
        assert_eq!(
            (&owner.postfix, owner.lookup),
            (
                &crate::config::Postfix::Remove("@uni.edu".into()),
                crate::config::Lookup::ExternalId
            )
        );
        assert_eq!(owner.unmatched, crate::config::Unmatched::Skip);
        assert_eq!(cfg.users[0].external_id.as_deref(), Some("mt-01"));
        assert_eq!(cfg.users[0].status, crate::config::UserStatus::Blocked);
        // Defaults reproduce the rules before policies: vendor id, e-mail, default owner.
        let plain = file(good()).validate("archiver/", env).unwrap();
        assert_eq!(
            plain.connections[0].owner,
            crate::config::OwnerPolicy::default()
        );
        assert_eq!(plain.users[0].status, crate::config::UserStatus::Active);

        v["connections"][0]["owner"] = serde_json::json!({"postfix": {"add": ""}});
        v["users"][0]["external_id"] = "mt 01".into();
        let problems = file(v.clone()).validate("archiver/", env).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["users[0].external_id", "connections[0].owner.postfix"],
            "{problems:?}"
        );
        // A quarantine lasts 24 h unless told; 1 to 720 h, and only for `unmatched: quarantine`.
        let mut q = good();
        q["connections"][0]["owner"] = serde_json::json!({"unmatched": "quarantine"});
        let cfg = file(q.clone()).validate("archiver/", env).unwrap();
        assert_eq!(cfg.connections[0].owner.quarantine_for().num_hours(), 24);
        for (owner, reason) in [
            (
                serde_json::json!({"unmatched": "quarantine", "quarantine_hours": 0}),
                "from 1 to 720",
            ),
            (
                serde_json::json!({"unmatched": "quarantine", "quarantine_hours": 721}),
                "from 1 to 720",
            ),
            (
                serde_json::json!({"quarantine_hours": 12}),
                "only unmatched: quarantine",
            ),
        ] {
            q["connections"][0]["owner"] = owner.clone();
            let problems = file(q.clone()).validate("archiver/", env).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.field == "connections[0].owner.quarantine_hours"
                        && p.reason.contains(reason)),
                "{owner}: {problems:?}"
            );
        }
        // cms_user_id is Zoom's.
        let mut w = good();
        w["connections"][0]["owner"] = serde_json::json!({"name_from": "cms_user_id"});
        assert_eq!(
            file(w.clone())
                .validate("archiver/", env)
                .unwrap()
                .connections[0]
                .owner
                .name_from,
            crate::config::NameFrom::CmsUserId
        );
        w["connections"][0]["vendor"] = "webex".into();
        w["connections"][0]["credentials_env"] = "NOPE".into();
        let problems = file(w).validate("archiver/", env).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "connections[0].owner.name_from"),
            "{problems:?}"
        );
        for bad in [
            serde_json::json!({"postfix": {"strip": "@uni.edu"}}),
            serde_json::json!({"postfix": {"add": "@a.edu", "remove": "@b.edu"}}),
            serde_json::json!({"lookup": "phone"}),
            serde_json::json!({"unmatched": "delete"}),
            serde_json::json!({"unmatched": "quarantine", "quarantine_hours": -1}),
            serde_json::json!({"match": "email"}),
        ] {
            let mut v = good();
            v["connections"][0]["owner"] = bad.clone();
            assert!(
                serde_json::from_value::<super::ConfigFile>(v).is_err(),
                "{bad} is refused"
            );
        }
    }

    #[test]
    fn groups_categories_routing_and_file_kinds_are_checked_against_the_tenant_and_stored() {
        let mut v = good();
        v["tenant"]["groups"] = serde_json::json!(["staff", "students"]);
        v["tenant"]["categories"] = serde_json::json!(["Lectures", "Events/Open day"]);
        v["users"][1]["groups"] = serde_json::json!(["staff"]);
        v["users"][1]["opt_out"] = true.into();
        v["connections"][0]["routing"] = serde_json::json!({
            "opt_out": ["students"], "co_hosts": true,
            "categories": {"meetings": ["Lectures"], "webinars": ["Events/Open day"],
                "rules": [{"host_group": "staff", "add": ["Lectures"]}]}
        });
        v["connections"][0]["filters"] = serde_json::json!({"files": {"transcripts": false}});
        v["connections"][0]["layout"] =
            "{category}/{owner}/{yyyy}-{mm}-{dd}_{topic}_{instance_hash}".into();
        let cfg = file(v.clone()).validate("archiver/", env).unwrap();
        assert_eq!(
            cfg.connections[0].layout.to_string(),
            "{category}/{owner}/{yyyy}-{mm}-{dd}_{topic}_{instance_hash}"
        );
        assert_eq!(cfg.tenant.groups.len(), 2);
        assert_eq!(cfg.tenant.categories[1].as_str(), "Events/Open day");
        assert_eq!(cfg.users[1].groups[0].as_str(), "staff");
        assert!(cfg.users[1].opt_out);
        let routing = &cfg.connections[0].routing;
        assert!(routing.co_hosts);
        assert_eq!(routing.categories.rules.len(), 1);
        let kinds = cfg.connections[0].filters.files;
        assert!(!kinds.transcripts && kinds.chat && kinds.audio_only);
        // Defaults: no group, no category, every kind of file.
        let plain = file(good()).validate("archiver/", env).unwrap();
        assert_eq!(
            plain.connections[0].routing,
            crate::routing::Routing::default()
        );
        assert!(plain.connections[0].filters.files.is_all());

        // Each class of mistake is refused with its field, and nothing is returned to store.
        v["tenant"]["groups"] = serde_json::json!(["staff", "staff", "Bad Group"]);
        v["tenant"]["categories"] = serde_json::json!(["Lectures", "a+b"]);
        v["users"][1]["groups"] = serde_json::json!(["ghosts"]);
        v["connections"][0]["routing"] = serde_json::json!({
            "opt_in": ["nobody"],
            "categories": {"meetings": ["Typo"], "rules": [{"topic": "(", "add": ["Lectures"]}]}
        });
        v["connections"][0]["layout"] = "{owner}/{yyyy}".into();
        let problems = file(v.clone()).validate("archiver/", env).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tenant.groups[1]",
                "tenant.groups[2]",
                "tenant.categories[1]",
                "users[1].groups[0]",
                "connections[0].layout",
                "connections[0].routing.opt_in[0]",
                "connections[0].routing.categories.meetings[0]",
                "connections[0].routing.categories.rules[0].topic",
            ],
            "{problems:?}"
        );
        assert!(problems[5].reason.contains("not declared in tenant.groups"));
        assert!(
            problems[6]
                .reason
                .contains("not declared in tenant.categories")
        );
        for bad in [
            serde_json::json!({"files": {"video": false}}),
            serde_json::json!({"files": {"chat": "no"}}),
        ] {
            let mut v = good();
            v["connections"][0]["filters"] = bad.clone();
            assert!(
                serde_json::from_value::<super::ConfigFile>(v).is_err(),
                "{bad} is refused"
            );
        }
    }

    #[test]
    fn titles_take_the_tenants_time_zone_unless_the_connection_names_its_own() {
        let mut v = good();
        v["tenant"]["timezone"] = "Europe/Berlin".into();
        v["connections"][0]["titles"] = serde_json::json!({"title": "{topic} ({date})"});
        let cfg = file(v.clone()).validate("archiver/", env).unwrap();
        let t = &cfg.connections[0].titles;
        assert_eq!(
            (
                t.title.to_string().as_str(),
                t.timezone.to_string().as_str()
            ),
            ("{topic} ({date})", "Europe/Berlin")
        );
        assert_eq!(
            t.description.to_string(),
            crate::naming::DEFAULT_DESCRIPTION
        );
        assert_eq!(cfg.tenant.timezone.unwrap().to_string(), "Europe/Berlin");
        v["connections"][0]["titles"]["timezone"] = "America/New_York".into();
        let cfg = file(v.clone()).validate("archiver/", env).unwrap();
        assert_eq!(
            cfg.connections[0].titles.timezone.to_string(),
            "America/New_York"
        );
        let plain = file(good()).validate("archiver/", env).unwrap();
        assert_eq!(
            plain.connections[0].titles,
            crate::naming::Titles::default()
        );

        v["tenant"]["timezone"] = "Mars/Olympus".into();
        v["connections"][0]["titles"] =
            serde_json::json!({"title": "{speaker}", "description": "", "timezone": "CEST+2"});
        let problems = file(v).validate("archiver/", env).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tenant.timezone",
                "connections[0].titles.title",
                "connections[0].titles.description",
                "connections[0].titles.timezone",
            ],
            "{problems:?}"
        );
    }

    #[test]
    fn secrets_and_owners_are_checked() {
        let mut v = good();
        v["connections"][0]["default_owner"] = "ghost".into();
        v["connections"][0]["download_hosts"] = serde_json::json!(["*."]);
        let problems = file(v).validate("archiver/", |_| None).unwrap_err();
        let text: Vec<_> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("default_owner") && t.contains("ghost")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("ZOOM_SECRET") && t.contains("not set")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("download_hosts[0]")),
            "{text:?}"
        );
    }

    #[test]
    fn webex_connections_need_credentials_and_get_a_generated_secret_slot() {
        let mut v = good();
        v["connections"] = serde_json::json!([{
            "id": "webex-main", "vendor": "webex", "account_id": "ORG1",
            "credentials_env": "WEBEX_CREDS", "default_owner": "media-team"
        }]);
        let creds = r#"{"kind":"integration","client_id":"c","client_secret":"s","access_token":"a",
            "expires_at":"2026-12-01T00:00:00Z","refresh_token":"r"}"#;
        let cfg = file(v.clone())
            .validate("archiver/", |var| {
                (var == "WEBEX_CREDS").then(|| creds.to_owned())
            })
            .unwrap();
        let c = &cfg.connections[0];
        assert_eq!(c.api_base_url.as_str(), "https://webexapis.com/v1");
        assert_eq!(
            c.webhook_secret_ref,
            "archiver/uni-example/webex-main/webhook-secret"
        );
        assert_eq!(
            c.credentials_ref.as_deref(),
            Some("archiver/uni-example/webex-main/credentials")
        );
        assert_eq!(cfg.secrets.len(), 1, "only the credentials are written now");

        // Bad JSON in the variable, or no credentials at all, are reported by field.
        let problems = file(v.clone())
            .validate("archiver/", |_| Some("{\"kind\":\"integration\"}".into()))
            .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "connections[0].credentials_env"
                    && p.reason.contains("missing field")),
            "{problems:?}"
        );
        v["connections"][0]
            .as_object_mut()
            .unwrap()
            .remove("credentials_env");
        v["connections"][0]["credentials_ref"] = "other/webex-token".into();
        let problems = file(v.clone()).validate("archiver/", |_| None).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "connections[0].credentials_ref"
                    && p.reason.contains("/credentials")),
            "{problems:?}"
        );
        v["connections"][0]["credentials_ref"] =
            "archiver/uni-example/webex-main/credentials".into();
        assert!(file(v.clone()).validate("archiver/", |_| None).is_ok());
        v["connections"][0]
            .as_object_mut()
            .unwrap()
            .remove("credentials_ref");
        let problems = file(v).validate("archiver/", |_| None).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.reason.contains("Webex needs API credentials")),
            "{problems:?}"
        );
    }

    #[test]
    fn one_vendor_account_is_served_by_one_connection_only() {
        let mut v = good();
        let mut second = v["connections"][0].clone();
        second["id"] = "zoom-second".into();
        v["connections"].as_array_mut().unwrap().push(second);
        let problems = file(v).validate("archiver/", env).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "connections[1].account_id" && p.reason.contains("ACCT123")),
            "{problems:?}"
        );
    }

    #[test]
    fn base_urls_are_parsed_at_validation() {
        let mut v = good();
        v["connections"][0]["api_base_url"] = "api.zoom.us/v2".into();
        let problems = file(v).validate("archiver/", env).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "connections[0].api_base_url"),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let mut v = good();
        v["connections"][0]["secret"] = "inline".into();
        assert!(serde_json::from_value::<ConfigFile>(v).is_err());
    }
}
