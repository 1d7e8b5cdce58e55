//! Tenant configuration records: tenants, vendor connections and users, as stored. Only records validated by
//! [`crate::config_file`] are ever stored; nothing here knows a vendor's protocol.

use crate::ids::{AccountId, Category, ConnectionId, Email, GroupId, TenantId, UserId, Vendor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The window a signed webhook timestamp must fall in, relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampWindow {
    /// How old a timestamp may be. Zoom retries a failed delivery after about 5, 25 and 85 minutes and it is
    /// not documented whether a retry is re-signed, so the default keeps every retry valid (2 h); replays
    /// inside the window are harmless because ingestion is idempotent per file.
    pub max_age_secs: i64,
    /// How far in the future a timestamp may be (clock skew).
    pub max_future_secs: i64,
}

impl Default for TimestampWindow {
    fn default() -> Self {
        Self {
            max_age_secs: 7200,
            max_future_secs: 300,
        }
    }
}

/// An http(s) base URL with a host, kept without a trailing slash so that paths join with one `/`
/// (`https://webexapis.com/v1` + `/recordings`). Parsed once; a stored connection always holds a valid one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BaseUrl(url::Url);

impl BaseUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s.trim()).map_err(|e| format!("'{s}' is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(format!("'{s}' is not an http(s) URL with a host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("'{s}' must not have a query or fragment"));
        }
        Ok(Self(url))
    }
    /// The URL as text, without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }
    /// `base` + `path` (which starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.as_str(), path.trim_start_matches('/'))
    }
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({})", self.as_str())
    }
}
impl TryFrom<String> for BaseUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<BaseUrl> for String {
    fn from(u: BaseUrl) -> String {
        u.as_str().to_owned()
    }
}

/// What happens at the vendor once a recording is archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeletePlan {
    /// Keep the vendor copy.
    Retain,
    /// Delete the vendor copy `days` + `hours` after the recording is archived (`action`: recoverable trash or
    /// permanent delete; `scope`: the recording at once, or each file on its own), but never sooner than
    /// `late_file_hours` after the recording was first announced, so that a late file (Zoom's transcripts
    /// come hours later) is archived first.
    DeleteAfter {
        #[serde(default)]
        days: u32,
        #[serde(default)]
        hours: u32,
        #[serde(default)]
        action: DeleteAction,
        #[serde(default)]
        scope: DeleteScope,
        #[serde(default = "default_late_file_hours")]
        late_file_hours: u32,
    },
}

/// Late files arrive within hours: Zoom sends `recording.transcript_completed` well after
/// `recording.completed`.
pub const DEFAULT_LATE_FILE_HOURS: u32 = 24;

fn default_late_file_hours() -> u32 {
    DEFAULT_LATE_FILE_HOURS
}

impl DeletePlan {
    /// A plan deleting `days` after archiving, with the defaults for everything else.
    pub fn after_days(days: u32, action: DeleteAction) -> Self {
        DeletePlan::DeleteAfter {
            days,
            hours: 0,
            action,
            scope: DeleteScope::default(),
            late_file_hours: DEFAULT_LATE_FILE_HOURS,
        }
    }
}

/// What one deletion call removes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteScope {
    /// Every file of the recording in one call, once all are archived.
    #[default]
    Recording,
    /// Each archived file by itself.
    File,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteAction {
    /// Zoom trash: recoverable for 30 days.
    #[default]
    Trash,
    Delete,
}

/// A host-name pattern for the download allow-list: `zoom.us` (exactly) or `*.zoom.us` (any subdomain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPattern(String);

impl HostPattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        let body = s.strip_prefix("*.").unwrap_or(&s);
        if body.is_empty()
            || body.starts_with('.')
            || body.ends_with('.')
            || !body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(format!("'{s}' is not a host name or *.domain pattern"));
        }
        Ok(Self(s))
    }
    pub fn matches(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        match self.0.strip_prefix("*.") {
            Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
            None => host == self.0,
        }
    }
}
impl TryFrom<String> for HostPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<HostPattern> for String {
    fn from(h: HostPattern) -> String {
        h.0
    }
}

