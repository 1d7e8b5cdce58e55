//! The catalog in DynamoDB. One table; a recording is `pk = REC#<vendor>#<account>#<instance>`, `sk = META`,
//! its files `sk = FILE#<file id>`. The GSI `by-state` (`gsi1pk = STATE#<tenant>#<state>`,
//! `gsi1sk = <start time>#<pk>`) lists a tenant's recordings by state; the sparse GSI `by-due`
//! (`gsi2pk = DUE#<connection>`, `gsi2sk = <next look>#<pk>`) holds only recordings whose deletion is pending,
//! by when the deletion sweep should look at them ([`DeletionEntry::next_look`]). Audit records of deletion
//! attempts are items of the recording's partition (`sk = AUDIT#<time>#<attempt>`), written once. A recording
//! in quarantine has a hold item in its partition (`sk = QUARANTINE`) that `by-due` lists under
//! `gsi2pk = QUARANTINE#<connection>` by when it ends (`gsi2sk = <until>#<pk>`), for the sweeper.
//!
//! The state machine is the domain's ([`crate::state`]): every condition expression here is translated from
//! a [`FileStep`] or [`RecordingStep`] (`file_condition`, `recording_condition`), never written by hand.

use crate::aws::error::{is_conditional, sdk_error};
use crate::catalog::*;
use crate::error::Error;
use crate::ids::{FileId, TenantId};
use crate::model::{DownloadSource, FileState, RecordingKey, RecordingState};
use crate::state::{self, FileStep, RecordingStep};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB adapter of every catalog port.
#[derive(Clone, Debug)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

const META: &str = "META";
/// The sort key of a recording's quarantine hold, and the partition of the quarantine index in `by-due`
/// (`gsi2pk = QUARANTINE#<connection>`, `gsi2sk = <until>#<pk>`).
const QUARANTINE: &str = "QUARANTINE";

