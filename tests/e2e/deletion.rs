//! Verified deletion through the local stack: recordings archived by the pipeline from signed webhooks, their
//! deletion planned by the deletion scheduler, then the deleter function invoked through the local Lambda
//! invoke API (its schedule, hourly by default, is EventBridge's to keep). The simulators record every
//! deletion call they receive.

use super::webex::{LIMIT, all_ok, host_email, media, setup_with};
use super::{MIB, World, check, key_of};
use archiver_tests::apply_tenant_with_zoom_api;
use chrono::{Duration as Days, Utc};
use shared::batch::Invocation;
use shared::catalog::{CatalogReader, DeleterCatalog, DeletionStatus};
use shared::ids::ConnectionId;
use shared::model::{RecordingKey, RecordingState};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use webex_sim::{DeleteKind, MeetingSpec};
use zoom_sim::RecordingSpec;

type Run<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// Due as soon as archived: no delay, no wait for late files (the late transcript is delivered first).
fn due_at_once(action: &str) -> serde_json::Value {
    serde_json::json!({"mode": "delete_after", "hours": 0, "late_file_hours": 0, "action": action})
}

impl World {
    /// Invokes the deleter once (for one connection) through the local invoke API; its report.
    async fn invoke_deleter(&self, connection: &str) -> Result<serde_json::Value, String> {
        // Due times are kept to the second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let resp = self
            .http
            .post(self.stack.invoke_url("deleter"))
            .json(&serde_json::json!({ "connection": connection }))
            .send()
            .await
            .map_err(|e| format!("invoke deleter: {e}"))?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
        check(
            status.is_success(),
            format!("deleter answered {status}: {body}"),
        )?;
        Ok(body)
    }

    /// Waits until the deletion scheduler planned the recording (status `scheduled`).
    async fn wait_scheduled(&self, key: &RecordingKey) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let (_, d) = self.wait_deletion(key).await?;
            if d.status == DeletionStatus::Scheduled {
                return Ok(());
            }
            check(
                start.elapsed() < Duration::from_secs(60),
                format!("{key}: deletion {d:?}"),
            )?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A new Zoom recording delivered by its two webhooks (media, then the late transcript) and archived whole;
    /// returned once its deletion is planned.
    async fn archive_whole(
        &self,
        tenant: &archiver_tests::TestTenant,
        account: &str,
        name: &str,
    ) -> Result<zoom_sim::SimRecording, String> {
        let mut spec = RecordingSpec::realistic(&archiver_tests::unique(name), MIB);
        spec.account_id = account.to_owned();
        let rec = self.sim.add_recording(spec);
        let media = rec.files().iter().filter(|f| !f.is_transcript).count();
        for (body, files) in [
            (rec.recording_completed_body(), media),
            (rec.transcript_completed_body(), rec.files().len()),
        ] {
            let (status, _) = self.post(tenant, &body).await;
            check(status == 200, format!("delivery answered {status}"))?;
            self.wait_for(&rec, RecordingState::Archived, files, LIMIT)
                .await?;
        }
        self.wait_scheduled(&key_of(&rec)).await?;
        Ok(rec)
    }

    /// Zoom's deletion calls for one recording.
    fn zoom_calls(&self, rec: &zoom_sim::SimRecording) -> Vec<zoom_sim::DeleteCall> {
        let calls = self.sim.deletions();
        calls.into_iter().filter(|c| c.uuid == rec.uuid).collect()
    }

    async fn deletion_of(&self, key: &RecordingKey) -> shared::catalog::DeletionEntry {
        self.entry_at(key)
            .await
            .and_then(|e| e.deletion)
            .expect("a deletion entry")
    }
}