/// A tenant record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// How long this tenant's archived media stays in S3 Standard, and whether it expires: a lifecycle rule
    /// for the tenant's prefix (`tenants/<id>/`). `None`: only the deployment's rules apply.
    #[serde(default)]
    pub retention: Option<Retention>,
    /// The groups of the directory: users belong to them, and connections opt in or out and choose
    /// categories by them. Naming an undeclared group anywhere is refused at `apply`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupId>,
    /// The categories recordings may be filed under; a connection naming another one is refused at `apply`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// The institution's time zone: titles are written in it unless a connection names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<crate::naming::TimeZone>,
}

/// A tenant's retention of its own archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Move media to `storage_class` this many days after it was written.
    #[serde(default)]
    pub transition_after_days: Option<u32>,
    #[serde(default)]
    pub storage_class: ArchiveClass,
    /// Delete media (S3 keeps a noncurrent version while the bucket is versioned) this many days after it
    /// was written.
    #[serde(default)]
    pub expire_after_days: Option<u32>,
}

/// The cheaper S3 storage classes an archive may move to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArchiveClass {
    StandardIa,
    IntelligentTiering,
    #[default]
    GlacierIr,
    Glacier,
    DeepArchive,
}

impl ArchiveClass {
    /// S3's name of the class.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveClass::StandardIa => "STANDARD_IA",
            ArchiveClass::IntelligentTiering => "INTELLIGENT_TIERING",
            ArchiveClass::GlacierIr => "GLACIER_IR",
            ArchiveClass::Glacier => "GLACIER",
            ArchiveClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }
}

/// One connected vendor account. Looked up by id from the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant: TenantId,
    pub vendor: Vendor,
    pub account_id: AccountId,
    /// Secrets Manager id of the webhook secret token.
    pub webhook_secret_ref: String,
    /// Secrets Manager id of the API credentials (OAuth client), if any.
    pub credentials_ref: Option<String>,
    pub api_base_url: BaseUrl,
    pub oauth_base_url: BaseUrl,
    /// Hosts a download (and every redirect of it) may go to.
    pub download_hosts: Vec<HostPattern>,
    pub max_age_secs: i64,
    pub max_future_secs: i64,
    pub delete_plan: DeletePlan,
    pub default_owner: UserId,
    pub enabled: bool,
    /// Which recordings are archived at all (default: every one).
    #[serde(default)]
    pub filters: Filters,
    /// How the owner is found in the directory (default: vendor user id, then e-mail, then `default_owner`).
    #[serde(default)]
    pub owner: OwnerPolicy,
    /// What each group of the meeting's people becomes on the recording (default: co-hosts co-publishers,
    /// the others ignored).
    #[serde(default)]
    pub co_owners: CoOwnerPolicy,
    /// Whose recordings are archived (opt-in / opt-out groups) and where they are filed (categories); default:
    /// everyone's, no category.
    #[serde(default)]
    pub routing: crate::routing::Routing,
    /// The folder of each recording below the tenant's prefix (default: today's
    /// [`crate::keys::DEFAULT_LAYOUT`]).
    #[serde(default)]
    pub layout: crate::keys::FolderLayout,
    /// Title and description templates, and their time zone (default: the topic, today's description, UTC
    /// or the tenant's time zone).
    #[serde(default)]
    pub titles: crate::naming::Titles,
}

