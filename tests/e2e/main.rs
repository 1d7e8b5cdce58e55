//! End to end through the local stack: real function binaries run by the local stack (the Lambda APIs from
//! `cargo lambda watch`), resources from `template.yaml` on moto, the SQS bridge, and the Zoom and Webex
//! simulators sending signed webhooks (the Webex scenarios are in `webex.rs`).
//!
//! A custom harness: one stack for most scenarios, and a second one, with short downloader invocations, for
//! the scenarios about invocations that end early (`invocations.rs`); each stack is started only when a
//! selected scenario needs it. It prints `N passed, N failed` and exits non-zero on a failure. Needs
//! `.venv-aws` (infra/bootstrap.sh); uses `AWS_ENDPOINT_URL` when set, else starts moto (one per stack).

mod backfill;
mod deletion;
mod invocations;
mod routing;
mod webex;

use archiver_tests::{TestTenant, apply_tenant, repo_root, unique};
use futures_util::future::join_all;
use local_stack::{LocalStack, StackOptions};
use shared::aws::catalog::DynamoCatalog;
use shared::catalog::{CatalogReader, DeletionEntry, RecordingEntry};
use shared::ids::{AccountId, InstanceId, TenantId, Vendor};
use shared::model::{FileState, RecordingKey, RecordingState};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use zoom_sim::{Fault, RecordingSpec, SimRecording, ZoomSim, deliver, unix_now};

const MIB: u64 = 1024 * 1024;

/// What a file must be in S3: its catalog id, and the simulator's size and SHA-256.
struct ExpectedFile {
    id: String,
    size: u64,
    sha256: String,
}

struct World {
    stack: LocalStack,
    sim: ZoomSim,
    http: reqwest::Client,
    catalog: DynamoCatalog,
    s3: aws_sdk_s3::Client,
    bucket: String,
    conf: aws_config::SdkConfig,
}

impl World {
    async fn tenant_for(&self, rec: &SimRecording) -> TestTenant {
        apply_tenant(
            &self.conf,
            self.stack.physical("ConfigTable").unwrap(),
            &rec.account_id,
            Some((&rec.host_id, &rec.host_email)),
            serde_json::json!({"mode": "delete_after", "days": 30}),
        )
        .await
        .expect("tenant applied")
    }

    fn url(&self, t: &TestTenant) -> String {
        self.stack.webhook_url("zoom", &t.connection)
    }

    async fn post(&self, t: &TestTenant, body: &str) -> (u16, String) {
        deliver(&self.http, &self.url(t), &t.secret, unix_now(), body)
            .await
            .expect("delivery")
    }

    async fn entry(&self, rec: &SimRecording) -> Option<RecordingEntry> {
        self.entry_at(&key_of(rec)).await
    }

