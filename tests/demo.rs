//! The README's demo: the whole pipeline on this machine. Starts the local stack (moto, the function binaries
//! behind the Lambda APIs of `cargo lambda watch`, the SQS bridge) and a Zoom simulator, applies a tenant,
//! lets "Zoom" complete a realistic recording (two segments, two video layouts, audio, chat, timeline; the
//! transcript later), shows progress, and prints the catalog entry and the S3 keys. Then the same for Webex:
//! a Webex simulator, a tenant with a Webex connection, the org webhooks registered with `archiver-admin
//! webex-webhooks ensure`, and a stopped-and-restarted meeting (two recordings, then the transcript) that
//! "Webex" announces with signed notifications. Last, the transfer scenes (`transfers`): a CDN that cuts every
//! 8 MiB, a refused webhook token replaced through the Zoom API, a 429 with `Retry-After`, a failed file
//! reopened by `archiver-admin retry`, and a dead-lettered download re-driven by the sweeper. Then the deletion
//! scenes (`deletions`): a recording deleted at the simulated Zoom after verification, and one refused because
//! our copy was damaged, with the dry run and the audit. Last, the back catalogue (`backfill`): past
//! recordings imported with `archiver-admin backfill`, a rerun that lists nothing, and the reconcile sweep.

#[path = "demo/backfill.rs"]
mod backfill;
#[path = "demo/deletions.rs"]
mod deletions;
#[path = "demo/transfers.rs"]
mod transfers;

use anyhow::{Context, Result};
use archiver_tests::{apply_tenant, apply_webex_tenant, repo_root, unique};
use local_stack::{LocalStack, StackOptions};
use shared::aws::catalog::DynamoCatalog;
use shared::catalog::{CatalogReader, FileEntry, RecordingEntry};
use shared::ids::{AccountId, InstanceId, Vendor};
use shared::model::{RecordingKey, RecordingState};
use std::time::{Duration, Instant};
use webex_sim::{LinkKind, MeetingSpec, WebexSim};
use zoom_sim::{RecordingSpec, ZoomSim, deliver, unix_now};

