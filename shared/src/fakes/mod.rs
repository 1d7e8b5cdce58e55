//! In-memory fakes of the ports, fixtures and a log capture, for every crate's unit tests (feature `fakes`).
//! [`MemoryCatalog`] is a real catalog in memory that applies the domain's state machine; [`contract`]
//! checks any catalog against those rules.

mod catalog;
pub mod contract;
mod logs;

pub use catalog::MemoryCatalog;
pub use logs::{capture_logs, install_log_subscriber};

use crate::config::{BaseUrl, Connection, DeletePlan, HostPattern, User};
use crate::error::Error;
use crate::ids::{AccountId, ConnectionId, Email, TenantId, UserId, Vendor};
use crate::ports::*;
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The Zoom account of the sample events in `events/zoom/`.
pub const ZOOM_ACCOUNT: &str = "R8bT0xVqQ1yZ9cW3nLmKpA";
/// The Webex org of the sample events in `events/webex/`.
pub const WEBEX_ORG: &str =
    "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9lMWQ3MzQ0Ny1hZjY3LTQ1ZTYtOGM2Mi0xMTVlNDQ3Y2QzMmQ";

/// The test connection of a vendor: `zoom-main` or `webex-main` of tenant `uni`, for the account of the
/// sample events, vendor default URLs and hosts, default owner `media`, retain.
pub fn connection(vendor: Vendor) -> Connection {
    let (id, account, api, oauth, hosts, credentials) = match vendor {
        Vendor::Zoom => (
            "zoom-main",
            ZOOM_ACCOUNT,
            "https://api.zoom.us/v2",
            "https://zoom.us",
            "*.zoom.us",
            None,
        ),
        Vendor::Webex => (
            "webex-main",
            WEBEX_ORG,
            "https://webexapis.com/v1",
            "https://webexapis.com/v1",
            "*.webex.com",
            Some("archiver/uni/webex-main/credentials".to_owned()),
        ),
    };
    Connection {
        id: ConnectionId::parse(id).unwrap(),
        tenant: TenantId::parse("uni").unwrap(),
        vendor,
        account_id: AccountId::parse(account).unwrap(),
        webhook_secret_ref: format!("archiver/uni/{id}/webhook-secret"),
        credentials_ref: credentials,
        api_base_url: BaseUrl::parse(api).unwrap(),
        oauth_base_url: BaseUrl::parse(oauth).unwrap(),
        download_hosts: vec![HostPattern::parse(hosts).unwrap()],
        max_age_secs: 7200,
        max_future_secs: 300,
        delete_plan: DeletePlan::Retain,
        default_owner: UserId::parse("media").unwrap(),
        enabled: true,
        filters: Default::default(),
        owner: Default::default(),
        co_owners: Default::default(),
        routing: Default::default(),
        layout: Default::default(),
        titles: Default::default(),
    }
}

/// A directory user of tenant `uni`.
pub fn user(id: &str, email: &str) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        tenant: TenantId::parse("uni").unwrap(),
        email: Email::parse(email).unwrap(),
        name: String::new(),
        vendor_ids: vec![],
        external_id: None,
        status: Default::default(),
        groups: vec![],
        opt_out: false,
    }
}

/// Backfill runs in memory, keyed by connection and range.
#[derive(Default, Clone)]
pub struct MemoryBackfill {
    pub runs: Arc<Mutex<HashMap<String, crate::backfill::BackfillRun>>>,
}

#[async_trait]
impl crate::backfill::BackfillStore for MemoryBackfill {
    async fn load(
        &self,
        connection: &crate::ids::ConnectionId,
        range: &crate::backfill::DateRange,
    ) -> Result<crate::backfill::BackfillRun, Error> {
        let key = format!("{connection} {}", range.id());
        Ok(self
            .runs
            .lock()
            .unwrap()
            .get(&key)
            .cloned()
            .unwrap_or_default())
    }