    async fn entry_at(&self, key: &RecordingKey) -> Option<RecordingEntry> {
        // moto applies an UpdateItem's actions one by one without isolation, so a read racing the
        // creating upsert can see a half-built item (DynamoDB itself never shows one): read again.
        let mut tries = 0;
        loop {
            match CatalogReader::get_recording(&self.catalog, key).await {
                Ok(e) => return e,
                Err(e) if tries < 5 => {
                    tries += 1;
                    eprintln!("    catalog read retried: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("catalog read failed: {e}"),
            }
        }
    }

    /// Reads the entry at `key` until `found` makes something of it, for at most `limit`; else the error says
    /// that `what` never happened.
    async fn poll<T>(
        &self,
        key: &RecordingKey,
        limit: Duration,
        what: &str,
        found: impl Fn(&RecordingEntry) -> Option<T>,
    ) -> Result<T, String> {
        let start = Instant::now();
        loop {
            if let Some(t) = self.entry_at(key).await.as_ref().and_then(&found) {
                return Ok(t);
            }
            check(start.elapsed() < limit, format!("{key}: {what}"))?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until the recording is in `state` with `files` files known.
    async fn wait_for(
        &self,
        rec: &SimRecording,
        state: RecordingState,
        files: usize,
        limit: Duration,
    ) -> Result<RecordingEntry, String> {
        self.wait_until(&key_of(rec), state, files, limit).await
    }

    /// Waits until the recording at `key` is in `state` with `files` files known (and, for
    /// `Archived`, all of them done).
    ///
    /// A file that arrives after the archive (the late transcript) is added to `file_ids` by one update and
    /// the state moved back to `archiving` by the next, so an entry can be `archived` with the new file
    /// known but not yet done for a moment: that is not the archive of all `files`.
    async fn wait_until(
        &self,
        key: &RecordingKey,
        state: RecordingState,
        files: usize,
        limit: Duration,
    ) -> Result<RecordingEntry, String> {
        let start = Instant::now();
        loop {
            if let Some(e) = self.entry_at(key).await
                && e.state == state
                && e.file_ids.len() == files
                && (state != RecordingState::Archived || e.all_done())
            {
                return Ok(e);
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "recording {key} not {state:?} with {files} files after {limit:?}: {:?}",
                    self.entry_at(key).await.map(|e| (
                        e.state,
                        e.file_ids.len(),
                        e.done_ids.len(),
                        e.failed_ids
                    ))
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits for the deletion plan the deletion scheduler writes after the archive.
    async fn wait_deletion(
        &self,
        key: &RecordingKey,
    ) -> Result<(RecordingEntry, DeletionEntry), String> {
        let start = Instant::now();
        loop {
            if let Some(e) = self.entry_at(key).await
                && let Some(d) = e.deletion.clone()
            {
                return Ok((e, d));
            }
            check(
                start.elapsed() < Duration::from_secs(60),
                format!("no deletion plan for {key}"),
            )?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// How many catalog entries the tenant has, in any state.
    async fn entries_of(&self, tenant: &str) -> usize {
        let tenant = TenantId::parse(tenant).unwrap();
        let mut n = 0;
        for state in RecordingState::ALL {
            n += self
                .catalog
                .list_by_state(&tenant, state, 100)
                .await
                .unwrap()
                .len();
        }
        n
    }

    async fn objects_under(&self, prefix: &str) -> Vec<String> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        out.contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| o.key)
            .collect()
    }

    /// The object's tags, by key.
    async fn tags(&self, key: &str) -> Result<std::collections::BTreeMap<String, String>, String> {
        let out = self
            .s3
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("tags of {key}: {e}"))?;
        Ok(out.tag_set.into_iter().map(|t| (t.key, t.value)).collect())
    }

    /// Checks every listed file of `rec` is in S3 with the simulator's SHA-256, once.
    async fn verify_archived(
        &self,
        rec: &SimRecording,
        entry: &RecordingEntry,
        ids: &[String],
    ) -> Result<(), String> {
        let expected: Vec<ExpectedFile> = ids
            .iter()
            .map(|id| {
                let f = rec.file(id).unwrap();
                ExpectedFile {
                    id: id.clone(),
                    size: f.size,
                    sha256: f.sha256.clone(),
                }
            })
            .collect();
        self.verify_stored(&key_of(rec), entry, &expected).await?;
        for id in ids {
            if self.sim.stats(id).auth_leaks != 0 {
                return Err(format!("file {id}: Authorization header reached the CDN"));
            }
        }
        Ok(())
    }

    /// Checks that exactly the `expected` files are under the entry's prefix, each once, with the
    /// simulator's size and SHA-256 in the catalog, the object's size and metadata, and its `sha256` tag.
    async fn verify_stored(
        &self,
        key: &RecordingKey,
        entry: &RecordingEntry,
        expected: &[ExpectedFile],
    ) -> Result<(), String> {
        let files = self.catalog.list_files(key).await.unwrap();
        let objects = self.objects_under(&entry.s3_prefix).await;
        if objects.len() != expected.len() {
            return Err(format!(
                "{} objects under {}, expected {}: {objects:?}",
                objects.len(),
                entry.s3_prefix,
                expected.len()
            ));
        }
        for want in expected {
            let id = &want.id;
            let f = files
                .iter()
                .find(|f| f.file_id.as_str() == id)
                .ok_or(format!("file {id} not in catalog"))?;
            let stored = f.stored.as_ref().ok_or(format!("file {id} not stored"))?;
            if stored.sha256 != want.sha256 || stored.bytes != want.size {
                return Err(format!(
                    "file {id}: catalog has {} bytes {} expected {} {}",
                    stored.bytes, stored.sha256, want.size, want.sha256
                ));
            }
            check(
                f.state == FileState::Archived && objects.contains(&f.s3_key),
                format!("file {id}: {:?} at {}", f.state, f.s3_key),
            )?;
            let head = self
                .s3
                .head_object()
                .bucket(&self.bucket)
                .key(&f.s3_key)
                .send()
                .await
                .map_err(|e| format!("{id}: {e}"))?;
            let meta = head.metadata.unwrap_or_default();
            if meta.get("file-id") != Some(id) || head.content_length != Some(want.size as i64) {
                return Err(format!(
                    "object {} has metadata {meta:?} and length {:?}",
                    f.s3_key, head.content_length
                ));
            }
            let tags = self.tags(&f.s3_key).await?;
            check(
                tags.get("sha256") == Some(&want.sha256),
                format!("object {} has tags {tags:?}", f.s3_key),
            )?;
        }
        Ok(())
    }
}

fn key_of(rec: &SimRecording) -> RecordingKey {
    RecordingKey {
        vendor: Vendor::Zoom,
        account: AccountId::parse(&rec.account_id).unwrap(),
        instance: InstanceId::parse(&rec.uuid).unwrap(),
    }
}

fn check(cond: bool, msg: impl Into<String>) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg.into()) }
}

type Scenario = for<'a> fn(&'a World) -> Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// Which stack a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// The stack as the template describes it.
    Template,
    /// Short downloader invocations ([`invocations::short_invocations`]).
    ShortInvocations,
}

impl On {
    fn options(self) -> StackOptions {
        let opts = StackOptions {
            repo_root: repo_root(),
            stack_name: unique("e2e"),
            quiet: std::env::var("E2E_VERBOSE").is_err(),
            ..StackOptions::default()
        };
        match self {
            On::Template => opts,
            On::ShortInvocations => invocations::short_invocations(opts),
        }
    }
}

/// Starts a stack and the Zoom simulator for `on`.
async fn world(on: On) -> Result<World, String> {
    let started = Instant::now();
    let stack = LocalStack::start(on.options())
        .await
        .map_err(|e| format!("local stack ({on:?}) failed to start: {e:#}"))?;
    println!(
        "local stack ({on:?}) up in {:.1}s at {}",
        started.elapsed().as_secs_f64(),
        stack.invoke_base()
    );
    // `archiver_admin::run` (the Webex scenarios run `archiver-admin webex-webhooks ensure`) reads the AWS
    // endpoint from the environment, as the CLI does. Set before the first scenario runs, to the values the
    // stack itself uses when they are unset (a second stack uses the same endpoint when one is set).
    archiver_tests::export_aws_env(stack.endpoint_url());
    let conf = stack.sdk_config().await;
    Ok(World {
        sim: ZoomSim::start().await.map_err(|e| e.to_string())?,
        http: reqwest::Client::new(),
        catalog: DynamoCatalog::new(
            aws_sdk_dynamodb::Client::new(&conf),
            stack.physical("CatalogTable").unwrap(),
        ),
        s3: shared::aws::s3_client(&conf),
        bucket: stack.physical("MediaBucket").unwrap().to_owned(),
        conf,
        stack,
    })
}

fn url_validation(w: &World) -> Pin<Box<dyn Future<Output = Result<(), String>> + '_>> {
    Box::pin(async move {
        let rec = w
            .sim
            .add_recording(RecordingSpec::realistic(&unique("val"), MIB));
        let t = w.tenant_for(&rec).await;
        let (status, body) = w
            .post(&t, &zoom_sim::url_validation_body("plain-123"))
            .await;
        check(status == 200, format!("status {status}: {body}"))?;
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        check(v["plainToken"] == "plain-123", body.clone())?;
        check(
            v["encryptedToken"] == zoom_sim::expected_encrypted_token(&t.secret, "plain-123"),
            body,
        )
    })
}