/// A time as the sparse index sorts it (RFC 3339, seconds, UTC).
fn secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
/// Attributes of a recording that the update expressions manage themselves.
const MANAGED: [&str; 18] = [
    "titled",
    "quarantine_until",
    "file_ids",
    "skipped_files",
    "categories",
    "vendor_recording_ids",
    "ingest_notes",
    "attendees",
    "done_ids",
    "failed_ids",
    "state",
    "owner",
    "owner_rule",
    "archived_at",
    "deletion",
    "removed_at_vendor",
    "created_at",
    "updated_at",
];

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A string set of `items` for `ADD`, or `None` if there is nothing to add. Members are deduplicated (and empty
/// strings dropped) here: DynamoDB refuses a set with a repeated member (a ValidationException, which is
/// permanent and would drop the whole recording), while moto silently accepts one.
fn string_set<I: IntoIterator<Item = String>>(items: I) -> Option<AttributeValue> {
    let members: std::collections::BTreeSet<String> =
        items.into_iter().filter(|m| !m.is_empty()).collect();
    (!members.is_empty()).then(|| AttributeValue::Ss(members.into_iter().collect()))
}

fn file_sk(id: &FileId) -> String {
    format!("FILE#{id}")
}

fn gsi_pk(tenant: &str, state: RecordingState) -> String {
    format!("STATE#{tenant}#{}", state.as_str())
}

fn to_av<T: serde::Serialize>(v: &T) -> Result<AttributeValue, Error> {
    serde_dynamo::to_attribute_value(v).map_err(Error::data)
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, Error> {
    serde_dynamo::from_item(item).map_err(|e| Error::data(format!("catalog item: {e}")))
}

type Values = Vec<(String, AttributeValue)>;

/// `#st = :p0` or `#st IN (:p0, :p1, …)` for the given states.
fn state_in<S: serde::Serialize>(prefix: &str, states: &[S]) -> Result<(String, Values), Error> {
    let mut values = Vec::new();
    for (i, st) in states.iter().enumerate() {
        values.push((format!("{prefix}{i}"), to_av(st)?));
    }
    let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
    let cond = match names.as_slice() {
        [one] => format!("#st = {one}"),
        many => format!("#st IN ({})", many.join(", ")),
    };
    Ok((cond, values))
}

/// The condition of a file step, translated from the domain's rule. Uses `:now` (lease), `:t` (source
/// freshness), `:lease` (the caller's own lease) and `:read` (the key of the version read), which the caller
/// supplies where the step needs them.
fn file_condition(step: FileStep) -> Result<(String, Values), Error> {
    if step.from().is_empty() {
        return Ok(("attribute_not_exists(pk)".into(), vec![]));
    }
    let (mut cond, mut values) = state_in(":from", step.from())?;
    if step.takes_over_expired_lease() {
        cond = format!("{cond} OR (#st = :leased AND lease_until_ms < :now)");
        values.push((":leased".into(), to_av(&FileState::Downloading)?));
    }
    if step.needs_fresher_source() {
        cond = format!("attribute_exists(pk) AND ({cond}) AND source_issued_at_ms < :t");
    }
    if step.needs_own_lease() {
        cond = format!("({cond}) AND lease_until_ms = :lease");
    }
    if step.needs_version_read() {
        cond = format!("({cond}) AND s3_key = :read");
    }
    Ok((cond, values))
}

/// The condition of a recording step, translated from the domain's rule: its `from` states and, for a step
/// that needs every known file done, that `known_files` (what the caller read) are all in `done_ids` still, so
/// a file registered meanwhile makes the write fail.
fn recording_condition(step: RecordingStep, known_files: usize) -> Result<(String, Values), Error> {
    if step.from().is_empty() {
        return Ok(("attribute_not_exists(pk)".into(), vec![]));
    }
    let (mut cond, mut values) = state_in(":from", step.from())?;
    if step.needs_all_done() == Some(true) {
        cond = format!("({cond}) AND size(file_ids) = :n AND size(done_ids) = :n");
        values.push((":n".into(), AttributeValue::N(known_files.to_string())));
    }
    if step.needs_quarantine_read() {
        // `:q`, the quarantine's end the caller read, comes with the step's values.
        cond = format!("({cond}) AND quarantine_until = :q");
    }
    Ok((cond, values))
}

fn now_str(now: DateTime<Utc>) -> AttributeValue {
    s(now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl DynamoCatalog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(&self, pk: String, sk: impl Into<String>) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    async fn get(&self, pk: String, sk: String) -> Result<Option<Item>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(self.key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    async fn recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.get(key.partition_key(), META.into())
            .await?
            .map(from_item)
            .transpose()
    }

    async fn file(&self, key: &RecordingKey, id: &FileId) -> Result<Option<FileEntry>, Error> {
        self.get(key.partition_key(), file_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// The items of the `by-due` partition `partition` due at or before `now`, soonest first, at most `limit`.
    async fn due_items(
        &self,
        partition: String,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<Item>, Error> {
        // `~` sorts after `#`: every item due in the second `now` falls in.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-due")
            .key_condition_expression("gsi2pk = :g AND gsi2sk <= :u")
            .expression_attribute_values(":g", s(partition))
            .expression_attribute_values(":u", s(format!("{}~", secs(now))))
            .scan_index_forward(true)
            .limit(limit.max(1))
            .send()
            .await
            .map_err(|e| sdk_error("Query(by-due)", e))?;
        Ok(out.items.unwrap_or_default())
    }

    /// Takes a recording step at `now` (keeping the GSI in step; archiving also sets `archived_at`). `false`
    /// if the recording's state did not allow it. `known_files` is what the caller read, for a step that
    /// needs every file done.
    async fn transition(
        &self,
        key: &RecordingKey,
        tenant: &str,
        step: RecordingStep,
        known_files: usize,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let set = if step == RecordingStep::Archive {
            "archived_at = :now"
        } else {
            ""
        };
        self.recording_step(key, tenant, step, known_files, set, "", vec![], now)
            .await
    }

    /// Takes a recording step under its condition, setting `set` and removing `remove` (attribute lists, may be
    /// empty) in the same write; `false` if the recording's state did not allow it.
    async fn step_with(
        &self,
        key: &RecordingKey,
        step: RecordingStep,
        set: &str,
        remove: &str,
        values: Values,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let Some(rec) = CatalogReader::get_recording(self, key).await? else {
            return Ok(false);
        };
        self.recording_step(key, rec.tenant.as_str(), step, 0, set, remove, values, now)
            .await
    }

    /// The one conditional write of a recording step: the state and its GSI key, `updated_at`, and the
    /// step's own `set` and `remove` clauses (with their `values`).
    #[allow(clippy::too_many_arguments)]
    async fn recording_step(
        &self,
        key: &RecordingKey,
        tenant: &str,
        step: RecordingStep,
        known_files: usize,
        set: &str,
        remove: &str,
        values: Values,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let (cond, mut cond_values) = recording_condition(step, known_files)?;
        cond_values.extend(values);
        let mut update = "SET #st = :to, gsi1pk = :g, updated_at = :now".to_owned();
        if !set.is_empty() {
            update.push_str(", ");
            update.push_str(set);
        }
        if !remove.is_empty() {
            update.push_str(" REMOVE ");
            update.push_str(remove);
        }
        let mut req = self.client.update_item();
        for (alias, name) in [("#o", "owner"), ("#del", "deletion")] {
            if update.contains(alias) {
                req = req.expression_attribute_names(alias, name);
            }
        }
        let req = req
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression(update)
            .condition_expression(cond)
            .expression_attribute_names("#st", "state")
            .set_expression_attribute_values(Some(cond_values.into_iter().collect()))
            .expression_attribute_values(":to", to_av(&step.to())?)
            .expression_attribute_values(":g", s(gsi_pk(tenant, step.to())))
            .expression_attribute_values(":now", now_str(now));
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem(state)", e)),
        }
    }

    /// Takes a file step: `update` (which may use `:to`, the step's target state) under the step's condition.
    /// `None` if the file's state did not allow it.
    async fn file_step(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        step: FileStep,
        update: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>, Error> {
        let (cond, cond_values) = file_condition(step)?;
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), file_sk(file_id))))
            .update_expression(update)
            .condition_expression(cond)
            .expression_attribute_names("#st", "state")
            .return_values(ReturnValue::AllNew);
        for (alias, name) in [("#src", "source"), ("#sto", "stored")] {
            if update.contains(alias) {
                req = req.expression_attribute_names(alias, name);
            }
        }
        if let Some(to) = step.to() {
            req = req.expression_attribute_values(":to", to_av(&to)?);
        }
        for (k, v) in cond_values {
            req = req.expression_attribute_values(k, v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
            Err(e) if is_conditional(&e) => Ok(None),
            Err(e) => Err(sdk_error("UpdateItem(file)", e)),
        }
    }
}

#[async_trait]
impl RemovalCatalog for DynamoCatalog {
    async fn record_removal(
        &self,
        key: &RecordingKey,
        removal: &VendorRemoval,
    ) -> Result<RemovalOutcome, Error> {
        let Some(rec) = self.recording(key).await? else {
            return Ok(RemovalOutcome::Unknown);
        };
        if crate::deletion::is_ours(rec.deletion.as_ref()) {
            return Ok(RemovalOutcome::Ours);
        }
        // Not if the sweep claimed it since the read.
        let ours = [
            DeletionStatus::Deleting,
            DeletionStatus::Deleted,
            DeletionStatus::AlreadyGone,
        ];
        let archived_before = rec.all_done();
        let removal = VendorRemoval {
            archived_before,
            ..removal.clone()
        };
        let (cond, values) = state_in(":o", &ours)?;
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("SET removed_at_vendor = :r, updated_at = :now")
            .condition_expression(format!(
                "attribute_exists(pk) AND (attribute_not_exists(#del) OR NOT ({}))",
                cond.replace("#st", "#del.#ds")
            ))
            .expression_attribute_names("#del", "deletion")
            .expression_attribute_names("#ds", "status")
            .expression_attribute_values(":r", to_av(&removal)?)
            .expression_attribute_values(":now", now_str(Utc::now()));
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(_) => Ok(RemovalOutcome::Recorded { archived_before }),
            Err(e) if is_conditional(&e) => Ok(RemovalOutcome::Ours),
            Err(e) => Err(sdk_error("UpdateItem(removed_at_vendor)", e)),
        }
    }
}

#[async_trait]
impl IngestCatalog for DynamoCatalog {
    async fn upsert_recording(
        &self,
        entry: &RecordingEntry,
        file_ids: &[FileId],
    ) -> Result<RecordingEntry, Error> {
        let item = serde_dynamo::to_item::<_, Item>(entry).map_err(Error::data)?;
        let mut sets = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        for (i, (name, value)) in item
            .into_iter()
            .filter(|(n, _)| !MANAGED.contains(&n.as_str()))
            .enumerate()
        {
            sets.push(format!("#a{i} = if_not_exists(#a{i}, :a{i})"));
            names.insert(format!("#a{i}"), name);
            values.insert(format!(":a{i}"), value);
        }
        sets.push("#st = if_not_exists(#st, :pending)".into());
        sets.push("gsi1pk = if_not_exists(gsi1pk, :gpk)".into());
        sets.push("gsi1sk = if_not_exists(gsi1sk, :gsk)".into());
        sets.push("created_at = if_not_exists(created_at, :now)".into());
        sets.push("updated_at = :now".into());
        names.insert("#st".into(), "state".into());
        values.insert(":pending".into(), to_av(&RecordingStep::Create.to())?);
        values.insert(
            ":gpk".into(),
            s(gsi_pk(entry.tenant.as_str(), RecordingStep::Create.to())),
        );
        values.insert(
            ":gsk".into(),
            s(format!(
                "{}#{}",
                entry
                    .start_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                entry.key().partition_key()
            )),
        );
        values.insert(":now".into(), now_str(entry.updated_at));
        let mut expr = format!("SET {}", sets.join(", "));
        let mut adds = Vec::new();
        for (add, alias, set) in [
            (
                "file_ids :ids",
                ":ids",
                string_set(file_ids.iter().map(|f| f.to_string())),
            ),
            (
                "vendor_recording_ids :vids",
                ":vids",
                string_set(entry.vendor_recording_ids.iter().cloned()),
            ),
            (
                "ingest_notes :notes",
                ":notes",
                string_set(entry.ingest_notes.iter().cloned()),
            ),
            (
                "skipped_files :skipped",
                ":skipped",
                string_set(entry.skipped_files.iter().cloned()),
            ),
        ] {
            if let Some(set) = set {
                adds.push(add);
                values.insert(alias.into(), set);
            }
        }
        if !adds.is_empty() {
            expr.push_str(&format!(" ADD {}", adds.join(", ")));
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(entry.key().partition_key(), META)))
            .update_expression(expr)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(recording)", e))?;
        let mut rec: RecordingEntry = from_item(out.attributes.unwrap_or_default())?;
        if let Some(step) = state::after_delivery(rec.state, rec.all_done()) {
            // A file arrived after the recording was archived (a late transcript): archive again when done.
            if self
                .transition(&rec.key(), rec.tenant.as_str(), step, 0, entry.updated_at)
                .await?
            {
                rec.state = step.to();
            }
        }
        Ok(rec)
    }

    async fn retry_owner(&self, key: &RecordingKey, now: DateTime<Utc>) -> Result<bool, Error> {
        self.step_with(
            key,
            RecordingStep::OwnerRetry,
            "",
            "skip_reason",
            vec![],
            now,
        )
        .await
    }

    async fn record_skip(&self, entry: &RecordingEntry, reason: &str) -> Result<bool, Error> {
        let step = RecordingStep::Skip;
        let skipped = RecordingEntry {
            state: step.to(),
            skip_reason: Some(reason.to_owned()),
            file_ids: Default::default(),
            ..entry.clone()
        };
        let key = skipped.key();
        let mut item = serde_dynamo::to_item::<_, Item>(&skipped).map_err(Error::data)?;
        item.extend(self.key(key.partition_key(), META));
        item.insert(
            "gsi1pk".into(),
            s(gsi_pk(skipped.tenant.as_str(), step.to())),
        );
        item.insert(
            "gsi1sk".into(),
            s(format!(
                "{}#{}",
                skipped
                    .start_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                key.partition_key()
            )),
        );
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(recording_condition(step, 0)?.0)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("PutItem(skipped recording)", e)),
        }
    }

    async fn create_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<bool, Error> {
        let mut item = serde_dynamo::to_item::<_, Item>(file).map_err(Error::data)?;
        item.extend(self.key(key.partition_key(), file_sk(&file.file_id)));
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(file_condition(FileStep::Create)?.0)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("PutItem(file)", e)),
        }
    }

    async fn refresh_source(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        source: &DownloadSource,
        issued_at_ms: i64,
    ) -> Result<bool, Error> {
        let updated = self
            .file_step(
                key,
                file_id,
                FileStep::RefreshSource,
                "SET #src = :src, source_issued_at_ms = :t",
                vec![(":src", to_av(source)?), (":t", to_av(&issued_at_ms)?)],
            )
            .await?;
        Ok(updated.is_some())
    }

    async fn get_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<Option<FileEntry>, Error> {
        self.file(key, file_id).await
    }

    async fn supersede_file(
        &self,
        key: &RecordingKey,
        read_key: &str,
        next: &FileEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let mut item = serde_dynamo::to_item::<_, Item>(next).map_err(Error::data)?;
        item.extend(self.key(key.partition_key(), file_sk(&next.file_id)));
        let (cond, values) = file_condition(FileStep::Supersede)?;
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(cond)
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":read", s(read_key));
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) if is_conditional(&e) => return Ok(false),
            Err(e) => return Err(sdk_error("PutItem(file version)", e)),
        }
        // A crash here leaves the file planned with the recording archived: the deleter refuses it (the file
        // is not archived), and the file's download archives it all the same.
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("DELETE done_ids :id SET updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![next.file_id.to_string()]))
            .expression_attribute_values(":now", now_str(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(done_ids)", e))?;
        let rec: RecordingEntry = from_item(out.attributes.unwrap_or_default())?;
        if let Some(step) = state::after_delivery(rec.state, rec.all_done()) {
            self.transition(key, rec.tenant.as_str(), step, 0, now)
                .await?;
        }
        Ok(true)
    }

    async fn reopen_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        source: Option<(&DownloadSource, i64)>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let mut values = vec![(":zero", to_av(&0u32)?)];
        let update = match source {
            Some((src, issued)) => {
                values.push((":src", to_av(src)?));
                values.push((":t", to_av(&issued)?));
                "SET #st = :to, attempts = :zero, #src = :src, source_issued_at_ms = :t REMOVE last_error, lease_until_ms, checkpoint"
            }
            None => "SET #st = :to, attempts = :zero REMOVE last_error, lease_until_ms, checkpoint",
        };
        if self
            .file_step(key, file_id, FileStep::Reopen, update, values)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("DELETE failed_ids :id SET updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![file_id.to_string()]))
            .expression_attribute_values(":now", now_str(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(failed_ids)", e))?;
        let rec: RecordingEntry = from_item(out.attributes.unwrap_or_default())?;
        if rec.failed_ids.is_empty() {
            self.transition(key, rec.tenant.as_str(), RecordingStep::Retry, 0, now)
                .await?;
        }
        Ok(true)
    }
}

#[async_trait]
impl QuarantineCatalog for DynamoCatalog {
    async fn quarantine_due(
        &self,
        connection: &crate::ids::ConnectionId,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<QuarantineHold>, Error> {
        let items = self
            .due_items(format!("{QUARANTINE}#{connection}"), now, limit)
            .await?;
        let hold = |item: &Item| -> Result<QuarantineHold, Error> {
            let field = |n: &str| {
                item.get(n)
                    .cloned()
                    .ok_or_else(|| Error::data(format!("quarantine hold without {n}")))
            };
            Ok(QuarantineHold {
                recording: serde_dynamo::from_attribute_value(field("recording")?)
                    .map_err(Error::data)?,
                connection_id: serde_dynamo::from_attribute_value(field("connection_id")?)
                    .map_err(Error::data)?,
                until: serde_dynamo::from_attribute_value(field("until")?).map_err(Error::data)?,
            })
        };
        items.iter().map(hold).collect()
    }

    async fn expire_quarantine(
        &self,
        key: &RecordingKey,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let values = vec![
            (":q".to_owned(), to_av(&until)?),
            (":why".to_owned(), s(reason)),
            (":r".to_owned(), s(crate::routing::QUARANTINE_EXPIRED)),
            (":line".to_owned(), AttributeValue::L(vec![s(reason)])),
            (":empty".to_owned(), AttributeValue::L(vec![])),
        ];
        self.step_with(
            key,
            RecordingStep::QuarantineExpire,
            "owner_rule = :r, skip_reason = :why, \
             owner_trace = list_append(if_not_exists(owner_trace, :empty), :line)",
            "#o, done_ids, failed_ids, archived_at, #del, gsi2pk, gsi2sk, quarantine_until",
            values,
            now,
        )
        .await
    }

    async fn expire_file(&self, key: &RecordingKey, file_id: &FileId) -> Result<bool, Error> {
        Ok(self
            .file_step(
                key,
                file_id,
                FileStep::Expire,
                "SET #st = :to, attempts = :zero \
                 REMOVE #sto, last_error, lease_until_ms, checkpoint, not_before_ms",
                vec![(":zero", to_av(&0u32)?)],
            )
            .await?
            .is_some())
    }

    async fn end_quarantine(
        &self,
        key: &RecordingKey,
        a: &Assignment,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        let mut set = "SET #o = :o, owner_rule = :r, \
                       owner_trace = list_append(if_not_exists(owner_trace, :empty), :line), updated_at = :now"
            .to_owned();
        let mut req = self.client.update_item();
        if let Some(t) = &a.titled {
            set.push_str(", titled = :ti");
            req = req.expression_attribute_values(":ti", to_av(t)?);
        }
        set.push_str(" REMOVE quarantine_until");
        let sent = req
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression(set)
            .condition_expression("attribute_exists(quarantine_until)")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":o", s(a.owner.as_str()))
            .expression_attribute_values(":r", s(&a.rule))
            .expression_attribute_values(":line", AttributeValue::L(vec![s(&a.line)]))
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":now", now_str(now))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem(end quarantine)", e)),
        }
    }

    async fn release_quarantine(&self, key: &RecordingKey) -> Result<(), Error> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), QUARANTINE)))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem(quarantine)", e))?;
        Ok(())
    }
}

