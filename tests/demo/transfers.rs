//! The demo's transfer scenes: what heals by itself and what an admin does, each on one recording of a single
//! MP4 under a Zoom connection that has API credentials (the simulator's Server-to-Server OAuth app). Every
//! scene injects one fault into the Zoom simulator, sends the signed `recording.completed`, and then reads its
//! evidence from the catalog, S3, SQS and the simulator's counters.

use super::{admin_cli, entry, files_of, invoke, key_of, objects_under, wait_archived};
use anyhow::{Context, Result};
use archiver_tests::{TestTenant, apply_tenant_with_zoom_api, unique};
use local_stack::LocalStack;
use shared::aws::catalog::DynamoCatalog;
use shared::catalog::{FileEntry, RecordingEntry};
use shared::model::{FileState, RecordingKey, RecordingState};
use std::time::{Duration, Instant, SystemTime};
use zoom_sim::{Fault, RecordingSpec, SimFile, SimRecording, ZoomSim, deliver, unix_now};

const MIB: u64 = 1024 * 1024;

/// How long one scene may wait for the pipeline.
const SCENE_LIMIT: Duration = Duration::from_secs(180);

pub struct Transfers<'a> {
    stack: &'a LocalStack,
    catalog: &'a DynamoCatalog,
    conf: &'a aws_config::SdkConfig,
    sim: &'a ZoomSim,
    tenant: TestTenant,
    http: reqwest::Client,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// What `archiver-admin show` prints of one file (its `files[]` entry), without the fields that say nothing
/// here (kind, key, segment) and without the ones still empty.
fn shown(entry: &RecordingEntry, files: &[FileEntry], id: &str) -> serde_json::Value {
    let all = archiver_admin::entry_json(entry, files);
    let file = all["files"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["file_id"] == id))
        .cloned()
        .unwrap_or_default();
    let mut picked = serde_json::Map::new();
    for field in ["state", "attempts", "last_error", "progress"] {
        if !file[field].is_null() {
            picked.insert(field.into(), file[field].clone());
        }
    }
    serde_json::Value::Object(picked)
}