fn archive_with_twenty_concurrent_duplicates(
    w: &World,
) -> Pin<Box<dyn Future<Output = Result<(), String>> + '_>> {
    Box::pin(async move {
        let rec = w
            .sim
            .add_recording(RecordingSpec::realistic(&unique("e2e"), 8 * MIB));
        let t = w.tenant_for(&rec).await;
        let total: u64 = rec.media_files().iter().map(|f| f.size).sum();
        check(total > 20 * MIB, format!("only {total} bytes of media"))?;
        // Zoom's duplicates: the same event, some with a different download token, all at once.
        let bodies: Vec<String> = (0..24)
            .map(|i| {
                if i % 3 == 0 {
                    rec.with_fresh_token().recording_completed_body()
                } else {
                    rec.recording_completed_body()
                }
            })
            .collect();
        let replies = join_all(bodies.iter().map(|b| w.post(&t, b))).await;
        check(
            replies.iter().all(|(s, _)| *s == 200),
            format!("{:?}", replies.iter().map(|r| r.0).collect::<Vec<_>>()),
        )?;
        let ids: Vec<String> = rec.media_files().iter().map(|f| f.id.clone()).collect();
        let entry = w
            .wait_for(
                &rec,
                RecordingState::Archived,
                ids.len(),
                Duration::from_secs(600),
            )
            .await?;
        w.verify_archived(&rec, &entry, &ids).await?;
        check(
            entry.owner.as_ref().map(|o| o.as_str()) == Some("host-user"),
            format!("owner {:?}", entry.owner),
        )?;
        for id in &ids {
            let n = w.sim.stats(id).complete_bodies;
            check(n == 1, format!("file {id} downloaded {n} times"))?;
        }
        // The deletion plan follows the archive.
        let (e, d) = w.wait_deletion(&key_of(&rec)).await?;
        check(
            d.status.as_str() == "scheduled"
                && d.due_at == e.archived_at.map(|a| a + chrono::Duration::days(30)),
            format!("{d:?}"),
        )?;
        // The late transcript lands on the same entry.
        let sent = Instant::now();
        let (status, _) = w.post(&t, &rec.transcript_completed_body()).await;
        let ack = sent.elapsed();
        check(status == 200, format!("transcript delivery: {status}"))?;
        // Zoom counts a delivery as failed after 3 s.
        check(
            ack < Duration::from_secs(3),
            format!("acknowledged after {ack:?}"),
        )?;
        println!(
            "    webhook acknowledged in {} ms (Zoom allows 3000 ms)",
            ack.as_millis()
        );
        let all: Vec<String> = rec.files().iter().map(|f| f.id.clone()).collect();
        let entry = w
            .wait_for(
                &rec,
                RecordingState::Archived,
                all.len(),
                Duration::from_secs(120),
            )
            .await?;
        w.verify_archived(&rec, &entry, &all).await?;
        println!(
            "    archived {} files ({:.1} MiB) in {} segments under {}",
            all.len(),
            total as f64 / MIB as f64,
            2,
            entry.s3_prefix
        );
        Ok(())
    })
}

