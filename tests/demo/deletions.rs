//! The demo's deletion scenes: two Zoom recordings archived under a connection whose plan deletes the Zoom
//! copy once ours is proven whole. One of our copies is then damaged in S3. The dry run
//! (`archiver-admin deletions --due`) says what would happen and why; the deleter (invoked once through the
//! local Lambda invoke API) deletes the whole one at the simulated Zoom and refuses the other; `audit` shows
//! the evidence of each.

use super::{admin_cli, entry, files_of, invoke, key_of, wait_archived};
use anyhow::{Context, Result};
use archiver_tests::{apply_tenant_with_zoom_api, unique};
use local_stack::LocalStack;
use shared::aws::catalog::DynamoCatalog;
use shared::catalog::DeletionStatus;
use std::time::{Duration, Instant};
use zoom_sim::{RecordingSpec, SimRecording, ZoomSim, deliver, unix_now};

async fn run_admin(
    stack: &LocalStack,
    shown: &str,
    command: archiver_admin::Command,
) -> Result<i32> {
    println!("\n$ archiver-admin {shown}");
    archiver_admin::run(admin_cli(stack, command)?).await
}

/// Runs the scenes; `Ok(false)` if they did not show what they should.
pub async fn run(
    stack: &LocalStack,
    catalog: &DynamoCatalog,
    conf: &aws_config::SdkConfig,
) -> Result<bool> {
    println!("\n――― Deleting the Zoom copy, only once ours is proven whole ―――\n");
    // A Zoom account of its own (one account belongs to one tenant).
    let owned = ZoomSim::start().await?;
    let sim = &owned;
    let tenant = apply_tenant_with_zoom_api(
        conf,
        stack.physical("ConfigTable").context("no ConfigTable")?,
        sim,
        None,
        serde_json::json!({"mode": "delete_after", "hours": 0, "late_file_hours": 0, "action": "trash"}),
    )
    .await?;
    println!(
        "Tenant {} with Zoom connection {}: delete_plan {{mode: delete_after, hours: 0, late_file_hours: 0, \
         action: trash}} (in production rather days: 30 and the default 24 h wait for late transcripts)",
        tenant.tenant, tenant.connection
    );
    let http = reqwest::Client::new();
    let url = stack.webhook_url("zoom", &tenant.connection);
    let mut recs = Vec::new();
    for name in ["Lecture 1", "Lecture 2"] {
        let mut spec = RecordingSpec::single_mp4(&unique("del"), 3 * 1024 * 1024);
        spec.account_id = sim.s2s_app().account_id;
        spec.topic = format!("HIST 110 {name}");
        let rec = sim.add_recording(spec);
        let body = rec.recording_completed_body();
        let (status, _) = deliver(&http, &url, &tenant.secret, unix_now(), &body).await?;
        println!("recording.completed (\"{}\") → {status}", rec.topic);
        wait_archived(catalog, &key_of(&rec)?, rec.files().len()).await?;
        let start = Instant::now();
        while entry(catalog, &key_of(&rec)?)
            .await?
            .and_then(|e| e.deletion)
            .is_none_or(|d| d.status != DeletionStatus::Scheduled)
        {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(60),
                "no deletion planned"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        recs.push(rec);
    }
    let (whole, damaged) = (&recs[0], &recs[1]);

    // Damage our copy of Lecture 2: the object loses its last byte (its sha256 tag kept).
    let file = files_of(catalog, &key_of(damaged)?)
        .await?
        .into_iter()
        .find_map(|f| f.stored)
        .context("no stored file")?;
    // The functions' S3 client: local S3 stand-ins answer a multipart object with a composite CRC32 that a
    // default client would compare against the whole body.
    let s3 = shared::aws::s3_client(conf);
    let bucket = stack.physical("MediaBucket").context("no MediaBucket")?;
    let bytes = s3
        .get_object()
        .bucket(bucket)
        .key(&file.key)
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    s3.put_object()
        .bucket(bucket)
        .key(&file.key)
        .body(bytes.slice(..bytes.len() - 1).into())
        .tagging(format!("sha256={}", file.sha256))
        .send()
        .await?;
    println!(
        "\nOur copy of \"{}\" is damaged in S3: {} bytes now, {} in the catalog.",
        damaged.topic,
        bytes.len() - 1,
        file.bytes
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let connection = tenant.connection.clone();
    run_admin(
        stack,
        &format!("deletions --connection {connection} --due   (a dry run: checks, no call)"),
        archiver_admin::Command::Deletions {
            connection: Some(connection.clone()),
            due: true,
            execute: false,
            limit: 50,
        },
    )
    .await?;
    let before = sim.deletions().len();

    println!(
        "\nThe deleter runs (its schedule is hourly; here it is invoked once through the local Lambda invoke API):"
    );
    let report = invoke(
        &http,
        stack,
        "deleter",
        serde_json::json!({ "connection": connection }),
    )
    .await?;
    println!("  deleter report: {report}");
    let calls = sim.deletions();
    println!(
        "The simulated Zoom received {} deletion call(s):",
        calls.len() - before
    );
    for c in &calls[before..] {
        println!(
            "  DELETE /meetings/{}/recordings?action={} → {}",
            c.raw_meeting_id,
            c.action.as_deref().unwrap_or("-"),
            c.status
        );
    }
    for rec in [whole, damaged] {
        let key = key_of(rec)?;
        run_admin(
            stack,
            &format!(
                "audit --vendor zoom --account '{}' --instance '{}'   (\"{}\")",
                key.account, key.instance, rec.topic
            ),
            archiver_admin::Command::Audit {
                recording: archiver_admin::RecordingArgs {
                    vendor: "zoom".into(),
                    account: key.account.to_string(),
                    instance: key.instance.to_string(),
                },
            },
        )
        .await?;
    }
    run_admin(
        stack,
        &format!("list --tenant {} --state archived", tenant.tenant),
        archiver_admin::Command::List {
            tenant: tenant.tenant.clone(),
            state: "archived".into(),
            limit: 10,
        },
    )
    .await?;
    let status = |rec: &SimRecording| {
        let key = key_of(rec);
        async move {
            Ok::<_, anyhow::Error>(
                entry(catalog, &key?)
                    .await?
                    .and_then(|e| e.deletion)
                    .map(|d| d.status),
            )
        }
    };
    let ours: Vec<_> = calls[before..].iter().collect();
    let ok = ours.len() == 1
        && ours[0].uuid == whole.uuid
        && ours[0].status == 204
        && status(whole).await? == Some(DeletionStatus::Deleted)
        && status(damaged).await? == Some(DeletionStatus::Refused);
    owned.shutdown().await;
    Ok(ok)
}