/// How a connection finds a recording's owner in the tenant's directory (`shared::owner::decide` applies it).
/// The host is looked up by their vendor user id, then by a *name* made from their e-mail: a directory user
/// with that id, else a user found by e-mail or external id (`lookup`). Nobody found: `default_owner`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerPolicy {
    /// How the host's e-mail becomes the name looked for (default: as it is).
    #[serde(default)]
    pub postfix: Postfix,
    /// Where the name is looked for when no directory user has it as id (default: `email`).
    #[serde(default)]
    pub lookup: Lookup,
    /// What becomes of a recording whose host no rule finds (default: `default_owner`).
    #[serde(default)]
    pub unmatched: Unmatched,
    /// Where the name looked for comes from (default: the host's e-mail with `postfix`).
    #[serde(default)]
    pub name_from: NameFrom,
    /// With `unmatched: quarantine`: how long a recording waits in quarantine for an owner before our copy
    /// is removed (default [`QUARANTINE_HOURS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_hours: Option<u32>,
}

/// How long a recording stays in quarantine unless the connection says otherwise.
pub const QUARANTINE_HOURS: u32 = 24;
/// The longest quarantine a connection may ask for (30 days).
pub const QUARANTINE_HOURS_MAX: u32 = 720;

/// Where the name the owner rules look for comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameFrom {
    /// The host's e-mail, with `postfix` applied.
    #[default]
    Email,
    /// Zoom: the host's `cms_user_id` (the id a SAML mapping gave them, read with `GET /users/{id}`), else the
    /// e-mail as it is.
    CmsUserId,
}

/// What a group of a meeting's people becomes on the archived recording (Kaltura's `handleParticipantsMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoRole {
    /// May publish it (Kaltura `entitledUsersPublish`).
    CoPublisher,
    /// May watch it (`entitledUsersView`).
    CoViewer,
    /// May edit it (`entitledUsersEdit`).
    CoEditor,
    /// Not a co-owner.
    Ignore,
}

impl CoRole {
    pub fn as_str(self) -> &'static str {
        match self {
            CoRole::CoPublisher => "co_publisher",
            CoRole::CoViewer => "co_viewer",
            CoRole::CoEditor => "co_editor",
            CoRole::Ignore => "ignore",
        }
    }
}

/// Each group of a meeting's people mapped to a [`CoRole`] (`co_owners:` in the tenant file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoOwnerPolicy {
    #[serde(default = "co_publisher")]
    pub co_hosts: CoRole,
    #[serde(default = "ignore")]
    pub alternative_hosts: CoRole,
    #[serde(default = "ignore")]
    pub panelists: CoRole,
    #[serde(default = "ignore")]
    pub participants: CoRole,
}

fn co_publisher() -> CoRole {
    CoRole::CoPublisher
}
fn ignore() -> CoRole {
    CoRole::Ignore
}

impl Default for CoOwnerPolicy {
    fn default() -> Self {
        Self {
            co_hosts: CoRole::CoPublisher,
            alternative_hosts: CoRole::Ignore,
            panelists: CoRole::Ignore,
            participants: CoRole::Ignore,
        }
    }
}

/// A recording whose host is not in the directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// Owned by the connection's `default_owner`.
    #[default]
    DefaultOwner,
    /// Not archived: recorded as skipped with the reason (`list --state skipped`); once the host is in the
    /// directory, `archiver-admin retry --instance` archives it.
    Skip,
    /// The host is added to the directory (id from the name the owner rules looked for, e-mail, vendor id)
    /// and owns it; a host a rule found blocked is not created again (`default_owner` then).
    Create,
    /// Archived under `quarantine/`, held by the `default_owner`, for `quarantine_hours`: `archiver-admin
    /// assign-owner` gives it its owner; otherwise the sweeper then removes our copy (the vendor's is kept,
    /// and `archiver-admin retry` archives it again).
    Quarantine,
}

/// `jdoe@uni.edu` ↔ `jdoe`: what is done to the end of the host's e-mail (compared case-insensitively).
/// Written `{add: "@uni.edu"}` or `{remove: "@uni.edu"}`; `{}` or absent keeps the e-mail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PostfixSpec", into = "PostfixSpec")]
pub enum Postfix {
    /// The e-mail as it is.
    #[default]
    Keep,
    /// Appended unless the name ends with it already (`jdoe` → `jdoe@uni.edu`).
    Add(String),
    /// Removed when the name ends with it (`jdoe@uni.edu` → `jdoe`).
    Remove(String),
}