impl<'a> Transfers<'a> {
    /// A tenant whose Zoom connection has the simulator's S2S app as its API credentials.
    pub async fn start(
        stack: &'a LocalStack,
        catalog: &'a DynamoCatalog,
        conf: &'a aws_config::SdkConfig,
        sim: &'a ZoomSim,
    ) -> Result<Transfers<'a>> {
        println!("\n――― Transfers that heal, and what an admin does ―――\n");
        let tenant = apply_tenant_with_zoom_api(
            conf,
            stack.physical("ConfigTable").context("no ConfigTable")?,
            sim,
            None,
            serde_json::json!({"mode": "retain"}),
        )
        .await?;
        println!(
            "Tenant {} with Zoom connection {}: it has Zoom API credentials (the simulator's Server-to-Server OAuth \
             app, stored in Secrets Manager by apply), so a refused download token can be replaced",
            tenant.tenant, tenant.connection
        );
        Ok(Transfers {
            stack,
            catalog,
            conf,
            sim,
            tenant,
            http: reqwest::Client::new(),
            s3: stack.s3_client().await,
            bucket: stack
                .physical("MediaBucket")
                .context("no MediaBucket")?
                .to_owned(),
        })
    }

    /// Runs every scene; `Ok(false)` if one did not show what it should.
    pub async fn run(&self) -> Result<bool> {
        let mut ok = true;
        ok &= self.cut_every_8_mib().await?;
        ok &= self.refused_token().await?;
        ok &= self.rate_limited().await?;
        ok &= self.failed_then_retried().await?;
        ok &= self.sweeper_redrives_a_dead_letter().await?;
        Ok(ok)
    }

    /// A recording of the connection's account with one MP4 of `size` bytes, `fault` set on it: a meeting
    /// that started an hour ago, so the sweeper does not take it for stuck work (which it looks for among
    /// recordings started more than 6 hours ago).
    fn recording(&self, prefix: &str, size: u64, fault: Option<Fault>) -> (SimRecording, SimFile) {
        let mut spec = RecordingSpec::single_mp4(&unique(prefix), size);
        spec.account_id = self.sim.s2s_app().account_id;
        let start = (SystemTime::now() - Duration::from_secs(3600)).into();
        let shift = start - spec.start_time;
        spec.start_time = start;
        for f in &mut spec.files {
            f.recording_start += shift;
            f.recording_end += shift;
        }
        let rec = self.sim.add_recording(spec);
        let file = rec.media_files()[0].clone();
        if let Some(fault) = fault {
            self.sim.set_fault(&file.id, fault);
        }
        (rec, file)
    }

    async fn completed(&self, rec: &SimRecording) -> Result<()> {
        let url = self.stack.webhook_url("zoom", &self.tenant.connection);
        let body = rec.recording_completed_body();
        let (status, _) = deliver(&self.http, &url, &self.tenant.secret, unix_now(), &body).await?;
        println!("recording.completed → {status}");
        anyhow::ensure!(status == 200, "webhook answered {status}");
        Ok(())
    }

    async fn file(&self, key: &RecordingKey, id: &str) -> Result<Option<FileEntry>> {
        let files = files_of(self.catalog, key).await?;
        Ok(files.into_iter().find(|f| f.file_id.as_str() == id))
    }

    /// Waits until the file is in `state`; returns it.
    async fn wait_file(&self, key: &RecordingKey, id: &str, state: FileState) -> Result<FileEntry> {
        let start = Instant::now();
        loop {
            if let Some(f) = self.file(key, id).await?
                && f.state == state
            {
                return Ok(f);
            }
            anyhow::ensure!(
                start.elapsed() < SCENE_LIMIT,
                "file {id} not {} after {SCENE_LIMIT:?}",
                state.as_str()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Prints the `show` view of one file of the recording.
    async fn show(&self, key: &RecordingKey, id: &str) -> Result<()> {
        let found = entry(self.catalog, key).await?.context("entry")?;
        let files = files_of(self.catalog, key).await?;
        println!(
            "  archiver-admin show … → files[0]: {}",
            shown(&found, &files, id)
        );
        Ok(())
    }

    /// The evidence that a file is archived whole: the catalog's size and SHA-256, and the S3 object's length
    /// and `sha256` tag, each against the simulator's.
    async fn verify(&self, key: &RecordingKey, want: &SimFile) -> Result<bool> {
        let f = self.file(key, &want.id).await?.context("file entry")?;
        let stored = f.stored.as_ref().context("not stored")?;
        let (s3, bucket) = (&self.s3, &self.bucket);
        let head = s3.head_object().bucket(bucket).key(&f.s3_key).send();
        let tags = s3.get_object_tagging().bucket(bucket).key(&f.s3_key).send();
        let (head, tags) = (head.await?, tags.await?);
        let tag = tags
            .tag_set
            .iter()
            .find(|t| t.key == "sha256")
            .map(|t| t.value.clone());
        let ok = f.state == FileState::Archived
            && stored.sha256 == want.sha256
            && stored.bytes == want.size
            && head.content_length == Some(want.size as i64)
            && tag.as_deref() == Some(want.sha256.as_str());
        println!(
            "S3 object {} bytes in {} parts; SHA-256 in the catalog and in the object's tag = the simulator's: {}",
            head.content_length.unwrap_or_default(),
            stored.parts,
            if ok { "yes" } else { "NO" }
        );
        Ok(ok)
    }

    /// A CDN that cuts every response after 8 MiB: the transfer resumes at the last byte received.
    async fn cut_every_8_mib(&self) -> Result<bool> {
        println!("\n― 1. A CDN that cuts the connection every 8 MiB ―");
        let (rec, file) = self.recording(
            "cut",
            40 * MIB,
            Some(Fault::DropAfter {
                bytes: 8 * MIB,
                times: u32::MAX,
            }),
        );
        println!(
            "One {:.0} MiB MP4; the simulator's CDN closes every response after 8 MiB.",
            mib(file.size)
        );
        let key = key_of(&rec)?;
        self.completed(&rec).await?;
        // Watch the checkpoint that the downloader writes after every part, as `show` prints it.
        let (start, mut seen) = (Instant::now(), None);
        loop {
            let found = entry(self.catalog, &key).await?;
            let files = files_of(self.catalog, &key).await?;
            if let Some(found) = &found {
                let view = shown(found, &files, &file.id);
                if !view["progress"].is_null() && seen.as_ref() != Some(&view["progress"]) {
                    seen = Some(view["progress"].clone());
                    println!(
                        "  archiver-admin show … → files[0]: {view}  ({:.1}s)",
                        start.elapsed().as_secs_f64()
                    );
                }
                if found.state == RecordingState::Archived {
                    break;
                }
            }
            anyhow::ensure!(start.elapsed() < SCENE_LIMIT, "not archived in time");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if seen.is_none() {
            println!(
                "  (the transfer finished between two looks at the catalog: no progress seen)"
            );
        }
        println!("Archived after {:.1}s.", start.elapsed().as_secs_f64());
        let s = self.sim.stats(&file.id);
        let again = s.bytes_served.saturating_sub(file.size);
        println!(
            "The CDN answered {} requests ({} of them Range requests from the last byte received), cut {} of them, \
             and served {:.1} MiB for the {:.1} MiB file: {}.",
            s.cdn_requests,
            s.range_requests,
            s.dropped_connections,
            mib(s.bytes_served),
            mib(file.size),
            if again == 0 {
                "not one byte was fetched twice".to_owned()
            } else {
                format!("{again} bytes were fetched twice")
            }
        );
        // Every response but the last is cut after 8 MiB.
        let cuts = file.size.div_ceil(8 * MIB) - 1;
        let resumed = s.dropped_connections >= cuts && again < 8 * MIB;
        Ok(self.verify(&key, &file).await? && resumed)
    }

    /// The webhook's download token is refused: the downloader gets a fresh one from the Zoom API.
    async fn refused_token(&self) -> Result<bool> {
        println!("\n― 2. The webhook's download token is refused ―");
        let (rec, file) = self.recording("token", 4 * MIB, None);
        self.sim.revoke_token(&rec.download_token);
        println!(
            "Zoom revokes the download_token of the recording.completed webhook: a download with it gets Zoom's \
             HTML page instead of the file."
        );
        let key = key_of(&rec)?;
        let api_before = self.sim.api_stats();
        self.completed(&rec).await?;
        wait_archived(self.catalog, &key, 1).await?;
        let s = self.sim.stats(&file.id);
        let api = self.sim.api_stats();
        println!(
            "/rec/download answered {} web page(s) and {} redirect(s) to the CDN; meanwhile the Zoom API saw {} OAuth \
             token request(s) (S2S, account_credentials) and {} REST call(s) (GET /meetings/{{uuid}}/recordings with \
             a fresh download_access_token).",
            s.html_responses,
            s.redirects,
            api.token_requests - api_before.token_requests,
            api.api_requests - api_before.api_requests,
        );
        let fresh =
            s.last_bearer.is_some() && s.last_bearer.as_deref() != Some(&rec.download_token);
        println!(
            "The file was fetched with a token other than the webhook's: {}",
            if fresh { "yes" } else { "NO" }
        );
        Ok(self.verify(&key, &file).await? && fresh && s.html_responses >= 1)
    }

    /// A 429 with `Retry-After`: the download message comes back when Zoom said.
    async fn rate_limited(&self) -> Result<bool> {
        println!("\n― 3. Zoom answers 429 with Retry-After: 15 ―");
        let wait = 15;
        let (rec, file) = self.recording(
            "busy",
            4 * MIB,
            Some(Fault::RateLimited {
                times: 1,
                retry_after_secs: wait,
            }),
        );
        let key = key_of(&rec)?;
        let start = Instant::now();
        self.completed(&rec).await?;
        let f = self.wait_file(&key, &file.id, FileState::Retrying).await?;
        let due = f.not_before_ms.map(|t| (t - now_ms()) as f64 / 1000.0);
        self.show(&key, &file.id).await?;
        println!(
            "  the downloader hands the message back with the wait (Outcome::RetryAfter → ChangeMessageVisibility); \
             due again in {:.0}s",
            due.unwrap_or_default()
        );
        wait_archived(self.catalog, &key, 1).await?;
        let took = start.elapsed();
        let s = self.sim.stats(&file.id);
        println!(
            "Archived {:.1}s after the webhook: {} request(s) to /rec/download, {} answered 429. The queue held the \
             message for the {wait}s Zoom asked (the local bridge would have redelivered a plain failure after 2s).",
            took.as_secs_f64(),
            s.download_requests,
            s.rate_limited
        );
        let waited = took >= Duration::from_secs(wait) && s.rate_limited == 1;
        Ok(self.verify(&key, &file).await? && waited)
    }

    /// A file that failed (a web page even with a fresh token) is reopened by `archiver-admin retry`.
    async fn failed_then_retried(&self) -> Result<bool> {
        println!("\n― 4. A failed file, and archiver-admin retry ―");
        let (rec, file) = self.recording("page", 2 * MIB, Some(Fault::Html200));
        println!(
            "Zoom answers an HTML page for the file whatever the token (e.g. still processing at Zoom's side)."
        );
        let key = key_of(&rec)?;
        self.completed(&rec).await?;
        let start = Instant::now();
        loop {
            let e = entry(self.catalog, &key).await?;
            if e.is_some_and(|e| e.state == RecordingState::Failed) {
                break;
            }
            anyhow::ensure!(start.elapsed() < SCENE_LIMIT, "the recording did not fail");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        println!("The recording is failed:");
        self.show(&key, &file.id).await?;
        let nothing_left = self.nothing_stored(&key, &file.id).await?;
        println!(
            "  in S3 under its key: no object and no open multipart upload: {}",
            if nothing_left { "yes" } else { "NO" }
        );
        let failed_html = self.sim.stats(&file.id).html_responses;
        self.sim.clear_fault(&file.id);
        println!("Zoom serves the file again. An admin retries the recording:");
        println!(
            "$ archiver-admin retry --connection {} --instance '{}'",
            self.tenant.connection, rec.uuid
        );
        let code = archiver_admin::run(admin_cli(
            self.stack,
            archiver_admin::Command::Retry {
                connection: self.tenant.connection.clone(),
                instance: Some(rec.uuid.clone()),
                file: None,
                limit: 500,
            },
        )?)
        .await?;
        anyhow::ensure!(code == 0, "archiver-admin retry exited {code}");
        wait_archived(self.catalog, &key, 1).await?;
        self.show(&key, &file.id).await?;
        println!(
            "Before it failed, /rec/download answered {failed_html} web page(s): the downloader tries one fresh token \
             from the Zoom API after a refusal, and a page with that one too is final. retry reopened the file \
             (failed → planned) and handed it to the owner resolver, the path a webhook takes."
        );
        Ok(self.verify(&key, &file).await? && nothing_left)
    }

    /// Whether S3 has neither an object nor an unfinished upload at the file's key.
    async fn nothing_stored(&self, key: &RecordingKey, id: &str) -> Result<bool> {
        let f = self.file(key, id).await?.context("file entry")?;
        let objects = objects_under(&self.s3, &self.bucket, &f.s3_key).await?;
        let uploads = self.s3.list_multipart_uploads().bucket(&self.bucket);
        let uploads = uploads.prefix(&f.s3_key).send().await?;
        Ok(objects.is_empty() && uploads.uploads.unwrap_or_default().is_empty())
    }

    /// A download job that used up the queue's receives lands in the DLQ; the sweeper re-drives it.
    async fn sweeper_redrives_a_dead_letter(&self) -> Result<bool> {
        println!("\n― 5. A dead-lettered download, re-driven by the sweeper ―");
        let sqs = aws_sdk_sqs::Client::new(self.conf);
        let queue = self
            .stack
            .physical("DownloadQueue")
            .context("no DownloadQueue")?;
        let dlq = self
            .stack
            .physical("DownloadDLQ")
            .context("no DownloadDLQ")?;
        let receives = max_receive_count(&sqs, queue).await?;
        // One 429 more than the queue's receives: the re-driven job meets it too and waits a second, so no
        // upload is open while the sweep runs. (moto dates every multipart upload 2010-11-10, so the sweep's
        // "abandoned for 2 days" rule would abort one in flight; the download would then start afresh.)
        let (rec, file) = self.recording(
            "dlq",
            2 * MIB,
            Some(Fault::RateLimited {
                times: receives + 1,
                retry_after_secs: 1,
            }),
        );
        println!(
            "Zoom answers 429 (Retry-After: 1) {} times in a row; the download queue delivers a job {receives} times \
             (maxReceiveCount), then moves it to its DLQ.",
            receives + 1
        );
        let key = key_of(&rec)?;
        self.completed(&rec).await?;
        let start = Instant::now();
        while queue_depth(&sqs, dlq).await? == 0 {
            anyhow::ensure!(
                start.elapsed() < SCENE_LIMIT,
                "nothing reached the DownloadDLQ"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        println!(
            "After {:.0}s and {} answers 429 the job is in the DownloadDLQ ({} message); the file waits:",
            start.elapsed().as_secs_f64(),
            self.sim.stats(&file.id).rate_limited,
            queue_depth(&sqs, dlq).await?
        );
        self.show(&key, &file.id).await?;
        // Its last Retry-After has passed: the sweep re-drives only a file whose retry is due.
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!(
            "The sweeper runs (its schedule is every 15 minutes; here it is invoked once through the local Lambda \
             invoke API):"
        );
        let report = invoke(&self.http, self.stack, "sweeper", serde_json::json!({})).await?;
        println!("  sweep report: {report}");
        wait_archived(self.catalog, &key, 1).await?;
        let s = self.sim.stats(&file.id);
        println!(
            "DownloadDLQ now holds {} message(s); Zoom answered {} requests for the file, {} of them 429.",
            queue_depth(&sqs, dlq).await?,
            s.download_requests,
            s.rate_limited
        );
        let redriven = report["dead_letters_redriven"].as_u64() == Some(1)
            && report["uploads_aborted"].as_u64() == Some(0);
        Ok(self.verify(&key, &file).await? && redriven)
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The `maxReceiveCount` of a queue's redrive policy.
async fn max_receive_count(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<u32> {
    let name = aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy;
    let policy = queue_attribute(sqs, queue_url, name)
        .await?
        .context("no redrive policy")?;
    let policy: serde_json::Value = serde_json::from_str(&policy)?;
    let n = &policy["maxReceiveCount"];
    n.as_u64()
        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
        .map(|n| n as u32)
        .context("no maxReceiveCount")
}

/// Messages waiting in a queue (`ApproximateNumberOfMessages`, exact on moto).
async fn queue_depth(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<u64> {
    let name = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
    let n = queue_attribute(sqs, queue_url, name).await?;
    Ok(n.and_then(|n| n.parse().ok()).unwrap_or(0))
}

async fn queue_attribute(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    name: aws_sdk_sqs::types::QueueAttributeName,
) -> Result<Option<String>> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(name.clone())
        .send()
        .await?;
    Ok(out.attributes.and_then(|mut a| a.remove(&name)))
}