fn rejections_enqueue_nothing(w: &World) -> Pin<Box<dyn Future<Output = Result<(), String>> + '_>> {
    Box::pin(async move {
        let rec = w
            .sim
            .add_recording(RecordingSpec::realistic(&unique("bad"), MIB));
        let t = w.tenant_for(&rec).await;
        let body = rec.recording_completed_body();
        let url = w.url(&t);
        let forged = deliver(&w.http, &url, "not-the-secret", unix_now(), &body)
            .await
            .map_err(|e| e.to_string())?;
        check(forged.0 == 401, format!("forged: {forged:?}"))?;
        let stale = deliver(&w.http, &url, &t.secret, unix_now() - 3 * 3600, &body)
            .await
            .map_err(|e| e.to_string())?;
        check(stale.0 == 401, format!("stale: {stale:?}"))?;
        let malformed = deliver(
            &w.http,
            &url,
            &t.secret,
            unix_now(),
            "{\"event\": \"recording.completed\", ",
        )
        .await
        .map_err(|e| e.to_string())?;
        check(malformed.0 == 400, format!("malformed: {malformed:?}"))?;
        let unknown = deliver(
            &w.http,
            &w.stack.webhook_url("zoom", "no-such-connection"),
            &t.secret,
            unix_now(),
            &body,
        )
        .await
        .map_err(|e| e.to_string())?;
        check(unknown.0 == 404, format!("unknown connection: {unknown:?}"))?;
        let huge = format!(
            "{{\"event\":\"recording.completed\",\"pad\":\"{}\"}}",
            "x".repeat(300 * 1024)
        );
        let too_big = deliver(&w.http, &url, &t.secret, unix_now(), &huge)
            .await
            .map_err(|e| e.to_string())?;
        check(too_big.0 == 413, format!("too big: {too_big:?}"))?;
        let ignored = deliver(
            &w.http,
            &url,
            &t.secret,
            unix_now(),
            r#"{"event":"meeting.started","event_ts":1,"payload":{"account_id":"x","object":{}}}"#,
        )
        .await
        .map_err(|e| e.to_string())?;
        check(
            ignored.0 == 200 && ignored.1.contains("ignored"),
            format!("ignored event: {ignored:?}"),
        )?;
        // Give the pipeline time to act on anything that slipped through.
        tokio::time::sleep(Duration::from_secs(5)).await;
        check(
            w.entry(&rec).await.is_none(),
            "a rejected delivery reached the catalog",
        )?;
        for f in rec.files() {
            check(
                w.sim.stats(&f.id).download_requests == 0,
                format!("file {} was downloaded", f.id),
            )?;
        }
        Ok(())
    })
}