/// Two Zoom recordings archived whole (the late transcript included); one of our copies is then made shorter
/// in S3. The dry run says the first would be deleted and the second refused, and why; the sweep then does
/// exactly that: one trash call for the first, none for the second, an audit record for each; a second
/// sweep calls nothing. Zoom's `recording.trashed` for our deletion is ignored; a person's is recorded.
pub fn zoom(w: &World) -> Run<'_> {
    Box::pin(async move {
        let conf = &w.conf;
        let config_table = w.stack.physical("ConfigTable").unwrap();
        let tenant =
            apply_tenant_with_zoom_api(conf, config_table, &w.sim, None, due_at_once("trash"))
                .await
                .map_err(|e| format!("tenant: {e:#}"))?;
        let account = w.sim.s2s_app().account_id;
        let mut recs = Vec::new();
        for name in ["kept-whole", "tampered"] {
            recs.push(w.archive_whole(&tenant, &account, name).await?);
        }
        let (whole, tampered) = (&recs[0], &recs[1]);
        // Our copy of the tampered recording's largest file loses its last byte.
        let files = CatalogReader::list_files(&w.catalog, &key_of(tampered))
            .await
            .unwrap();
        let victim = files
            .iter()
            .max_by_key(|f| f.stored.as_ref().map(|s| s.bytes))
            .and_then(|f| f.stored.clone())
            .ok_or("no stored file")?;
        let body =
            w.s3.get_object()
                .bucket(&w.bucket)
                .key(&victim.key)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .body
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .into_bytes();
        w.s3.put_object()
            .bucket(&w.bucket)
            .key(&victim.key)
            .body(body.slice(..body.len() - 1).into())
            .tagging(format!("sha256={}", victim.sha256))
            .send()
            .await
            .map_err(|e| e.to_string())?;

        // The dry run: the deleter's own checks, read-only.
        let admin = archiver_admin::deleter(
            conf,
            config_table,
            w.stack.physical("CatalogTable").unwrap(),
            &w.bucket,
            w.stack.physical("EventsQueue").unwrap(),
            50,
        );
        let conn = shared::ports::ConfigStore::connection(
            &admin.config,
            &ConnectionId::parse(&tenant.connection).unwrap(),
        )
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no connection")?;
        let looked = archiver_admin::deletions::look(
            &admin,
            &conn,
            &Invocation::at(Utc::now() + Days::seconds(2)),
            true,
            50,
        )
        .await
        .map_err(|e| e.to_string())?;
        for line in archiver_admin::deletions::lines(&looked) {
            println!("    {line}");
        }
        let would: Vec<(String, String)> = looked
            .due
            .iter()
            .map(|p| {
                (
                    p.recording.clone(),
                    archiver_admin::deletions::would(&p.would),
                )
            })
            .collect();
        check(
            would.len() == 2
                && would
                    .iter()
                    .any(|(r, s)| r == &key_of(whole).to_string() && s == "would delete")
                && would.iter().any(|(r, s)| {
                    r == &key_of(tampered).to_string()
                        && s.starts_with("refused:")
                        && s.contains("bytes")
                }),
            format!("dry run: {would:?}"),
        )?;
        check(
            w.sim.deletions().is_empty(),
            "the dry run called the vendor",
        )?;

        let report = w.invoke_deleter(&tenant.connection).await?;
        println!("    deleter: {report}");
        let calls = w.sim.deletions();
        check(
            calls.len() == 1
                && calls[0].uuid == whole.uuid
                && calls[0].file_id.is_none()
                && calls[0].action.as_deref() == Some("trash")
                && calls[0].status == 204,
            format!("Zoom received {calls:?}"),
        )?;
        let d = w.deletion_of(&key_of(whole)).await;
        check(d.status == DeletionStatus::Deleted, format!("{d:?}"))?;
        let d = w.deletion_of(&key_of(tampered)).await;
        check(
            d.status == DeletionStatus::Refused
                && d.reason
                    .as_deref()
                    .is_some_and(|r| r.contains(&format!("has {} bytes", victim.bytes - 1))),
            format!("{d:?}"),
        )?;
        for (rec, status) in [
            (whole, DeletionStatus::Deleted),
            (tampered, DeletionStatus::Refused),
        ] {
            let audit = w
                .catalog
                .audit(&key_of(rec))
                .await
                .map_err(|e| e.to_string())?;
            check(
                audit.len() == 1
                    && audit[0].status == status
                    && audit[0].evidence.len() == rec.files().len()
                    && audit[0].by == "deletion sweep",
                format!("audit of {}: {audit:?}", rec.uuid),
            )?;
        }
        // Swept again: nothing more is called.
        w.invoke_deleter(&tenant.connection).await?;
        check(
            w.sim.deletions().len() == 1,
            "a second sweep called Zoom again",
        )?;

        // Zoom's echo of our own deletion is ignored; a person trashing the other recording is recorded.
        let (status, _) = w
            .post(
                &tenant,
                &whole.recording_trashed_body("archiver@uni.example.edu", "app-user"),
            )
            .await;
        check(status == 200, format!("trashed (ours) answered {status}"))?;
        let (status, _) = w
            .post(
                &tenant,
                &tampered.recording_trashed_body("prof@uni.example.edu", "u-17"),
            )
            .await;
        check(
            status == 200,
            format!("trashed (a person's) answered {status}"),
        )?;
        let removal = w
            .poll(
                &key_of(tampered),
                Duration::from_secs(30),
                "the person's removal was not recorded",
                |e| e.removed_at_vendor.clone(),
            )
            .await?;
        check(
            removal.operator.as_deref() == Some("prof@uni.example.edu") && removal.archived_before,
            format!("{removal:?}"),
        )?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ours = w
            .entry_at(&key_of(whole))
            .await
            .and_then(|e| e.removed_at_vendor);
        check(
            ours.is_none(),
            format!("our own deletion recorded as a removal: {ours:?}"),
        )?;
        Ok(())
    })
}

