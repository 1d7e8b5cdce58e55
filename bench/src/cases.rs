//! The cases that run inside a child copy of the bench (`archiver-bench __case …`). Each prints one JSON line
//! on stdout for the parent to check. The parent passes the S3 endpoint and credentials in the environment
//! (`AWS_ENDPOINT_URL`, …), which is how the functions get theirs.

use crate::content::Content;
use anyhow::{Context, bail, ensure};
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InProcess {
    /// GET the source with our reqwest client and discard the bytes.
    Source,
    /// SHA-256 of the content in memory.
    Sha256,
    /// Multipart upload from memory: unsigned payload, no checksum.
    SinkSdk,
    /// Multipart upload from memory with the SDK's defaults (signed payload, CRC32), as `S3Sink` sends parts.
    SinkSdkSigned,
    /// Our pipeline.
    Ours,
}

#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    #[arg(value_enum)]
    pub case: InProcess,
    #[arg(long)]
    pub size: u64,
    #[arg(long, default_value = "")]
    pub url: String,
    #[arg(long, default_value = "")]
    pub bucket: String,
    #[arg(long, default_value = "")]
    pub key: String,
    #[arg(long, default_value_t = 2)]
    pub parts: usize,
}

pub fn run(a: CaseArgs) -> anyhow::Result<()> {
    let out = if a.case == InProcess::Sha256 {
        sha256(a.size)?
    } else {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            match a.case {
                InProcess::Source => source(&a).await,
                InProcess::SinkSdk => sink_sdk(&a, false).await,
                InProcess::SinkSdkSigned => sink_sdk(&a, true).await,
                InProcess::Ours => ours(&a).await,
                InProcess::Sha256 => unreachable!(),
            }
        })?
    };
    println!("{out}");
    Ok(())
}

fn sha256(size: u64) -> anyhow::Result<serde_json::Value> {
    let content = Content::new(1 << 20);
    let mut h = Sha256::new();
    for c in content.chunks(0, size) {
        h.update(&c);
    }
    Ok(json!({ "bytes": size, "sha256": hex::encode(h.finalize()) }))
}

async fn source(a: &CaseArgs) -> anyhow::Result<serde_json::Value> {
    let client =
        shared::transfer::http_client(std::sync::Arc::new(|_: &str| true), Duration::from_secs(60));
    let resp = client.get(&a.url).send().await?.error_for_status()?;
    let mut body = resp.bytes_stream();
    let mut n: u64 = 0;
    while let Some(chunk) = body.next().await {
        n += chunk?.len() as u64;
    }
    ensure!(n == a.size, "source sent {n} bytes, expected {}", a.size);
    Ok(json!({ "bytes": n }))
}

async fn s3_client(fast: bool) -> aws_sdk_s3::Client {
    let conf = shared::aws::sdk_config().await;
    if fast {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .build(),
        )
    } else {
        shared::aws::s3_client(&conf)
    }
}

/// The same bytes as the source, from memory, in parts of our part size, `parts` in flight.
async fn sink_sdk(a: &CaseArgs, sdk_defaults: bool) -> anyhow::Result<serde_json::Value> {
    let s3 = s3_client(!sdk_defaults).await;
    let part_size = crate::ours::part_size(a.size);
    let content = Content::new(part_size as usize);
    let up = s3
        .create_multipart_upload()
        .bucket(&a.bucket)
        .key(&a.key)
        .send()
        .await
        .context("CreateMultipartUpload")?;
    let upload_id = up.upload_id.context("no upload id")?;
    let count = a.size.div_ceil(part_size).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    let mut etags: Vec<(i32, String)> = Vec::with_capacity(count as usize);
    for i in 0..count {
        while tasks.len() >= a.parts.max(1) {
            etags.push(tasks.join_next().await.expect("non-empty")??);
        }
        let start = i * part_size;
        let len = part_size.min(a.size - start) as usize;
        let body = content.slice(start, len);
        let number = i as i32 + 1;
        let req = s3
            .upload_part()
            .bucket(&a.bucket)
            .key(&a.key)
            .upload_id(&upload_id)
            .part_number(number)
            .content_length(len as i64)
            .body(ByteStream::from(body));
        tasks.spawn(async move {
            let out = if sdk_defaults {
                req.send().await
            } else {
                req.customize().disable_payload_signing().send().await
            };
            let etag = out
                .with_context(|| format!("UploadPart {number}"))?
                .e_tag
                .context("no ETag")?;
            anyhow::Ok((number, etag))
        });
    }
    while let Some(r) = tasks.join_next().await {
        etags.push(r??);
    }
    etags.sort_by_key(|(n, _)| *n);
    let parts = etags
        .into_iter()
        .map(|(n, e)| CompletedPart::builder().part_number(n).e_tag(e).build())
        .collect();
    s3.complete_multipart_upload()
        .bucket(&a.bucket)
        .key(&a.key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .context("CompleteMultipartUpload")?;
    Ok(json!({ "bytes": a.size, "parts": count, "part_size": part_size }))
}

async fn ours(a: &CaseArgs) -> anyhow::Result<serde_json::Value> {
    let s3 = s3_client(false).await;
    let o = crate::ours::transfer(&a.url, a.size, s3, &a.bucket, &a.key, a.parts).await?;
    if o.bytes != a.size {
        bail!("pipeline reports {} bytes, expected {}", o.bytes, a.size);
    }
    Ok(json!({
        "bytes": o.bytes,
        "sha256": o.sha256,
        "parts": o.parts,
        "part_size": o.part_size,
        "parts_in_flight": o.parts_in_flight,
        "elapsed_s": o.elapsed.as_secs_f64(),
        "record_sha256_s": o.record_sha256.as_secs_f64(),
    }))
}