#[async_trait]
impl OwnerCatalog for DynamoCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn skip_at_owner(
        &self,
        key: &RecordingKey,
        rule: &str,
        reason: &str,
        trace: &[String],
    ) -> Result<bool, Error> {
        let values = vec![
            (":why".to_owned(), s(reason)),
            (":r".to_owned(), s(rule)),
            (
                ":t".to_owned(),
                AttributeValue::L(trace.iter().map(s).collect()),
            ),
        ];
        self.step_with(
            key,
            RecordingStep::OwnerSkip,
            "skip_reason = :why, owner_rule = :r, owner_trace = :t",
            "",
            values,
            Utc::now(),
        )
        .await
    }

    async fn set_owner(&self, key: &RecordingKey, placement: &Placement) -> Result<(), Error> {
        let lines = AttributeValue::L(placement.trace.iter().map(s).collect());
        let categories =
            AttributeValue::L(placement.categories.iter().map(|c| s(c.as_str())).collect());
        let mut set =
            "SET #o = :o, owner_rule = :r, owner_trace = :t, categories = :c, s3_prefix = :p, \
                       updated_at = :now"
                .to_owned();
        let mut req = self.client.update_item();
        if let Some(t) = &placement.titled {
            set.push_str(", titled = :ti");
            req = req.expression_attribute_values(":ti", to_av(t)?);
        }
        match &placement.quarantine_until {
            Some(until) => {
                set.push_str(", quarantine_until = :q");
                req = req.expression_attribute_values(":q", to_av(until)?);
            }
            None => set.push_str(" REMOVE quarantine_until"),
        }
        let out = req
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression(set)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":o", s(placement.owner.as_str()))
            .expression_attribute_values(":r", s(&placement.rule))
            .expression_attribute_values(":t", lines)
            .expression_attribute_values(":c", categories)
            .expression_attribute_values(":p", s(&placement.s3_prefix))
            .expression_attribute_values(":now", now_str(Utc::now()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(owner)", e))?;
        let rec: RecordingEntry = from_item(out.attributes.unwrap_or_default())?;
        self.transition(
            key,
            rec.tenant.as_str(),
            RecordingStep::OwnerSet,
            0,
            Utc::now(),
        )
        .await?;
        Ok(())
    }

    async fn get_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<Option<FileEntry>, Error> {
        self.file(key, file_id).await
    }

    async fn hold_quarantine(&self, hold: &QuarantineHold) -> Result<(), Error> {
        let pk = hold.recording.partition_key();
        let mut item = self.key(pk.clone(), QUARANTINE);
        item.insert(
            "gsi2pk".into(),
            s(format!("{QUARANTINE}#{}", hold.connection_id)),
        );
        item.insert("gsi2sk".into(), s(format!("{}#{pk}", secs(hold.until))));
        item.insert("until".into(), to_av(&hold.until)?);
        item.insert("connection_id".into(), s(hold.connection_id.as_str()));
        item.insert("recording".into(), to_av(&hold.recording)?);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem(quarantine)", e))?;
        Ok(())
    }

    async fn set_attendees(&self, key: &RecordingKey, attendees: &Attendees) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("SET attendees = :a, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":a", to_av(attendees)?)
            .expression_attribute_values(":now", now_str(Utc::now()))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(attendees)", e))?;
        Ok(())
    }

    async fn mark_queued(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        s3_key: &str,
    ) -> Result<bool, Error> {
        Ok(self
            .file_step(
                key,
                file_id,
                FileStep::Queue,
                "SET #st = :to, s3_key = :k",
                vec![(":k", s(s3_key))],
            )
            .await?
            .is_some())
    }
}