/// A Webex stop/start meeting (two recordings) archived whole, deleted permanently: one
/// `DELETE /recordings/{id}?hostEmail=` per segment, each answered 204; then Webex has nothing left.
pub fn webex(w: &World) -> Run<'_> {
    Box::pin(async move {
        let host = host_email("law");
        let x = setup_with(w, &host, None, due_at_once("delete")).await?;
        let m = x.sim.add_meeting(
            MeetingSpec::realistic("LAW 300 Seminar", &host, Utc::now() - Days::hours(2), MIB)
                .with_segments(2),
        );
        let key = x.key(&m);
        all_ok(&x.sim.publish_recordings(&m).await, 2)?;
        let want = media(&m);
        w.wait_until(&key, RecordingState::Archived, want.len(), LIMIT)
            .await?;
        w.wait_scheduled(&key).await?;
        let report = w.invoke_deleter(x.connection()).await?;
        println!("    deleter: {report}");
        let calls = x.sim.deletions();
        let mut ids: Vec<String> = calls.iter().flat_map(|c| c.recording_ids.clone()).collect();
        ids.sort();
        let mut want_ids: Vec<String> = m.recordings.iter().map(|r| r.id.clone()).collect();
        want_ids.sort();
        check(
            calls.len() == 2
                && ids == want_ids
                && calls.iter().all(|c| {
                    c.kind == DeleteKind::Delete
                        && c.status == 204
                        && c.host_email.as_deref() == Some(host.as_str())
                }),
            format!("Webex received {calls:?}"),
        )?;
        let d = w.deletion_of(&key).await;
        check(d.status == DeletionStatus::Deleted, format!("{d:?}"))?;
        let audit = DeleterCatalog::audit(&w.catalog, &key)
            .await
            .map_err(|e| e.to_string())?;
        check(
            audit.len() == 1 && audit[0].calls.len() == 2,
            format!("audit {audit:?}"),
        )?;
        Ok(())
    })
}