/// Reads the catalog; a read that fails is tried again a few times. moto applies an UpdateItem's actions one
/// by one without isolation, so a read racing the creating upsert can see a half-built item (`missing field`)
/// that DynamoDB itself never shows.
async fn reread<T, F, Fut>(read: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, shared::error::Error>>,
{
    let mut tries = 0;
    loop {
        match read().await {
            Ok(v) => return Ok(v),
            Err(_) if tries < 5 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The recording's entry (see [`reread`]).
async fn entry(catalog: &DynamoCatalog, key: &RecordingKey) -> Result<Option<RecordingEntry>> {
    reread(|| CatalogReader::get_recording(catalog, key)).await
}

/// The recording's files (see [`reread`]).
async fn files_of(catalog: &DynamoCatalog, key: &RecordingKey) -> Result<Vec<FileEntry>> {
    reread(|| catalog.list_files(key)).await
}

async fn wait_archived(catalog: &DynamoCatalog, key: &RecordingKey, files: usize) -> Result<()> {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        let now = match entry(catalog, key).await? {
            Some(e) => format!(
                "  {:?}: {}/{} files archived",
                e.state,
                e.done_ids.len().min(files),
                files
            ),
            None => "  waiting for the catalog entry".into(),
        };
        if now != last {
            println!("{now}  ({:.0}s)", start.elapsed().as_secs_f64());
            last = now;
        }
        if let Some(e) = entry(catalog, key).await?
            && e.state == RecordingState::Archived
            && e.file_ids.len() == files
        {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(900),
            "not archived after 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Prints the entry as `archiver-admin show` does and the S3 objects under its prefix; returns its files.
async fn show(
    stack: &LocalStack,
    catalog: &DynamoCatalog,
    key: &RecordingKey,
) -> Result<Vec<FileEntry>> {
    let found = entry(catalog, key).await?.context("entry")?;
    let files = files_of(catalog, key).await?;
    println!(
        "\nCatalog entry (archiver-admin show --vendor {} --account '{}' --instance '{}'):",
        key.vendor, key.account, key.instance
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&archiver_admin::entry_json(&found, &files))?
    );
    let s3 = stack.s3_client().await;
    let bucket = stack.physical("MediaBucket").context("no MediaBucket")?;
    println!("\nS3 objects in {bucket}:");
    for o in objects_under(&s3, bucket, &found.s3_prefix).await? {
        println!(
            "  {:>10}  {}",
            o.size.unwrap_or_default(),
            o.key.unwrap_or_default()
        );
    }
    Ok(files)
}

/// The S3 objects under `prefix` (one page: the demo's recordings have few files).
async fn objects_under(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<aws_sdk_s3::types::Object>> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await?;
    Ok(listed.contents.unwrap_or_default())
}

/// Whether every `(file id, sha256)` is stored with that SHA-256; prints the verdict.
fn all_match(files: &[FileEntry], expected: &[(String, String)]) -> bool {
    let ok = expected.iter().all(|(id, sha)| {
        files
            .iter()
            .find(|e| e.file_id.as_str() == id)
            .and_then(|e| e.stored.as_ref())
            .is_some_and(|s| &s.sha256 == sha)
    });
    println!(
        "\nEvery file matches the simulator's SHA-256: {}",
        if ok { "yes" } else { "NO" }
    );
    ok
}

#[tokio::main]
async fn main() -> Result<()> {
    println!(
        "Starting the local stack (moto, the functions behind cargo lambda watch's Lambda APIs, SQS bridge) …"
    );
    let stack = LocalStack::start(StackOptions {
        repo_root: repo_root(),
        stack_name: unique("demo"),
        quiet: true,
        ..Default::default()
    })
    .await
    .context("starting the local stack")?;
    // `archiver_admin::run` (the Webex part) finds AWS through the environment, as the CLI does.
    archiver_tests::export_aws_env(stack.endpoint_url());
    let conf = stack.sdk_config().await;
    let sim = ZoomSim::start().await?;
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("demo"), 8 * 1024 * 1024));
    let tenant = apply_tenant(
        &conf,
        stack.physical("ConfigTable").context("no ConfigTable")?,
        &rec.account_id,
        Some((&rec.host_id, &rec.host_email)),
        serde_json::json!({"mode": "delete_after", "days": 30, "action": "trash"}),
    )
    .await?;
    let url = stack.webhook_url("zoom", &tenant.connection);
    println!("AWS endpoint: {}", stack.endpoint_url());
    println!("Webhook URL:  {url}");
    println!(
        "Tenant {} with Zoom connection {} (account {})",
        tenant.tenant, tenant.connection, rec.account_id
    );

    let http = reqwest::Client::new();
    let plain = "demo-plain-token";
    let (status, body) = deliver(
        &http,
        &url,
        &tenant.secret,
        unix_now(),
        &zoom_sim::url_validation_body(plain),
    )
    .await?;
    // The answer's encryptedToken is an HMAC under the webhook secret: checked, not printed.
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let signed = answer["plainToken"] == plain
        && answer["encryptedToken"] == zoom_sim::expected_encrypted_token(&tenant.secret, plain);
    println!(
        "endpoint.url_validation → {status}; plainToken echoed and encryptedToken = HMAC-SHA256(secret token, plainToken): {}",
        if signed { "yes" } else { "NO" }
    );

    let media: u64 = rec.media_files().iter().map(|f| f.size).sum();
    println!(
        "\nZoom completes \"{}\": {} files, {:.1} MiB, uuid {}",
        rec.topic,
        rec.media_files().len(),
        media as f64 / 1048576.0,
        rec.uuid
    );
    let completed = rec.recording_completed_body();
    let duplicate = rec.with_fresh_token().recording_completed_body();
    // Zoom often delivers the same event twice at once; the second must change nothing.
    let (a, b) = tokio::join!(
        deliver(&http, &url, &tenant.secret, unix_now(), &completed),
        deliver(&http, &url, &tenant.secret, unix_now(), &duplicate)
    );
    println!(
        "recording.completed → {} (and a duplicate → {})",
        a?.0, b?.0
    );
    let catalog = DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&conf),
        stack.physical("CatalogTable").context("no CatalogTable")?,
    );
    let key = RecordingKey {
        vendor: Vendor::Zoom,
        account: AccountId::parse(&rec.account_id)?,
        instance: InstanceId::parse(&rec.uuid)?,
    };
    wait_archived(&catalog, &key, rec.media_files().len()).await?;

    let (status, _) = deliver(
        &http,
        &url,
        &tenant.secret,
        unix_now(),
        &rec.transcript_completed_body(),
    )
    .await?;
    println!("\nrecording.transcript_completed (later) → {status}");
    wait_archived(&catalog, &key, rec.files().len()).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let files = show(&stack, &catalog, &key).await?;
    let expected: Vec<(String, String)> = rec
        .files()
        .iter()
        .map(|f| (f.id.clone(), f.sha256.clone()))
        .collect();
    let zoom_ok = all_match(&files, &expected);

    let webex_ok = webex(&stack, &conf, &catalog).await?;
    let scenes_ok = transfers::Transfers::start(&stack, &catalog, &conf, &sim)
        .await?
        .run()
        .await?;
    let deletions_ok = deletions::run(&stack, &catalog, &conf).await?;
    let backfill_ok = backfill::run(&stack, &catalog, &conf).await?;
    stack.shutdown().await;
    anyhow::ensure!(zoom_ok && webex_ok, "a file did not match");
    anyhow::ensure!(scenes_ok, "a transfer scene did not show what it should");
    anyhow::ensure!(
        deletions_ok,
        "the deletion scenes did not show what they should"
    );
    anyhow::ensure!(
        backfill_ok,
        "the backfill scene did not show what it should"
    );
    Ok(())
}

/// The catalog key of a simulated Zoom recording.
fn key_of(rec: &zoom_sim::SimRecording) -> Result<RecordingKey> {
    Ok(RecordingKey {
        vendor: Vendor::Zoom,
        account: AccountId::parse(&rec.account_id)?,
        instance: InstanceId::parse(&rec.uuid)?,
    })
}

/// Invokes a scheduled function once through the local Lambda invoke API, as its schedule would; its result.
async fn invoke(
    http: &reqwest::Client,
    stack: &LocalStack,
    binary: &str,
    payload: serde_json::Value,
) -> Result<serde_json::Value> {
    Ok(http
        .post(stack.invoke_url(binary))
        .json(&payload)
        .timeout(Duration::from_secs(300))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The admin CLI's arguments for the local stack's tables and owner queue.
fn admin_cli(stack: &LocalStack, command: archiver_admin::Command) -> Result<archiver_admin::Cli> {
    Ok(archiver_admin::Cli {
        config_table: stack
            .physical("ConfigTable")
            .context("no ConfigTable")?
            .to_owned(),
        catalog_table: stack
            .physical("CatalogTable")
            .context("no CatalogTable")?
            .to_owned(),
        owner_queue_url: stack
            .physical("OwnerQueue")
            .context("no OwnerQueue")?
            .to_owned(),
        media_bucket: stack
            .physical("MediaBucket")
            .context("no MediaBucket")?
            .to_owned(),
        events_queue_url: stack
            .physical("EventsQueue")
            .context("no EventsQueue")?
            .to_owned(),
        command,
    })
}

/// The Webex part: register the org webhooks, let "Webex" announce a two-segment meeting and later its
/// transcript, and show what was archived.
async fn webex(
    stack: &LocalStack,
    conf: &aws_config::SdkConfig,
    catalog: &DynamoCatalog,
) -> Result<bool> {
    println!("\n――― Webex ―――\n");
    let sim = WebexSim::start().await?;
    let host = "ada.lovelace@university.example.edu";
    let config_table = stack.physical("ConfigTable").context("no ConfigTable")?;
    let tenant = apply_webex_tenant(
        conf,
        config_table,
        &sim,
        host,
        None,
        serde_json::json!({"mode": "delete_after", "days": 30, "action": "trash"}),
    )
    .await?;
    let url = stack.webhook_url("webex", &tenant.connection);
    let base = url
        .strip_suffix(&format!("/webex/{}", tenant.connection))
        .context("webhook URL")?
        .to_owned();
    println!(
        "Tenant {} with Webex connection {} (org {})",
        tenant.tenant,
        tenant.connection,
        sim.org_id()
    );
    println!(
        "\n$ archiver-admin webex-webhooks ensure --connection {} --webhook-base-url {base}",
        tenant.connection
    );
    let code = archiver_admin::run(admin_cli(
        stack,
        archiver_admin::Command::WebexWebhooks {
            action: archiver_admin::WebhookAction::Ensure {
                connection: tenant.connection.clone(),
                webhook_base_url: base,
            },
        },
    )?)
    .await?;
    anyhow::ensure!(code == 0, "webex-webhooks ensure exited {code}");

    let meeting = sim.add_meeting(
        MeetingSpec::realistic(
            "BIO 101 Lecture",
            host,
            (std::time::SystemTime::now() - Duration::from_secs(2 * 3600)).into(),
            4 * 1024 * 1024,
        )
        .with_segments(2),
    );
    let media: u64 = meeting
        .recordings
        .iter()
        .flat_map(|r| r.files.iter().map(|f| f.size))
        .sum();
    println!(
        "\nWebex ends \"{}\", recorded in 2 segments (stop/start): {} files, {:.1} MiB, meeting {}",
        meeting.topic,
        meeting
            .recordings
            .iter()
            .map(|r| r.files.len())
            .sum::<usize>(),
        media as f64 / 1048576.0,
        meeting.instance_id
    );
    for (i, (_, status)) in sim.publish_recordings(&meeting).await.iter().enumerate() {
        println!("recordings/created (segment {}) → {status}", i + 1);
    }
    let key = RecordingKey {
        vendor: Vendor::Webex,
        account: AccountId::parse(sim.org_id())?,
        instance: InstanceId::parse(&meeting.instance_id)?,
    };
    let mut expected: Vec<(String, String)> = meeting
        .recordings
        .iter()
        .flat_map(|r| {
            r.files.iter().map(|f| {
                let id = match f.kind {
                    LinkKind::Recording => r.id.clone(),
                    LinkKind::Audio => format!("{}-audio", r.id),
                    LinkKind::Transcript => format!("{}-transcript", r.id),
                };
                (id, f.sha256.clone())
            })
        })
        .collect();
    wait_archived(catalog, &key, expected.len()).await?;

    if let Some(t) = &meeting.transcript {
        for (_, status) in sim.publish_transcript(t).await {
            println!("\nmeetingTranscripts/created (later) → {status}");
        }
        expected.push((t.id.clone(), t.sha256.clone()));
        wait_archived(catalog, &key, expected.len()).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let files = show(stack, catalog, &key).await?;
    Ok(all_match(&files, &expected))
}