#[async_trait]
impl TransferCatalog for DynamoCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn acquire(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Lease, Error> {
        let got = self
            .file_step(
                key,
                file_id,
                FileStep::Acquire,
                "SET #st = :to, lease_until_ms = :until, attempts = if_not_exists(attempts, :zero) + :one",
                vec![
                    (":until", to_av(&(now_ms + lease_ms))?),
                    (":zero", to_av(&0u32)?),
                    (":now", to_av(&now_ms)?),
                    (":one", to_av(&1u32)?),
                ],
            )
            .await?;
        if let Some(item) = got {
            return Ok(Lease::Acquired(Box::new(from_item(item)?)));
        }
        Ok(state::lease_refused(
            self.file(key, file_id).await?.map(|f| f.state),
        ))
    }

    async fn complete(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        stored: &StoredObject,
    ) -> Result<(), Error> {
        self.file_step(
            key,
            file_id,
            FileStep::Complete,
            "SET #st = :to, #sto = :s, s3_key = :k REMOVE #src, lease_until_ms, last_error, checkpoint",
            vec![(":s", to_av(stored)?), (":k", s(&stored.key))],
        )
        .await?;
        Ok(())
    }

    async fn checkpoint(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        lease_until_ms: i64,
        checkpoint: &Checkpoint,
    ) -> Result<bool, Error> {
        Ok(self
            .file_step(
                key,
                file_id,
                FileStep::Checkpoint,
                "SET checkpoint = :cp",
                vec![
                    (":cp", to_av(checkpoint)?),
                    (":lease", to_av(&lease_until_ms)?),
                ],
            )
            .await?
            .is_some())
    }

    async fn retry_later(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        error: &str,
        not_before_ms: i64,
    ) -> Result<(), Error> {
        self.file_step(
            key,
            file_id,
            FileStep::RetryLater,
            "SET #st = :to, last_error = :e, not_before_ms = :nb REMOVE lease_until_ms",
            vec![(":e", s(error)), (":nb", to_av(&not_before_ms)?)],
        )
        .await?;
        Ok(())
    }

    async fn fail(&self, key: &RecordingKey, file_id: &FileId, error: &str) -> Result<(), Error> {
        let applied = self
            .file_step(
                key,
                file_id,
                FileStep::Fail,
                "SET #st = :to, last_error = :e REMOVE lease_until_ms, checkpoint",
                vec![(":e", s(error))],
            )
            .await?;
        if applied.is_none() {
            // Another worker finished the file meanwhile; the recording is not ours to fail.
            return Ok(());
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("ADD failed_ids :id SET updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![file_id.to_string()]))
            .expression_attribute_values(":now", now_str(Utc::now()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(failed_ids)", e))?;
        let rec: RecordingEntry = from_item(out.attributes.unwrap_or_default())?;
        self.transition(key, rec.tenant.as_str(), RecordingStep::Fail, 0, Utc::now())
            .await?;
        Ok(())
    }

    async fn mark_done(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<RecordingEntry, Error> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("ADD done_ids :id SET updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":id", AttributeValue::Ss(vec![file_id.to_string()]))
            .expression_attribute_values(":now", now_str(Utc::now()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(done_ids)", e))?;
        from_item(out.attributes.unwrap_or_default())
    }

    async fn mark_archived(&self, key: &RecordingKey, now: DateTime<Utc>) -> Result<bool, Error> {
        let Some(rec) = self.recording(key).await? else {
            return Ok(false);
        };
        let step = RecordingStep::Archive;
        if !state::recording_allows(step, Some(rec.state), rec.all_done()) {
            return Ok(false);
        }
        self.transition(key, rec.tenant.as_str(), step, rec.file_ids.len(), now)
            .await
    }
}

/// `gsi2pk`, `gsi2sk` of a recording's deletion: set while it is pending, absent otherwise (sparse index).
fn due_keys(key: &RecordingKey, connection: &str, d: &DeletionEntry) -> Option<(String, String)> {
    let at = d.next_look()?;
    Some((
        format!("DUE#{connection}"),
        format!(
            "{}#{}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            key.partition_key()
        ),
    ))
}

impl DynamoCatalog {
    /// Writes a deletion entry under `cond` (which may use `#del`, `#ds` and the `:c*` values), keeping the
    /// due index in step. `false` if the condition failed.
    async fn write_deletion(
        &self,
        key: &RecordingKey,
        deletion: &DeletionEntry,
        cond: &str,
        values: Values,
    ) -> Result<bool, Error> {
        let rec = self.recording(key).await?.ok_or_else(|| {
            Error::permanent(format!("no recording {key}")).kind_of(crate::error::Kind::NotFound)
        })?;
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .condition_expression(format!("attribute_exists(pk) AND ({cond})"))
            .expression_attribute_names("#del", "deletion")
            .expression_attribute_values(":d", to_av(deletion)?)
            .expression_attribute_values(":now", now_str(Utc::now()));
        if cond.contains("#ds") {
            req = req.expression_attribute_names("#ds", "status");
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        req = match due_keys(key, rec.connection_id.as_str(), deletion) {
            Some((pk, sk)) => req
                .update_expression("SET #del = :d, updated_at = :now, gsi2pk = :g2p, gsi2sk = :g2s")
                .expression_attribute_values(":g2p", s(pk))
                .expression_attribute_values(":g2s", s(sk)),
            None => req.update_expression("SET #del = :d, updated_at = :now REMOVE gsi2pk, gsi2sk"),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem(deletion)", e)),
        }
    }
}

#[async_trait]
impl DeletionCatalog for DynamoCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn set_deletion(
        &self,
        key: &RecordingKey,
        deletion: &DeletionEntry,
        prev: Option<u64>,
    ) -> Result<bool, Error> {
        let Some(prev) = prev else {
            return self
                .write_deletion(key, deletion, "attribute_not_exists(#del)", vec![])
                .await;
        };
        let replannable: Vec<DeletionStatus> = DeletionStatus::ALL
            .into_iter()
            .filter(|s| s.may_replan())
            .collect();
        let (cond, mut values) = state_in(":c", &replannable)?;
        let cond = format!("#del.rev = :prev AND {}", cond.replace("#st", "#del.#ds"));
        values.push((":prev".into(), to_av(&prev)?));
        self.write_deletion(key, deletion, &cond, values).await
    }
}

#[async_trait]
impl DeleterCatalog for DynamoCatalog {
    async fn due(
        &self,
        connection: &crate::ids::ConnectionId,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error> {
        self.due_items(format!("DUE#{connection}"), now, limit)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error> {
        CatalogReader::list_files(self, key).await
    }

    async fn update_deletion(
        &self,
        key: &RecordingKey,
        rev: u64,
        next: &DeletionEntry,
    ) -> Result<bool, Error> {
        self.write_deletion(
            key,
            next,
            "#del.rev = :crev",
            vec![(":crev".into(), to_av(&rev)?)],
        )
        .await
    }

    async fn put_audit(&self, record: &crate::deletion::AuditRecord) -> Result<(), Error> {
        let pk = record.recording.partition_key();
        let mut item = serde_dynamo::to_item::<_, Item>(record).map_err(Error::data)?;
        item.extend(self.key(
            pk,
            format!(
                "AUDIT#{}#{:05}",
                record.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                record.attempt
            ),
        ));
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(Error::permanent(format!(
                "audit record {} attempt {} exists already; audit records are never overwritten",
                record.recording, record.attempt
            ))),
            Err(e) => Err(sdk_error("PutItem(audit)", e)),
        }
    }

    async fn audit(&self, key: &RecordingKey) -> Result<Vec<crate::deletion::AuditRecord>, Error> {
        self.query_partition(key, "AUDIT#").await
    }
}

impl DynamoCatalog {
    /// Every item of a recording's partition whose sort key starts with `prefix`, in sort-key order.
    async fn query_partition<T: serde::de::DeserializeOwned>(
        &self,
        key: &RecordingKey,
        prefix: &str,
    ) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :f)")
                .expression_attribute_values(":pk", s(key.partition_key()))
                .expression_attribute_values(":f", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query(partition)", e))?;
            for item in out.items.unwrap_or_default() {
                items.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

#[async_trait]
impl CatalogReader for DynamoCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error> {
        self.query_partition(key, "FILE#").await
    }

    async fn list_by_state(
        &self,
        tenant: &TenantId,
        state: RecordingState,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-state")
            .key_condition_expression("gsi1pk = :g")
            .expression_attribute_values(":g", s(gsi_pk(tenant.as_str(), state)))
            .scan_index_forward(false)
            .limit(limit.max(1))
            .send()
            .await
            .map_err(|e| sdk_error("Query(by-state)", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn list_started_before(
        &self,
        tenant: &TenantId,
        state: RecordingState,
        before: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error> {
        // `gsi1sk` begins with the start time (RFC 3339, seconds, UTC), so it sorts by it.
        let cutoff = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-state")
            .key_condition_expression("gsi1pk = :g AND gsi1sk < :before")
            .expression_attribute_values(":g", s(gsi_pk(tenant.as_str(), state)))
            .expression_attribute_values(":before", s(cutoff))
            .scan_index_forward(true)
            .limit(limit.max(1))
            .send()
            .await
            .map_err(|e| sdk_error("Query(by-state, before)", e))?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(v: Option<AttributeValue>) -> Vec<String> {
        match v {
            Some(AttributeValue::Ss(m)) => m,
            other => panic!("not a string set: {other:?}"),
        }
    }

    #[test]
    fn string_sets_never_repeat_a_member() {
        // Zoom's docs example gives the participant audio the mixed audio's id; real DynamoDB refuses
        // `SS [a, b, a]` (moto would store `[a, b]`), so the set is built without repeats whatever it is given.
        let got = members(string_set(
            ["ed6c", "388f", "ed6c", "", "388f"].map(String::from),
        ));
        assert_eq!(got, vec!["388f".to_owned(), "ed6c".to_owned()]);
        let unique: std::collections::HashSet<_> = got.iter().collect();
        assert_eq!(unique.len(), got.len());
        assert_eq!(string_set(Vec::<String>::new()), None);
        assert_eq!(string_set([String::new()]), None);
    }
}

/// The item of a connection's run over a range: `BACKFILL#<connection>` / `RANGE#<from>..<to>`.
fn backfill_key(
    connection: &crate::ids::ConnectionId,
    range: &crate::backfill::DateRange,
) -> (String, String) {
    (
        format!("BACKFILL#{connection}"),
        format!("RANGE#{}", range.id()),
    )
}

#[derive(serde::Deserialize, Default)]
struct BackfillItem {
    #[serde(default)]
    done: std::collections::BTreeSet<String>,
    #[serde(flatten)]
    counts: crate::backfill::Counts,
    /// Units in all (`units` is the sum of the units listed, a counter).
    #[serde(default)]
    units_total: u64,
    #[serde(default)]
    state: crate::backfill::RunState,
    #[serde(default)]
    reason: Option<String>,
}

#[async_trait]
impl crate::backfill::BackfillStore for DynamoCatalog {
    async fn load(
        &self,
        connection: &crate::ids::ConnectionId,
        range: &crate::backfill::DateRange,
    ) -> Result<crate::backfill::BackfillRun, Error> {
        let (pk, sk) = backfill_key(connection, range);
        let item: BackfillItem = match self.get(pk, sk).await? {
            Some(i) => from_item(i)?,
            None => BackfillItem::default(),
        };
        Ok(crate::backfill::BackfillRun {
            done: item.done,
            counts: item.counts,
            units: item.units_total,
            state: item.state,
            reason: item.reason,
        })
    }

    async fn update(
        &self,
        connection: &crate::ids::ConnectionId,
        range: &crate::backfill::DateRange,
        update: &crate::backfill::RunUpdate,
    ) -> Result<(), Error> {
        let (pk, sk) = backfill_key(connection, range);
        let mut set = vec!["#state = :state", "updated_at = :now"];
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(pk, sk)))
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_values(":state", s(update.state.as_str()))
            .expression_attribute_values(":now", now_str(Utc::now()));
        if let Some(n) = update.units {
            set.push("units_total = :total");
            req = req.expression_attribute_values(":total", AttributeValue::N(n.to_string()));
        }
        let expr = match &update.reason {
            Some(r) => {
                set.push("#reason = :reason");
                req = req.expression_attribute_values(":reason", s(r));
                format!("SET {}", set.join(", "))
            }
            None => format!("SET {} REMOVE #reason", set.join(", ")),
        };
        req.update_expression(expr)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(backfill state)", e))?;
        Ok(())
    }

    async fn unit_done(
        &self,
        connection: &crate::ids::ConnectionId,
        range: &crate::backfill::DateRange,
        unit: &str,
        counts: &crate::backfill::Counts,
    ) -> Result<(), Error> {
        let (pk, sk) = backfill_key(connection, range);
        let fields = [
            ("units", counts.units),
            ("found", counts.found),
            ("archived", counts.archived),
            ("skipped", counts.skipped),
            ("queued", counts.queued),
            ("new", counts.new),
            ("bytes_queued", counts.bytes_queued),
            ("unreadable", counts.unreadable),
        ];
        // Every name aliased: `found` and others are DynamoDB reserved words.
        let adds: Vec<String> = (0..fields.len()).map(|i| format!("#c{i} :c{i}")).collect();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(pk, sk)))
            .update_expression(format!(
                "ADD #done :unit, {} SET updated_at = :now",
                adds.join(", ")
            ))
            .condition_expression("attribute_not_exists(#done) OR NOT contains(#done, :u)")
            .expression_attribute_names("#done", "done")
            .expression_attribute_values(":unit", AttributeValue::Ss(vec![unit.to_owned()]))
            .expression_attribute_values(":u", s(unit))
            .expression_attribute_values(":now", now_str(Utc::now()));
        for (i, (name, v)) in fields.iter().enumerate() {
            req = req
                .expression_attribute_names(format!("#c{i}"), *name)
                .expression_attribute_values(format!(":c{i}"), AttributeValue::N(v.to_string()));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            // Done already (a second walker, or a retried write): counted once.
            Err(e) if is_conditional(&e) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem(backfill)", e)),
        }
    }
}