    async fn unit_done(
        &self,
        connection: &crate::ids::ConnectionId,
        range: &crate::backfill::DateRange,
        unit: &str,
        counts: &crate::backfill::Counts,
    ) -> Result<(), Error> {
        let key = format!("{connection} {}", range.id());
        let mut runs = self.runs.lock().unwrap();
        let run = runs.entry(key).or_default();
        if run.done.insert(unit.to_owned()) {
            run.counts.add(counts);
        }
        Ok(())
    }

    async fn update(
        &self,
        connection: &crate::ids::ConnectionId,
        range: &crate::backfill::DateRange,
        update: &crate::backfill::RunUpdate,
    ) -> Result<(), Error> {
        let key = format!("{connection} {}", range.id());
        let mut runs = self.runs.lock().unwrap();
        let run = runs.entry(key).or_default();
        run.state = update.state;
        run.units = update.units.unwrap_or(run.units);
        run.reason = update.reason.clone();
        Ok(())
    }
}

/// A queue that keeps what it was sent; `fail` makes every send fail transiently.
#[derive(Default, Clone)]
pub struct MemoryQueue {
    pub sent: Arc<Mutex<Vec<String>>>,
    pub fail: Arc<Mutex<bool>>,
}

impl MemoryQueue {
    pub fn bodies(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(&self, body: String) -> Result<(), Error> {
        if *self.fail.lock().unwrap() {
            return Err(Error::transient("queue unavailable"));
        }
        self.sent.lock().unwrap().push(body);
        Ok(())
    }
}

/// Fixed secrets.
#[derive(Default, Clone)]
pub struct StaticSecrets(pub HashMap<String, String>);

#[async_trait]
impl SecretStore for StaticSecrets {
    async fn secret(&self, id: &str) -> Result<SecretString, Error> {
        self.0
            .get(id)
            .map(SecretString::new)
            .ok_or_else(|| Error::permanent(format!("no secret {id}")))
    }
}

/// Secrets in memory that can be written, counting the writes.
#[derive(Default, Clone)]
pub struct MemorySecrets {
    pub values: Arc<Mutex<HashMap<String, String>>>,
    pub writes: Arc<Mutex<Vec<String>>>,
}

impl MemorySecrets {
    pub fn with(id: &str, value: &str) -> Self {
        let s = Self::default();
        s.values.lock().unwrap().insert(id.into(), value.into());
        s
    }
    pub fn get(&self, id: &str) -> Option<String> {
        self.values.lock().unwrap().get(id).cloned()
    }
}

#[async_trait]
impl SecretStore for MemorySecrets {
    async fn secret(&self, id: &str) -> Result<SecretString, Error> {
        self.get(id)
            .map(SecretString::new)
            .ok_or_else(|| Error::permanent(format!("no secret {id}")))
    }
}

#[async_trait]
impl crate::ports::SecretWriter for MemorySecrets {
    async fn put_secret(&self, id: &str, value: &SecretString) -> Result<(), Error> {
        self.values
            .lock()
            .unwrap()
            .insert(id.into(), value.expose().into());
        self.writes.lock().unwrap().push(id.into());
        Ok(())
    }
}

/// Connection switches in memory: what was switched, in order.
#[derive(Default, Clone)]
pub struct MemorySwitch(pub Arc<Mutex<Vec<(ConnectionId, bool)>>>);

#[async_trait]
impl crate::ports::ConnectionSwitch for MemorySwitch {
    async fn set_enabled(&self, id: &ConnectionId, enabled: bool) -> Result<bool, Error> {
        self.0.lock().unwrap().push((id.clone(), enabled));
        Ok(true)
    }
}

/// Connections and users in memory.
#[derive(Default, Clone)]
pub struct MemoryConfig {
    pub connections: Vec<Connection>,
    pub users: Vec<User>,
}

#[async_trait]
impl ConfigStore for MemoryConfig {
    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, Error> {
        Ok(self.connections.iter().find(|c| &c.id == id).cloned())
    }
}

#[async_trait]
impl ConnectionList for MemoryConfig {
    async fn connections(&self) -> Result<Vec<Connection>, Error> {
        Ok(self.connections.clone())
    }
}

#[async_trait]
impl UserDirectory for MemoryConfig {
    async fn by_vendor_id(
        &self,
        tenant: &TenantId,
        vendor: Vendor,
        id: &str,
    ) -> Result<Option<User>, Error> {
        Ok(self
            .users
            .iter()
            .find(|u| {
                &u.tenant == tenant
                    && u.vendor_ids
                        .iter()
                        .any(|v| v.vendor == vendor && v.id == id)
            })
            .cloned())
    }
    async fn by_email(&self, tenant: &TenantId, email: &Email) -> Result<Option<User>, Error> {
        Ok(self
            .users
            .iter()
            .find(|u| &u.tenant == tenant && &u.email == email)
            .cloned())
    }
    async fn by_id(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, Error> {
        Ok(self
            .users
            .iter()
            .find(|u| &u.tenant == tenant && &u.id == id)
            .cloned())
    }
    async fn by_external_id(&self, tenant: &TenantId, id: &str) -> Result<Option<User>, Error> {
        Ok(self
            .users
            .iter()
            .find(|u| &u.tenant == tenant && u.external_id.as_deref() == Some(id))
            .cloned())
    }
}

/// A directory the owner stage may add users to ([`crate::ports::DirectoryWriter`]): `existing` are there
/// already; `created` is what was added.
#[derive(Default, Clone)]
pub struct MemoryDirectory {
    pub existing: Vec<User>,
    pub created: Arc<Mutex<Vec<User>>>,
}

#[async_trait]
impl crate::ports::DirectoryWriter for MemoryDirectory {
    async fn create_user(&self, user: &User) -> Result<Option<User>, Error> {
        let mut created = self.created.lock().unwrap();
        let same = |u: &&User| u.tenant == user.tenant && u.id == user.id;
        if let Some(u) = self
            .existing
            .iter()
            .find(same)
            .or(created.iter().find(same))
        {
            return Ok(Some(u.clone()));
        }
        created.push(user.clone());
        Ok(None)
    }
}

/// What a [`MemorySink`] saw of one upload.
#[derive(Debug, Default, Clone)]
pub struct UploadRecord {
    pub id: String,
    pub key: String,
    /// The parts as stored now, by number (a part sent again replaces the earlier one).
    pub parts: std::collections::BTreeMap<u32, Bytes>,
    /// Every part upload in the order they arrived: (number, bytes).
    pub sent: Vec<(u32, usize)>,
    pub completed: bool,
    pub aborted: bool,
    pub metadata: Vec<(String, String)>,
}

impl UploadRecord {
    /// The bytes of the object (its parts in order).
    pub fn data(&self) -> Vec<u8> {
        self.parts
            .values()
            .flat_map(|b| b.iter().copied())
            .collect()
    }
}

/// An object sink in memory, keeping every upload and its parts. `fail_part` makes that part number fail
/// transiently; `fail_parts_from` fails every part from that number on (an outage).
#[derive(Default, Clone)]
pub struct MemorySink {
    pub uploads: Arc<Mutex<Vec<UploadRecord>>>,
    /// Object tags `sha256` by key.
    pub sha256: Arc<Mutex<HashMap<String, String>>>,
    pub fail_part: Option<u32>,
    /// Every part upload takes this long (a slow network to the store).
    pub part_delay: Option<std::time::Duration>,
}

impl MemorySink {
    /// The upload with this id.
    pub fn upload(&self, id: &str) -> Option<UploadRecord> {
        self.uploads
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.id == id)
            .cloned()
    }

