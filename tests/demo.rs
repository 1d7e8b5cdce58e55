//! The README's demo: the whole pipeline on this machine. Starts the local stack (moto, the five function
//! binaries under `cargo lambda watch`, the SQS bridge) and a Zoom simulator, applies a tenant, lets "Zoom"
//! complete a realistic recording (two segments, two video layouts, audio, chat, timeline; the transcript
//! later), shows progress, and prints the catalog entry and the S3 keys.

use anyhow::{Context, Result};
use archiver_tests::{apply_tenant, repo_root, unique};
use local_stack::{LocalStack, StackOptions};
use shared::aws::catalog::DynamoCatalog;
use shared::catalog::CatalogReader;
use shared::ids::{AccountId, InstanceId, Vendor};
use shared::model::{RecordingKey, RecordingState};
use std::time::{Duration, Instant};
use zoom_sim::{RecordingSpec, ZoomSim, deliver, unix_now};

async fn wait_archived(catalog: &DynamoCatalog, key: &RecordingKey, files: usize) -> Result<()> {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        let now = match CatalogReader::get_recording(catalog, key).await? {
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
        if let Some(e) = CatalogReader::get_recording(catalog, key).await?
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

#[tokio::main]
async fn main() -> Result<()> {
    println!("Starting the local stack (moto, cargo lambda watch, SQS bridge) …");
    let stack = LocalStack::start(StackOptions {
        repo_root: repo_root(),
        stack_name: unique("demo"),
        quiet: true,
        ..Default::default()
    })
    .await
    .context("starting the local stack")?;
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
    let (status, body) = deliver(
        &http,
        &url,
        &tenant.secret,
        unix_now(),
        &zoom_sim::url_validation_body("demo-plain-token"),
    )
    .await?;
    println!("endpoint.url_validation → {status} {body}");

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
    println!(
        "(the first call of each function compiles it under cargo lambda watch; later runs are fast)"
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

    let entry = CatalogReader::get_recording(&catalog, &key)
        .await?
        .context("entry")?;
    let files = catalog.list_files(&key).await?;
    println!(
        "\nCatalog entry (archiver-admin show --account '{}' --instance '{}'):",
        rec.account_id, rec.uuid
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&archiver_admin::entry_json(&entry, &files))?
    );

    let s3 = stack.s3_client().await;
    let bucket = stack.physical("MediaBucket").context("no MediaBucket")?;
    println!("\nS3 objects in {bucket}:");
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&entry.s3_prefix)
        .send()
        .await?;
    for o in listed.contents.unwrap_or_default() {
        println!(
            "  {:>10}  {}",
            o.size.unwrap_or_default(),
            o.key.unwrap_or_default()
        );
    }
    let mut ok = true;
    for f in rec.files() {
        let stored = files
            .iter()
            .find(|e| e.file_id.as_str() == f.id)
            .and_then(|e| e.stored.as_ref());
        ok &= stored.is_some_and(|s| s.sha256 == f.sha256);
    }
    println!(
        "\nEvery file matches the simulator's SHA-256: {}",
        if ok { "yes" } else { "NO" }
    );
    stack.shutdown().await;
    anyhow::ensure!(ok, "a file did not match");
    Ok(())
}