/// How a [`Postfix`] is written in a tenant file and stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostfixSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    add: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remove: Option<String>,
}

impl TryFrom<PostfixSpec> for Postfix {
    type Error = String;
    fn try_from(s: PostfixSpec) -> Result<Self, String> {
        match (s.add, s.remove) {
            (None, None) => Ok(Postfix::Keep),
            (Some(p), None) => Ok(Postfix::Add(p)),
            (None, Some(p)) => Ok(Postfix::Remove(p)),
            (Some(_), Some(_)) => Err("give add or remove, not both".into()),
        }
    }
}

impl From<Postfix> for PostfixSpec {
    fn from(p: Postfix) -> Self {
        match p {
            Postfix::Keep => PostfixSpec::default(),
            Postfix::Add(p) => PostfixSpec {
                add: Some(p),
                remove: None,
            },
            Postfix::Remove(p) => PostfixSpec {
                add: None,
                remove: Some(p),
            },
        }
    }
}

impl Postfix {
    /// The name `host` becomes.
    pub fn apply(&self, host: &str) -> String {
        let ends = |p: &str| {
            host.len() >= p.len()
                && host.is_char_boundary(host.len() - p.len())
                && host[host.len() - p.len()..].eq_ignore_ascii_case(p)
        };
        match self {
            Postfix::Keep => host.to_owned(),
            Postfix::Add(p) if ends(p) => host.to_owned(),
            Postfix::Add(p) => format!("{host}{p}"),
            Postfix::Remove(p) if ends(p) && host.len() > p.len() => {
                host[..host.len() - p.len()].to_owned()
            }
            Postfix::Remove(_) => host.to_owned(),
        }
    }
}

/// Where a host's name is looked for after the directory's user ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// The users' e-mail: the host's e-mail as it is, then the name if it is another e-mail.
    #[default]
    Email,
    /// The users' `external_id` (an SSO or student-system id): the name, then the e-mail as it is.
    ExternalId,
}

impl OwnerPolicy {
    /// How long a recording waits in quarantine for an owner.
    pub fn quarantine_for(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.quarantine_hours.unwrap_or(QUARANTINE_HOURS)))
    }

    /// What is wrong with the policy (field below `owner`, reason); empty when it can work.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Postfix::Add(p) | Postfix::Remove(p) = &self.postfix
            && (p.trim().is_empty() || p.contains(char::is_whitespace))
        {
            out.push((
                "postfix".into(),
                format!("{p:?} must be a non-empty postfix without spaces (e.g. \"@uni.edu\")"),
            ));
        }
        match self.quarantine_hours {
            Some(h) if self.unmatched != Unmatched::Quarantine => out.push((
                "quarantine_hours".into(),
                format!(
                    "{h} is given, but only unmatched: quarantine keeps recordings in quarantine"
                ),
            )),
            Some(h) if h == 0 || h > QUARANTINE_HOURS_MAX => out.push((
                "quarantine_hours".into(),
                format!("{h} must be from 1 to {QUARANTINE_HOURS_MAX} (30 days)"),
            )),
            _ => {}
        }
        out
    }
}

/// Which recordings a connection archives, applied the same way to webhooks, backfill and reconcile (all go
/// through enqueue). A recording a filter excludes is recorded as skipped with the reason, never dropped
/// silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Recordings shorter than this many minutes are skipped (test calls, accidental starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_minutes: Option<u32>,
    /// Only these kinds (`meeting`, `webinar`); absent: both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<crate::model::MeetingKind>>,
    /// Topics matching any of these regular expressions (case-insensitive) are skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_topics: Vec<String>,
    /// Which kinds of file are archived besides video (default: all). A file of a kind switched off is
    /// recorded on the entry as not archived, with the reason, and never counts as missing.
    #[serde(default, skip_serializing_if = "FileKinds::is_all")]
    pub files: FileKinds,
}