    /// The completed object at `key`.
    pub fn object(&self, key: &str) -> Option<UploadRecord> {
        self.uploads
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|u| u.key == key && u.completed)
            .cloned()
    }
}

struct MemoryUpload {
    id: String,
    sink: MemorySink,
}

impl MemoryUpload {
    fn with<T>(&self, f: impl FnOnce(&mut UploadRecord) -> Result<T, Error>) -> Result<T, Error> {
        let mut u = self.sink.uploads.lock().unwrap();
        match u.iter_mut().find(|r| r.id == self.id) {
            Some(rec) if !rec.completed && !rec.aborted => f(rec),
            _ => Err(Error::permanent("NoSuchUpload").kind_of(crate::error::Kind::NotFound)),
        }
    }
}

#[async_trait]
impl ObjectSink for MemorySink {
    fn bucket(&self) -> &str {
        "memory"
    }
    async fn start(&self, target: &ObjectTarget) -> Result<Box<dyn MultipartUpload>, Error> {
        let mut u = self.uploads.lock().unwrap();
        let id = format!("upload-{}", u.len() + 1);
        u.push(UploadRecord {
            id: id.clone(),
            key: target.key.clone(),
            metadata: target.metadata.clone(),
            ..Default::default()
        });
        Ok(Box::new(MemoryUpload {
            id,
            sink: self.clone(),
        }))
    }
    async fn resume(
        &self,
        _target: &ObjectTarget,
        upload_id: &str,
    ) -> Result<Option<Box<dyn MultipartUpload>>, Error> {
        let live = self
            .upload(upload_id)
            .is_some_and(|u| !u.completed && !u.aborted);
        Ok(live.then(|| {
            Box::new(MemoryUpload {
                id: upload_id.to_owned(),
                sink: self.clone(),
            }) as Box<dyn MultipartUpload>
        }))
    }
    async fn stored(&self, key: &str) -> Result<Option<(u64, String)>, Error> {
        Ok(self.object(key).map(|o| {
            (
                o.data().len() as u64,
                format!("\"multipart-{}\"", o.parts.len()),
            )
        }))
    }
    async fn record_sha256(&self, target: &ObjectTarget, sha256: &str) -> Result<(), Error> {
        if self.object(&target.key).is_none() {
            return Err(Error::permanent("no such object").kind_of(crate::error::Kind::NotFound));
        }
        self.sha256
            .lock()
            .unwrap()
            .insert(target.key.clone(), sha256.to_owned());
        Ok(())
    }
}