fn html_200_is_a_recorded_failure(
    w: &World,
) -> Pin<Box<dyn Future<Output = Result<(), String>> + '_>> {
    Box::pin(async move {
        let rec = w
            .sim
            .add_recording(RecordingSpec::realistic(&unique("html"), MIB));
        let bad = rec.media_files()[1].id.clone();
        w.sim.set_fault(&bad, Fault::Html200);
        let t = w.tenant_for(&rec).await;
        let (status, _) = w.post(&t, &rec.recording_completed_body()).await;
        check(status == 200, format!("status {status}"))?;
        let n = rec.media_files().len();
        let start = Instant::now();
        let entry = loop {
            if let Some(e) = w.entry(&rec).await
                && e.state == RecordingState::Failed
                && e.done_ids.len() + e.failed_ids.len() == n
            {
                break e;
            }
            check(
                start.elapsed() < Duration::from_secs(120),
                format!("not failed: {:?}", w.entry(&rec).await.map(|e| e.state)),
            )?;
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let files = w.catalog.list_files(&key_of(&rec)).await.unwrap();
        let f = files.iter().find(|f| f.file_id.as_str() == bad).unwrap();
        check(f.state == FileState::Failed, format!("{:?}", f.state))?;
        check(
            f.last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("html_instead_of_media")),
            format!("{:?}", f.last_error),
        )?;
        check(
            w.objects_under(&f.s3_key).await.is_empty(),
            "an object was left for the HTML download",
        )?;
        check(
            w.objects_under(&entry.s3_prefix).await.len() == n - 1,
            "the other files are archived",
        )?;
        let uploads =
            w.s3.list_multipart_uploads()
                .bucket(&w.bucket)
                .prefix(&entry.s3_prefix)
                .send()
                .await
                .unwrap();
        check(
            uploads.uploads.unwrap_or_default().is_empty(),
            "a multipart upload was left open",
        )
    })
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let code = rt.block_on(async move {
        let scenarios: Vec<(&str, On, Scenario)> = vec![
            ("url_validation", On::Template, url_validation),
            (
                "archive_with_twenty_concurrent_duplicates",
                On::Template,
                archive_with_twenty_concurrent_duplicates,
            ),
            (
                "rejections_enqueue_nothing",
                On::Template,
                rejections_enqueue_nothing,
            ),
            (
                "html_200_is_a_recorded_failure",
                On::Template,
                html_200_is_a_recorded_failure,
            ),
            ("webex_archive", On::Template, webex::archive),
            (
                "webex_same_topic_other_days",
                On::Template,
                webex::same_topic_other_days,
            ),
            ("webex_expired_link", On::Template, webex::expired_link),
            (
                "webex_rejections_and_duplicates",
                On::Template,
                webex::rejections_and_duplicates,
            ),
            (
                "routing_opt_out_group_skipped_kinds_left_out_and_categories_tagged",
                On::Template,
                routing::opt_out_kinds_and_categories,
            ),
            (
                "zoom_deleted_after_verification_and_a_tampered_copy_refused",
                On::Template,
                deletion::zoom,
            ),
            (
                "webex_segments_deleted_after_verification",
                On::Template,
                deletion::webex,
            ),
            (
                "zoom_changed_file_archived_again_and_disconnect_pauses_deletion",
                On::Template,
                deletion::changed_then_disconnected,
            ),
            (
                "long_download_spans_invocations_without_sending_a_part_twice",
                On::ShortInvocations,
                invocations::long_download_spans_invocations,
            ),
            (
                "killed_download_resumes_from_its_checkpoint_after_the_lease",
                On::ShortInvocations,
                invocations::killed_download_resumes,
            ),
            (
                "remote_backfill_runs_in_the_deployment_one_unit_per_invocation",
                On::ShortInvocations,
                backfill::remote,
            ),
        ];
        let selected: Vec<_> = scenarios
            .into_iter()
            .filter(|(n, _, _)| filter.as_deref().is_none_or(|f| n.contains(f)))
            .collect();
        println!("running {} end-to-end scenarios", selected.len());
        let (mut passed, mut failed) = (0, 0);
        // Without an endpoint of the caller's, each stack starts its own moto; `world` exports the first
        // one's for the scenarios, and it must not outlive that stack.
        let own_endpoints = std::env::var_os("AWS_ENDPOINT_URL").is_none_or(|v| v.is_empty());
        for on in [On::Template, On::ShortInvocations] {
            let mine: Vec<_> = selected.iter().filter(|(_, o, _)| *o == on).collect();
            if mine.is_empty() {
                continue;
            }
            let world = match world(on).await {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("{e}");
                    failed += mine.len();
                    continue;
                }
            };
            for (name, _, scenario) in mine {
                let t = Instant::now();
                match scenario(&world).await {
                    Ok(()) => {
                        passed += 1;
                        println!("test {name} ... ok ({:.1}s)", t.elapsed().as_secs_f64());
                    }
                    Err(e) => {
                        failed += 1;
                        println!(
                            "test {name} ... FAILED ({:.1}s)\n    {e}",
                            t.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            world.sim.shutdown().await;
            world.stack.shutdown().await;
            if own_endpoints {
                // SAFETY: no scenario runs between stacks; the next stack and its scenarios read it anew.
                unsafe { std::env::remove_var("AWS_ENDPOINT_URL") };
            }
        }
        println!("{passed} passed, {failed} failed");
        i32::from(failed > 0)
    });
    std::process::exit(code);
}