/// Per-kind switches for the files of a recording. Videos and kinds we do not know are always archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKinds {
    /// Transcripts and closed captions.
    #[serde(default = "on")]
    pub transcripts: bool,
    #[serde(default = "on")]
    pub chat: bool,
    /// Audio-only files (Zoom `audio_only` M4A, Webex audio links, participant audio).
    #[serde(default = "on")]
    pub audio_only: bool,
    #[serde(default = "on")]
    pub timeline: bool,
    #[serde(default = "on")]
    pub poll: bool,
    /// Meeting summaries (Zoom AI Companion).
    #[serde(default = "on")]
    pub summary: bool,
}

fn on() -> bool {
    true
}

impl Default for FileKinds {
    fn default() -> Self {
        Self {
            transcripts: true,
            chat: true,
            audio_only: true,
            timeline: true,
            poll: true,
            summary: true,
        }
    }
}

impl FileKinds {
    pub fn is_all(&self) -> bool {
        *self == Self::default()
    }
    /// Why a file of `kind` is not archived (the switch that is off), or `None` to archive it.
    pub fn skip(&self, kind: &crate::model::FileKind) -> Option<String> {
        use crate::model::FileKind as K;
        let (on, name) = match kind {
            K::Transcript | K::ClosedCaptions => (self.transcripts, "transcripts"),
            K::Chat => (self.chat, "chat"),
            K::Audio => (self.audio_only, "audio_only"),
            K::Timeline => (self.timeline, "timeline"),
            K::Poll => (self.poll, "poll"),
            K::Summary => (self.summary, "summary"),
            K::Video { .. } | K::Other { .. } => (true, ""),
        };
        (!on).then(|| format!("filters.files.{name} is off"))
    }
}

/// A file the connection's [`FileKinds`] leave out: its id and one line saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub id: crate::ids::FileId,
    pub line: String,
}

impl Filters {
    /// Takes the files of kinds switched off out of `rec`, returning each with the line recorded for it.
    pub fn take_skipped_files(&self, rec: &mut crate::model::Recording) -> Vec<SkippedFile> {
        let mut out = Vec::new();
        rec.files.retain(|f| match self.files.skip(&f.kind) {
            Some(why) => {
                out.push(SkippedFile {
                    id: f.id.clone(),
                    line: format!(
                        "file {} ({} .{}) not archived: {why}",
                        f.id,
                        f.kind.slug(),
                        f.extension
                    ),
                });
                false
            }
            None => true,
        });
        out
    }

    /// Why the recording is not archived, or `None` to archive it. A recording whose length is unknown is
    /// never skipped for its length.
    pub fn skip(&self, rec: &crate::model::Recording) -> Option<String> {
        if let Some(kinds) = &self.kinds
            && !kinds.contains(&rec.kind)
        {
            let name = |k: &crate::model::MeetingKind| match k {
                crate::model::MeetingKind::Meeting => "meetings",
                crate::model::MeetingKind::Webinar => "webinars",
            };
            let only: Vec<&str> = kinds.iter().map(name).collect();
            return Some(format!(
                "{}: this connection archives only {}",
                name(&rec.kind),
                only.join(" and ")
            ));
        }
        if let (Some(min), Some(minutes)) = (self.min_minutes, recorded_minutes(rec))
            && minutes < min
        {
            return Some(format!(
                "recorded for {minutes} minute(s), shorter than min_minutes {min}"
            ));
        }
        for pattern in &self.exclude_topics {
            if topic_pattern(pattern).is_ok_and(|re| re.is_match(&rec.topic)) {
                return Some(format!("topic matches exclude_topics {pattern:?}"));
            }
        }
        None
    }