#[async_trait]
impl MultipartUpload for MemoryUpload {
    fn id(&self) -> &str {
        &self.id
    }
    async fn upload_part(
        &self,
        number: u32,
        part: crate::ports::PartBody,
    ) -> Result<crate::catalog::PartDone, Error> {
        let bytes = part.bytes().clone();
        if self.sink.fail_part == Some(number) {
            return Err(Error::transient("part upload failed"));
        }
        if let Some(d) = self.sink.part_delay {
            tokio::time::sleep(d).await;
        }
        let len = bytes.len();
        self.with(|rec| {
            rec.sent.push((number, len));
            rec.parts.insert(number, bytes);
            Ok(crate::catalog::PartDone {
                etag: format!("\"etag-{number}-{len}\""),
                crc32: None,
                bytes: len as u64,
            })
        })
    }
    async fn complete(&self, parts: &[crate::catalog::PartDone]) -> Result<String, Error> {
        self.with(|rec| {
            let want: Vec<String> = (1..=parts.len() as u32)
                .map(|n| {
                    let len = rec.parts.get(&n).map_or(0, |b| b.len());
                    format!("\"etag-{n}-{len}\"")
                })
                .collect();
            let got: Vec<String> = parts.iter().map(|p| p.etag.clone()).collect();
            if want != got {
                return Err(Error::permanent(format!(
                    "InvalidPart: {got:?} vs {want:?}"
                )));
            }
            // Parts beyond the list (sent by a run that was cut short) are not part of the object.
            rec.parts.retain(|n, _| (*n as usize) <= parts.len());
            rec.completed = true;
            Ok(format!("\"multipart-{}\"", parts.len()))
        })
    }
    async fn abort(&self) -> Result<(), Error> {
        self.with(|rec| {
            rec.aborted = true;
            Ok(())
        })
    }
}

