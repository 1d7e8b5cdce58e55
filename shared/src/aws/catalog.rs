//! The catalog in DynamoDB. One table; a recording is `pk = REC#<vendor>#<account>#<instance>`, `sk = META`,
//! its files `sk = FILE#<file id>`. The GSI `by-state` (`gsi1pk = STATE#<tenant>#<state>`,
//! `gsi1sk = <start time>#<pk>`) lists a tenant's recordings by state.

use crate::catalog::*;
use crate::error::{Error, sdk_error};
use crate::ids::{FileId, TenantId, UserId};
use crate::model::{DownloadSource, FileState, RecordingKey, RecordingState};
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
/// Attributes of a recording that the update expressions manage themselves.
const MANAGED: [&str; 12] = [
    "file_ids",
    "vendor_recording_ids",
    "attendees",
    "done_ids",
    "failed_ids",
    "state",
    "owner",
    "owner_rule",
    "archived_at",
    "deletion",
    "created_at",
    "updated_at",
];

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn file_sk(id: &FileId) -> String {
    format!("FILE#{id}")
}

fn gsi_pk(tenant: &str, state: RecordingState) -> String {
    format!("STATE#{tenant}#{}", state.as_str())
}

fn to_av<T: serde::Serialize>(v: &T) -> Result<AttributeValue, Error> {
    serde_dynamo::to_attribute_value(v).map_err(Error::permanent)
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, Error> {
    serde_dynamo::from_item(item).map_err(|e| Error::permanent(format!("catalog item: {e}")))
}

fn is_conditional<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
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

    /// Moves a recording from `from` to `to` (keeping the GSI in step). `false` if it was not in `from`.
    async fn transition(
        &self,
        key: &RecordingKey,
        tenant: &str,
        from: RecordingState,
        to: RecordingState,
        extra_set: Option<(&str, AttributeValue)>,
    ) -> Result<bool, Error> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .condition_expression("#st = :from")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":from", to_av(&from)?)
            .expression_attribute_values(":to", to_av(&to)?)
            .expression_attribute_values(":g", s(gsi_pk(tenant, to)))
            .expression_attribute_values(":now", now_str(Utc::now()));
        let mut set = "SET #st = :to, gsi1pk = :g, updated_at = :now".to_owned();
        if let Some((name, v)) = extra_set {
            set.push_str(", #x = :x");
            req = req
                .expression_attribute_names("#x", name)
                .expression_attribute_values(":x", v);
        }
        match req.update_expression(set).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem(state)", e)),
        }
    }

    async fn update_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        expr: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Option<Item>, Error> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), file_sk(file_id))))
            .update_expression(expr)
            .condition_expression(condition)
            .expression_attribute_names("#st", "state")
            .return_values(ReturnValue::AllNew);
        for (alias, name) in [("#src", "source"), ("#sto", "stored")] {
            if expr.contains(alias) || condition.contains(alias) {
                req = req.expression_attribute_names(alias, name);
            }
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
impl IngestCatalog for DynamoCatalog {
    async fn upsert_recording(
        &self,
        entry: &RecordingEntry,
        file_ids: &[FileId],
    ) -> Result<RecordingEntry, Error> {
        let item = serde_dynamo::to_item::<_, Item>(entry).map_err(Error::permanent)?;
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
        values.insert(":pending".into(), to_av(&RecordingState::PendingOwner)?);
        values.insert(
            ":gpk".into(),
            s(gsi_pk(entry.tenant.as_str(), RecordingState::PendingOwner)),
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
        if !file_ids.is_empty() {
            adds.push("file_ids :ids");
            values.insert(
                ":ids".into(),
                AttributeValue::Ss(file_ids.iter().map(|f| f.to_string()).collect()),
            );
        }
        if !entry.vendor_recording_ids.is_empty() {
            adds.push("vendor_recording_ids :vids");
            values.insert(
                ":vids".into(),
                AttributeValue::Ss(entry.vendor_recording_ids.iter().cloned().collect()),
            );
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
        if rec.state == RecordingState::Archived && !rec.all_done() {
            // A file arrived after the recording was archived (a late transcript): archive again when done.
            self.transition(
                &rec.key(),
                rec.tenant.as_str(),
                RecordingState::Archived,
                RecordingState::Archiving,
                None,
            )
            .await?;
            rec.state = RecordingState::Archiving;
        }
        Ok(rec)
    }

    async fn create_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<bool, Error> {
        let mut item = serde_dynamo::to_item::<_, Item>(file).map_err(Error::permanent)?;
        item.extend(self.key(key.partition_key(), file_sk(&file.file_id)));
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
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
            .update_file(
                key,
                file_id,
                "SET #src = :src, source_issued_at_ms = :t",
                "attribute_exists(pk) AND source_issued_at_ms < :t AND #st IN (:p, :q, :r, :d)",
                vec![
                    (":src", to_av(source)?),
                    (":t", to_av(&issued_at_ms)?),
                    (":p", to_av(&FileState::Planned)?),
                    (":q", to_av(&FileState::Queued)?),
                    (":r", to_av(&FileState::Retrying)?),
                    (":d", to_av(&FileState::Downloading)?),
                ],
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
}

#[async_trait]
impl OwnerCatalog for DynamoCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn set_owner(&self, key: &RecordingKey, owner: &UserId, rule: &str) -> Result<(), Error> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("SET #o = :o, owner_rule = :r, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":o", s(owner.as_str()))
            .expression_attribute_values(":r", s(rule))
            .expression_attribute_values(":now", now_str(Utc::now()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(owner)", e))?;
        let rec: RecordingEntry = from_item(out.attributes.unwrap_or_default())?;
        self.transition(
            key,
            rec.tenant.as_str(),
            RecordingState::PendingOwner,
            RecordingState::Archiving,
            None,
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

    async fn mark_queued(&self, key: &RecordingKey, file_id: &FileId) -> Result<bool, Error> {
        Ok(self
            .update_file(
                key,
                file_id,
                "SET #st = :q",
                "#st = :p",
                vec![
                    (":q", to_av(&FileState::Queued)?),
                    (":p", to_av(&FileState::Planned)?),
                ],
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
            .update_file(
                key,
                file_id,
                "SET #st = :d, lease_until_ms = :until, attempts = attempts + :one",
                "#st IN (:p, :q, :r) OR (#st = :d AND lease_until_ms < :now)",
                vec![
                    (":d", to_av(&FileState::Downloading)?),
                    (":p", to_av(&FileState::Planned)?),
                    (":q", to_av(&FileState::Queued)?),
                    (":r", to_av(&FileState::Retrying)?),
                    (":until", to_av(&(now_ms + lease_ms))?),
                    (":now", to_av(&now_ms)?),
                    (":one", to_av(&1u32)?),
                ],
            )
            .await?;
        if let Some(item) = got {
            return Ok(Lease::Acquired(Box::new(from_item(item)?)));
        }
        Ok(match self.file(key, file_id).await? {
            None => Lease::Missing,
            Some(f) if matches!(f.state, FileState::Archived | FileState::Failed) => {
                Lease::Finished(f.state)
            }
            Some(_) => Lease::Busy,
        })
    }

    async fn complete(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        stored: &StoredObject,
    ) -> Result<(), Error> {
        self.update_file(
            key,
            file_id,
            "SET #st = :a, #sto = :s REMOVE #src, lease_until_ms, last_error",
            "#st = :d",
            vec![
                (":a", to_av(&FileState::Archived)?),
                (":s", to_av(stored)?),
                (":d", to_av(&FileState::Downloading)?),
            ],
        )
        .await?;
        Ok(())
    }

    async fn retry_later(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        error: &str,
    ) -> Result<(), Error> {
        self.update_file(
            key,
            file_id,
            "SET #st = :r, last_error = :e REMOVE lease_until_ms",
            "#st = :d",
            vec![
                (":r", to_av(&FileState::Retrying)?),
                (":e", s(error)),
                (":d", to_av(&FileState::Downloading)?),
            ],
        )
        .await?;
        Ok(())
    }

    async fn fail(&self, key: &RecordingKey, file_id: &FileId, error: &str) -> Result<(), Error> {
        let applied = self
            .update_file(
                key,
                file_id,
                "SET #st = :f, last_error = :e REMOVE lease_until_ms, #src",
                "#st = :d",
                vec![
                    (":f", to_av(&FileState::Failed)?),
                    (":e", s(error)),
                    (":d", to_av(&FileState::Downloading)?),
                ],
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
        for from in [RecordingState::Archiving, RecordingState::PendingOwner] {
            if self
                .transition(key, rec.tenant.as_str(), from, RecordingState::Failed, None)
                .await?
            {
                break;
            }
        }
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
        if !rec.all_done() || rec.state != RecordingState::Archiving {
            return Ok(false);
        }
        let n = rec.file_ids.len() as i64;
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("SET #st = :to, gsi1pk = :g, archived_at = :now, updated_at = :now")
            .condition_expression("#st = :from AND size(file_ids) = :n AND size(done_ids) = :n")
            .expression_attribute_names("#st", "state")
            .expression_attribute_values(":from", to_av(&RecordingState::Archiving)?)
            .expression_attribute_values(":to", to_av(&RecordingState::Archived)?)
            .expression_attribute_values(
                ":g",
                s(gsi_pk(rec.tenant.as_str(), RecordingState::Archived)),
            )
            .expression_attribute_values(":now", now_str(now))
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem(archive)", e)),
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
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(self.key(key.partition_key(), META)))
            .update_expression("SET #del = :d, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#del", "deletion")
            .expression_attribute_values(":d", to_av(deletion)?)
            .expression_attribute_values(":now", now_str(Utc::now()))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem(deletion)", e))?;
        Ok(())
    }
}

#[async_trait]
impl CatalogReader for DynamoCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.recording(key).await
    }

    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error> {
        let mut files = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :f)")
                .expression_attribute_values(":pk", s(key.partition_key()))
                .expression_attribute_values(":f", s("FILE#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query(files)", e))?;
            for item in out.items.unwrap_or_default() {
                files.push(from_item(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(files)
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
}