    /// What is wrong with the filters (field below `filters`, reason); empty when they can work.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(m) = self.min_minutes
            && m > 1440
        {
            out.push((
                "min_minutes".into(),
                format!("{m} is more than a day (1440)"),
            ));
        }
        if self.kinds.as_ref().is_some_and(Vec::is_empty) {
            out.push((
                "kinds".into(),
                "is empty: nothing would be archived (omit it for both)".into(),
            ));
        }
        for (i, p) in self.exclude_topics.iter().enumerate() {
            if let Err(e) = topic_pattern(p) {
                out.push((
                    format!("exclude_topics[{i}]"),
                    format!("{p:?} is not a regular expression: {e}"),
                ));
            }
        }
        out
    }
}

/// A topic pattern as admins write them (filters, category rules): a case-insensitive regular expression.
pub(crate) fn topic_pattern(p: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::RegexBuilder::new(p)
        .case_insensitive(true)
        .build()
}

/// How long the recording ran: its segments' span (first start to last end), else the vendor's duration.
fn recorded_minutes(rec: &crate::model::Recording) -> Option<u32> {
    let start = rec.files.iter().map(|f| f.segment_start).min();
    let end = rec.files.iter().filter_map(|f| f.recording_end).max();
    match (start, end) {
        (Some(s), Some(e)) if e >= s => Some(((e - s).num_seconds() / 60) as u32),
        _ => rec.duration_minutes,
    }
}

impl Connection {
    pub fn timestamp_window(&self) -> TimestampWindow {
        TimestampWindow {
            max_age_secs: self.max_age_secs,
            max_future_secs: self.max_future_secs,
        }
    }
    /// Whether `host` is on this connection's download allow-list.
    pub fn download_host_allowed(&self, host: &str) -> bool {
        self.download_hosts.iter().any(|p| p.matches(host))
    }
}

/// A user of the tenant's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub tenant: TenantId,
    pub email: Email,
    pub name: String,
    /// The user's ids at the vendors (Zoom user id, Webex person id).
    pub vendor_ids: Vec<VendorUserId>,
    /// An id of the institution's (SSO, student system), for `owner.lookup: external_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// A blocked user owns nothing new: owner rules pass over them as if not found.
    #[serde(default)]
    pub status: UserStatus,
    /// The directory groups the user is in (declared on the tenant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupId>,
    /// The user asked not to be archived: recordings they host (and, with `routing.co_hosts`, co-host) are
    /// skipped with the reason.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opt_out: bool,
}

/// Whether a directory user may be given recordings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    #[default]
    Active,
    /// Left, suspended or deactivated: counts as not found.
    Blocked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorUserId {
    pub vendor: Vendor,
    pub id: String,
}

/// A validated configuration for one tenant, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantConfig {
    pub tenant: Tenant,
    pub connections: Vec<Connection>,
    pub users: Vec<User>,
    /// Secret values the admin supplied (connection id, secret id, value), to write to Secrets Manager.
    pub secrets: Vec<SecretToWrite>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SecretToWrite {
    pub secret_id: String,
    pub value: String,
}