/// A Zoom API in memory: the recordings it lists (as `GET /meetings/{uuid}/recordings` answers, files
/// carrying their fresh token); every call is counted.
#[derive(Default, Clone)]
pub struct FakeZoom {
    pub recordings: Arc<Mutex<HashMap<String, crate::model::Recording>>>,
    pub calls: Arc<Mutex<u32>>,
    /// Every deletion asked for (`<uuid> <file> <action>`), answered or not.
    pub deletes: Arc<Mutex<Vec<String>>>,
    /// Answer every call with this error instead (class and kind kept).
    pub fail: Arc<Mutex<Option<(crate::error::Class, crate::error::Kind)>>>,
    /// The account's users, for `users`.
    pub users: Arc<Mutex<Vec<crate::zoom::api::ZoomUser>>>,
    /// The account's groups, for `groups`.
    pub groups: Arc<Mutex<Vec<crate::zoom::api::ZoomGroup>>>,
    /// What `user_recordings` lists: recording objects as Zoom's list has them (`host_id`, `start_time`).
    pub listed: Arc<Mutex<Vec<serde_json::Value>>>,
    /// The people of each meeting instance, by uuid; an unknown one is answered like Zoom's 404.
    pub people: Arc<Mutex<HashMap<String, FakePeople>>>,
    /// Every call about a meeting's people, in order: `metrics <uuid>`, `meeting <id>`, `report <uuid>`,
    /// `panelists <id>`.
    pub people_calls: Arc<Mutex<Vec<String>>>,
    /// Answer one kind of those calls (`metrics`, `meeting`, `report`, `panelists`) with this error.
    pub people_fail: Arc<Mutex<HashMap<&'static str, (crate::error::Class, crate::error::Kind)>>>,
}

/// What [`FakeZoom`] answers about one meeting instance's people.
#[derive(Debug, Clone, Default)]
pub struct FakePeople {
    /// The dashboard's past participants, with their roles.
    pub metrics: Vec<crate::zoom::api::ZoomParticipant>,
    /// `settings.alternative_hosts` as Zoom holds it.
    pub alternative_hosts: String,
    /// The participant report.
    pub report: Vec<crate::zoom::api::ZoomParticipant>,
    pub panelists: Vec<crate::zoom::api::ZoomParticipant>,
}

impl FakeZoom {
    /// One call about a meeting's people: logged, failed as told (`fail`, then `people_fail`), else `pick`
    /// of the instance's people (unknown: permanent, not found).
    fn people_call<T>(
        &self,
        call: &'static str,
        m: &crate::zoom::api::MeetingRef<'_>,
        pick: impl FnOnce(&FakePeople) -> T,
    ) -> Result<T, Error> {
        *self.calls.lock().unwrap() += 1;
        let key = if matches!(call, "meeting" | "panelists") {
            m.id
        } else {
            m.uuid
        };
        self.people_calls
            .lock()
            .unwrap()
            .push(format!("{call} {key}"));
        let everything = *self.fail.lock().unwrap();
        let failed = everything.or_else(|| self.people_fail.lock().unwrap().get(call).copied());
        if let Some((class, kind)) = failed {
            return Err(Error::new(class, kind, "zoom api (fake) refused").op(call));
        }
        self.people
            .lock()
            .unwrap()
            .get(m.uuid)
            .map(pick)
            .ok_or_else(|| {
                Error::permanent("zoom api (fake): no such meeting")
                    .kind_of(crate::error::Kind::NotFound)
                    .op(call)
            })
    }