/// A recording archived whole whose largest file then changes at Zoom (another size). The sweep refuses it
/// and hands what Zoom lists now back to the pipeline, which archives the new version beside the first (both
/// objects stay in S3) and plans the deletion again. The connection is then disconnected: the sweep calls
/// nothing and counts the recording as paused. Reconnected (`apply` again), it deletes the recording once.
pub fn changed_then_disconnected(w: &World) -> Run<'_> {
    Box::pin(async move {
        let conf = &w.conf;
        let config_table = w.stack.physical("ConfigTable").unwrap();
        // One Zoom account belongs to one tenant: this scenario's tenant gets an account of its own.
        w.sim
            .set_s2s_account(&archiver_tests::unique("acct-changed"));
        let tenant =
            apply_tenant_with_zoom_api(conf, config_table, &w.sim, None, due_at_once("trash"))
                .await
                .map_err(|e| format!("tenant: {e:#}"))?;
        let account = w.sim.s2s_app().account_id;
        let rec = w.archive_whole(&tenant, &account, "changed").await?;
        let key = key_of(&rec);
        let victim = rec
            .media_files()
            .into_iter()
            .max_by_key(|f| f.size)
            .cloned()
            .ok_or("no media file")?;
        w.sim.set_file_size(&victim.id, victim.size + 4096);

        w.invoke_deleter(&tenant.connection).await?;
        let d = w.deletion_of(&key).await;
        check(
            d.status == DeletionStatus::Refused
                && d.reason.as_deref().is_some_and(|r| {
                    r.contains(&format!(
                        "{} bytes, our copy {}",
                        victim.size + 4096,
                        victim.size
                    )) && r.contains("queued to be archived first")
                }),
            format!("{d:?}"),
        )?;
        check(
            w.zoom_calls(&rec).is_empty(),
            "a changed file was deleted unseen",
        )?;

        // The pipeline archives the new version under its own key and plans the deletion again.
        let start = Instant::now();
        let changed = loop {
            let files = CatalogReader::list_files(&w.catalog, &key)
                .await
                .map_err(|e| e.to_string())?;
            let f = files
                .into_iter()
                .find(|f| f.file_id.as_str() == victim.id)
                .ok_or("file entry")?;
            let planned = w
                .entry_at(&key)
                .await
                .and_then(|e| e.deletion)
                .is_some_and(|d| d.status == DeletionStatus::Scheduled);
            if f.superseded.len() == 1 && f.stored.is_some() && planned {
                break f;
            }
            check(
                start.elapsed() < LIMIT,
                format!("the new version was not archived: {f:?}"),
            )?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        for (key, bytes) in [
            (changed.superseded[0].key.clone(), victim.size),
            (changed.s3_key.clone(), victim.size + 4096),
        ] {
            let head =
                w.s3.head_object()
                    .bucket(&w.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| format!("{key}: {e}"))?;
            check(
                head.content_length() == Some(bytes as i64),
                format!("{key}: {:?} bytes, not {bytes}", head.content_length()),
            )?;
        }

        // Disconnected: the due deletion waits, nothing is called.
        let cli = |command| archiver_admin::Cli {
            config_table: config_table.to_owned(),
            catalog_table: w.stack.physical("CatalogTable").unwrap().to_owned(),
            owner_queue_url: String::new(),
            media_bucket: w.bucket.clone(),
            events_queue_url: w.stack.physical("EventsQueue").unwrap().to_owned(),
            command,
        };
        let disconnect = archiver_admin::Command::Disconnect {
            connection: tenant.connection.clone(),
            recovery_days: 7,
        };
        let code = archiver_admin::run(cli(disconnect))
            .await
            .map_err(|e| format!("disconnect: {e:#}"))?;
        check(code == 0, format!("disconnect exited {code}"))?;
        let report = w.invoke_deleter(&tenant.connection).await?;
        check(
            report["paused_connections"].as_u64() == Some(1) && report["due"].as_u64() == Some(0),
            format!("while disconnected: {report}"),
        )?;
        check(w.zoom_calls(&rec).is_empty(), "deleted while disconnected")?;
        let d = w.deletion_of(&key).await;
        check(d.status == DeletionStatus::Scheduled, format!("{d:?}"))?;

        // Reconnected as an admin would: the same tenant file applied again (secrets restored first).
        let secrets =
            shared::aws::secrets::SecretsManager::new(aws_sdk_secretsmanager::Client::new(conf));
        for s in &tenant.config.secrets {
            secrets
                .put(&s.secret_id, &s.value)
                .await
                .map_err(|e| format!("secret: {e}"))?;
        }
        shared::aws::config::DynamoConfig::new(aws_sdk_dynamodb::Client::new(conf), config_table)
            .apply(&tenant.config)
            .await
            .map_err(|e| format!("apply: {e}"))?;
        w.invoke_deleter(&tenant.connection).await?;
        let calls = w.zoom_calls(&rec);
        check(
            calls.len() == 1 && calls[0].status == 204,
            format!("Zoom received {calls:?}"),
        )?;
        let d = w.deletion_of(&key).await;
        check(d.status == DeletionStatus::Deleted, format!("{d:?}"))?;
        let audit = w.catalog.audit(&key).await.map_err(|e| e.to_string())?;
        check(
            audit.len() == 2
                && audit[0].status == DeletionStatus::Refused
                && audit[1].status == DeletionStatus::Deleted
                && audit[1].evidence.iter().any(|e| e.s3_key == changed.s3_key),
            format!("audit {audit:?}"),
        )?;
        Ok(())
    })
}