impl std::fmt::Debug for SecretToWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretToWrite")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(
        kind: crate::model::MeetingKind,
        topic: &str,
        minutes: i64,
    ) -> crate::model::Recording {
        use crate::model::*;
        let start: chrono::DateTime<chrono::Utc> = "2026-11-02T09:00:00Z".parse().unwrap();
        Recording {
            vendor: Vendor::Zoom,
            account: AccountId::parse("acct").unwrap(),
            instance: crate::ids::InstanceId::parse("i-1").unwrap(),
            meeting_id: "1".into(),
            topic: topic.into(),
            kind,
            host: Host {
                vendor_user_id: None,
                email: None,
            },
            start_time: start,
            timezone: None,
            duration_minutes: Some(90),
            vendor_recording_ids: vec![],
            files: vec![RecordingFile {
                id: crate::ids::FileId::parse("f").unwrap(),
                kind: FileKind::Audio,
                vendor_type: "M4A".into(),
                extension: "m4a".into(),
                segment_start: start,
                recording_end: Some(start + chrono::Duration::minutes(minutes)),
                expected_size: None,
                source: DownloadSource::WebexTranscript {
                    transcript_id: "t".into(),
                    url: "https://x".into(),
                },
                file_name: None,
                recording_type: None,
                status: None,
            }],
            notes: vec![],
        }
    }

    #[test]
    fn filters_skip_with_a_reason_and_each_option_alone_decides() {
        use crate::model::MeetingKind::{Meeting, Webinar};
        let lecture = recording(Meeting, "CHEM 101 Lecture 3", 50);
        let none = Filters::default();
        let short = Filters {
            min_minutes: Some(60),
            ..Filters::default()
        };
        let meetings_only = Filters {
            kinds: Some(vec![Meeting]),
            ..Filters::default()
        };
        let no_tests = Filters {
            exclude_topics: vec!["^test\\b".into(), "office hours".into()],
            ..Filters::default()
        };
        let cases = [
            (&none, &lecture, None),
            (
                &short,
                &lecture,
                Some("recorded for 50 minute(s), shorter than min_minutes 60"),
            ),
            (&short, &recording(Meeting, "x", 60), None),
            (&meetings_only, &lecture, None),
            (
                &meetings_only,
                &recording(Webinar, "x", 50),
                Some("webinars: this connection archives only meetings"),
            ),
            (&no_tests, &lecture, None),
            (
                &no_tests,
                &recording(Meeting, "Test call", 5),
                Some("topic matches exclude_topics \"^test\\\\b\""),
            ),
            (
                &no_tests,
                &recording(Meeting, "CHEM Office Hours", 5),
                Some("topic matches exclude_topics \"office hours\""),
            ),
            (&no_tests, &recording(Meeting, "Testing 101", 5), None),
        ];
        for (f, rec, want) in cases {
            assert_eq!(f.skip(rec).as_deref(), want, "{f:?} on {:?}", rec.topic);
        }
        // Without any end time the vendor's duration counts; an unknown length is never skipped for it.
        let mut unknown = recording(Meeting, "x", 5);
        unknown.files[0].recording_end = None;
        assert_eq!(
            short.skip(&unknown),
            None,
            "90 minutes by the vendor's duration"
        );
        unknown.duration_minutes = None;
        assert_eq!(short.skip(&unknown), None);
    }

    #[test]
    fn filters_that_cannot_work_are_refused_with_their_field() {
        let bad = Filters {
            min_minutes: Some(2000),
            kinds: Some(vec![]),
            exclude_topics: vec!["ok".into(), "(unclosed".into()],
            files: FileKinds::default(),
        };
        let fields: Vec<String> = bad.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["min_minutes", "kinds", "exclude_topics[1]"]);
        assert!(Filters::default().problems().is_empty());
    }

    #[test]
    fn base_urls_join_with_one_slash_and_refuse_non_http() {
        let u = BaseUrl::parse("https://zoom.us").unwrap();
        assert_eq!(u.join("/oauth/token"), "https://zoom.us/oauth/token");
        let u = BaseUrl::parse("https://webexapis.com/v1/").unwrap();
        assert_eq!(u.as_str(), "https://webexapis.com/v1");
        assert_eq!(u.join("/recordings"), "https://webexapis.com/v1/recordings");
        assert_eq!(u.host(), "webexapis.com");
        for bad in ["ftp://x", "webexapis.com", "https://", "https://x/?a=1"] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(json, "\"https://webexapis.com/v1\"");
        assert!(serde_json::from_str::<BaseUrl>("\"nope\"").is_err());
    }

    #[test]
    fn host_patterns() {
        let p = HostPattern::parse("*.zoom.us").unwrap();
        assert!(p.matches("a.zoom.us"));
        assert!(!p.matches("zoom.us"));
        assert!(HostPattern::parse("").is_err());
        assert!(HostPattern::parse("a b").is_err());
        assert!(
            HostPattern::parse("127.0.0.1")
                .unwrap()
                .matches("127.0.0.1")
        );
    }
}