    /// The recording's files as a minimal API answer (`uuid`, `start_time`, `recording_files` with ids and
    /// sizes).
    fn api_object(uuid: &str, r: &crate::model::Recording) -> serde_json::Value {
        serde_json::json!({
            "uuid": uuid,
            "start_time": r.start_time,
            "recording_files": r.files.iter().map(|f| serde_json::json!({
                "id": f.id.as_str(), "file_size": f.expected_size,
            })).collect::<Vec<_>>(),
        })
    }
}

#[async_trait]
impl crate::zoom::api::ZoomApi for FakeZoom {
    async fn recording(
        &self,
        _account: &AccountId,
        uuid: &str,
    ) -> Result<Option<crate::model::Recording>, Error> {
        *self.calls.lock().unwrap() += 1;
        if let Some((class, kind)) = *self.fail.lock().unwrap() {
            return Err(Error::new(class, kind, "zoom api (fake) refused"));
        }
        Ok(self.recordings.lock().unwrap().get(uuid).cloned())
    }

    async fn recording_json(&self, uuid: &str) -> Result<Option<String>, Error> {
        *self.calls.lock().unwrap() += 1;
        Ok(self
            .recordings
            .lock()
            .unwrap()
            .get(uuid)
            .map(|r| Self::api_object(uuid, r).to_string()))
    }

    async fn files(&self, uuid: &str) -> Result<Option<Vec<crate::deletion::VendorFile>>, Error> {
        *self.calls.lock().unwrap() += 1;
        if let Some((class, kind)) = *self.fail.lock().unwrap() {
            return Err(Error::new(class, kind, "zoom api (fake) refused"));
        }
        Ok(self.recordings.lock().unwrap().get(uuid).map(|r| {
            r.files
                .iter()
                .map(|f| crate::deletion::VendorFile {
                    file_id: f.id.to_string(),
                    bytes: f.expected_size,
                })
                .collect()
        }))
    }

    /// Removes the recording (or one file): 204, or 404 if there is none.
    async fn delete(
        &self,
        uuid: &str,
        file_id: Option<&str>,
        action: crate::config::DeleteAction,
    ) -> Result<u16, Error> {
        *self.calls.lock().unwrap() += 1;
        self.deletes
            .lock()
            .unwrap()
            .push(format!("{uuid} {file_id:?} {action:?}"));
        if let Some((class, kind)) = *self.fail.lock().unwrap() {
            return Err(Error::new(class, kind, "zoom api (fake) refused"));
        }
        let mut recs = self.recordings.lock().unwrap();
        let Some(rec) = recs.get_mut(uuid) else {
            return Ok(404);
        };
        match file_id {
            None => {
                recs.remove(uuid);
            }
            Some(f) => {
                let before = rec.files.len();
                rec.files.retain(|g| g.id.as_str() != f);
                if rec.files.len() == before {
                    return Ok(404);
                }
            }
        }
        Ok(204)
    }

    async fn user(&self, id: &str) -> Result<Option<crate::zoom::api::ZoomUser>, Error> {
        *self.calls.lock().unwrap() += 1;
        if let Some((class, kind)) = *self.fail.lock().unwrap() {
            return Err(Error::new(class, kind, "zoom api (fake) refused"));
        }
        let users = self.users.lock().unwrap();
        Ok(users
            .iter()
            .find(|u| {
                u.id == id
                    || u.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(id))
            })
            .cloned())
    }

    async fn groups(&self) -> Result<Vec<crate::zoom::api::ZoomGroup>, Error> {
        *self.calls.lock().unwrap() += 1;
        Ok(self.groups.lock().unwrap().clone())
    }
    async fn users(&self, status: &str) -> Result<Vec<crate::zoom::api::ZoomUser>, Error> {
        *self.calls.lock().unwrap() += 1;
        if let Some((class, kind)) = *self.fail.lock().unwrap() {
            return Err(Error::new(class, kind, "zoom api (fake) refused"));
        }
        let users = self.users.lock().unwrap();
        Ok(users
            .iter()
            .filter(|u| u.status.as_deref().unwrap_or("active") == status)
            .cloned()
            .collect())
    }

    /// The listed objects hosted by the user that started within the dates.
    async fn user_recordings(
        &self,
        user_id: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<serde_json::Value>, Error> {
        *self.calls.lock().unwrap() += 1;
        if let Some((class, kind)) = *self.fail.lock().unwrap() {
            return Err(Error::new(class, kind, "zoom api (fake) refused"));
        }
        let started = |o: &serde_json::Value| {
            o["start_time"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .map(|t| t.date_naive())
        };
        Ok(self
            .listed
            .lock()
            .unwrap()
            .iter()
            .filter(|o| o["host_id"].as_str() == Some(user_id))
            .filter(|o| started(o).is_some_and(|d| (from..=to).contains(&d)))
            .cloned()
            .collect())
    }

    async fn metrics_participants(
        &self,
        m: &crate::zoom::api::MeetingRef<'_>,
    ) -> Result<Vec<crate::zoom::api::ZoomParticipant>, Error> {
        self.people_call("metrics", m, |p| p.metrics.clone())
    }

    async fn alternative_hosts(
        &self,
        m: &crate::zoom::api::MeetingRef<'_>,
    ) -> Result<String, Error> {
        self.people_call("meeting", m, |p| p.alternative_hosts.clone())
    }

    async fn report_participants(
        &self,
        m: &crate::zoom::api::MeetingRef<'_>,
    ) -> Result<Vec<crate::zoom::api::ZoomParticipant>, Error> {
        self.people_call("report", m, |p| p.report.clone())
    }

    async fn panelists(
        &self,
        m: &crate::zoom::api::MeetingRef<'_>,
    ) -> Result<Vec<crate::zoom::api::ZoomParticipant>, Error> {
        self.people_call("panelists", m, |p| p.panelists.clone())
    }
}

#[async_trait]
impl crate::zoom::api::ZoomConnections for FakeZoom {
    async fn api(&self, _conn: &Connection) -> Result<Arc<dyn crate::zoom::api::ZoomApi>, Error> {
        Ok(Arc::new(self.clone()))
    }
}

/// A Webex API in memory: recordings (as the single GET returns them, `host_email` set as the admin list has
/// it), transcripts and participants; every call is logged.
#[derive(Default, Clone)]
pub struct FakeWebex {
    pub recordings: Arc<Mutex<Vec<crate::webex::api::WebexRecording>>>,
    pub transcripts: Arc<Mutex<Vec<crate::webex::api::WebexTranscript>>>,
    pub participants: Arc<Mutex<Vec<crate::webex::api::WebexParticipant>>>,
    pub people: Arc<Mutex<Vec<crate::webex::api::WebexPerson>>>,
    pub calls: Arc<Mutex<Vec<String>>>,
}

impl FakeWebex {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait]
impl crate::webex::api::WebexApi for FakeWebex {
    async fn recording(
        &self,
        id: &str,
        host_email: Option<&Email>,
    ) -> Result<crate::webex::api::WebexRecording, Error> {
        self.log(format!("recording {id}"));
        let found = self
            .recordings
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .cloned();
        match found {
            // Like Webex, an admin must name the host.
            Some(r) if r.host_email.as_deref() == host_email.map(Email::as_str) => {
                Ok(crate::webex::api::WebexRecording {
                    host_email: None,
                    ..r
                })
            }
            _ => Err(Error::status(
                404,
                format!("GET /recordings/{id}: HTTP 404 Not Found"),
            )),
        }
    }
    /// Recordings created within `[from, to)` on the site (any site when none is named).
    async fn admin_recordings_between(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        site_url: Option<&str>,
    ) -> Result<Vec<crate::webex::api::WebexRecording>, Error> {
        self.log(format!("admin_recordings_between {from} {to} {site_url:?}"));
        Ok(self
            .recordings
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.create_time.is_some_and(|t| from <= t && t < to))
            .filter(|r| site_url.is_none_or(|s| r.site_url.as_deref() == Some(s)))
            .map(|r| crate::webex::api::WebexRecording {
                temporary_direct_download_links: None,
                ..r.clone()
            })
            .collect())
    }

    async fn sites(&self) -> Result<Vec<String>, Error> {
        self.log("sites".into());
        let mut sites: Vec<String> = self
            .recordings
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| r.site_url.clone())
            .collect();
        sites.sort();
        sites.dedup();
        Ok(sites)
    }

    async fn admin_recordings(
        &self,
        meeting_id: &str,
    ) -> Result<Vec<crate::webex::api::WebexRecording>, Error> {
        self.log(format!("admin_recordings {meeting_id}"));
        Ok(self
            .recordings
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.meeting_id.as_deref() == Some(meeting_id))
            .map(|r| crate::webex::api::WebexRecording {
                temporary_direct_download_links: None,
                ..r.clone()
            })
            .collect())
    }
    async fn transcripts(
        &self,
        meeting_id: &str,
        _: Option<&Email>,
    ) -> Result<Vec<crate::webex::api::WebexTranscript>, Error> {
        self.log(format!("transcripts {meeting_id}"));
        Ok(self
            .transcripts
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.meeting_id.as_deref() == Some(meeting_id))
            .cloned()
            .collect())
    }
    async fn participants(
        &self,
        meeting_id: &str,
        _: Option<&Email>,
    ) -> Result<Vec<crate::webex::api::WebexParticipant>, Error> {
        self.log(format!("participants {meeting_id}"));
        Ok(self.participants.lock().unwrap().clone())
    }
    async fn people(&self) -> Result<Vec<crate::webex::api::WebexPerson>, Error> {
        self.log("people".into());
        Ok(self.people.lock().unwrap().clone())
    }
    async fn bearer(&self) -> Result<SecretString, Error> {
        Ok(SecretString::new("fake-bearer"))
    }
    async fn delete_recording(&self, id: &str, _: Option<&Email>) -> Result<u16, Error> {
        self.log(format!("delete {id}"));
        let mut recs = self.recordings.lock().unwrap();
        let before = recs.len();
        recs.retain(|r| r.id != id);
        Ok(if recs.len() < before { 204 } else { 404 })
    }
    async fn soft_delete(&self, ids: &[String], _: Option<&Email>) -> Result<u16, Error> {
        self.log(format!("softDelete {ids:?}"));
        let mut recs = self.recordings.lock().unwrap();
        if !ids.iter().all(|id| recs.iter().any(|r| &r.id == id)) {
            return Ok(404);
        }
        for r in recs.iter_mut().filter(|r| ids.contains(&r.id)) {
            r.status = Some("deleted".into());
        }
        Ok(204)
    }
    async fn webhooks(&self) -> Result<Vec<crate::webex::api::Webhook>, Error> {
        Ok(vec![])
    }
    async fn create_webhook(
        &self,
        _: &crate::webex::api::WebhookRequest,
    ) -> Result<crate::webex::api::Webhook, Error> {
        Err(Error::permanent("not supported by the fake"))
    }
    async fn update_webhook(
        &self,
        _: &str,
        _: &crate::webex::api::WebhookRequest,
    ) -> Result<crate::webex::api::Webhook, Error> {
        Err(Error::permanent("not supported by the fake"))
    }
    async fn delete_webhook(&self, id: &str) -> Result<u16, Error> {
        self.log(format!("delete webhook {id}"));
        Ok(204)
    }
    async fn revoke_authorizations(&self, client_id: &str) -> Result<u16, Error> {
        self.log(format!("revoke {client_id}"));
        Ok(204)
    }
}

#[async_trait]
impl crate::webex::WebexConnections for FakeWebex {
    async fn api(&self, _: &Connection) -> Result<Arc<dyn crate::webex::api::WebexApi>, Error> {
        Ok(Arc::new(self.clone()))
    }
}
