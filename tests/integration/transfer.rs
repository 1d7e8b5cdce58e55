//! The streaming copy into S3 multipart uploads: verified bytes, abort on failure, nothing left behind.

use archiver_tests::{aws, unique};
use shared::aws::s3::S3Sink;
use shared::error::Class;
use shared::ports::ObjectTarget;
use shared::transfer::{TransferError, copy_to_sink, http_client};
use std::time::Duration;
use zoom_sim::{Fault, RecordingSpec, ZoomSim};

const MIB: u64 = 1024 * 1024;

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let conf = aws().await.unwrap();
    let s3 = shared::aws::s3_client(&conf);
    let name = unique("media");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    (s3, name)
}

fn allow_sim(h: &str) -> bool {
    h == "127.0.0.1" || h == "localhost"
}

fn target(key: &str) -> ObjectTarget {
    ObjectTarget {
        key: key.into(),
        content_type: "video/mp4".into(),
        metadata: vec![
            ("tenant".into(), "uni".into()),
            ("file-id".into(), "f1".into()),
        ],
    }
}

async fn leftovers(s3: &aws_sdk_s3::Client, bucket: &str) -> (usize, usize) {
    let objects = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents
        .unwrap_or_default()
        .len();
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .uploads
        .unwrap_or_default()
        .len();
    (objects, uploads)
}

#[tokio::test]
async fn a_multi_part_file_lands_byte_exact_with_its_sha256() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("mp"), 8 * MIB));
    let file = rec
        .media_files()
        .into_iter()
        .max_by_key(|f| f.size)
        .unwrap()
        .clone();
    assert!(file.size > 16 * MIB, "needs at least three 8 MiB parts");
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let client = http_client(allow_sim, Duration::from_secs(30));
    let t = copy_to_sink(
        &client,
        &file.download_url,
        Some(&rec.download_token),
        Some(file.size),
        &allow_sim,
        &sink,
        &target("a/b.mp4"),
    )
    .await
    .unwrap();
    assert_eq!(t.bytes, file.size);
    assert_eq!(t.sha256, file.sha256);
    assert_eq!(t.parts as u64, file.size.div_ceil(8 * MIB));
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("a/b.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length, Some(file.size as i64));
    assert_eq!(
        head.e_tag.as_deref(),
        Some(t.etag.as_str()),
        "the recorded ETag is the object's current one"
    );
    let meta = head.metadata.unwrap_or_default();
    assert_eq!(meta.get("sha256"), Some(&file.sha256));
    assert_eq!(meta.get("tenant").map(String::as_str), Some("uni"));
    let tags = s3
        .get_object_tagging()
        .bucket(&bucket)
        .key("a/b.mp4")
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set
            .iter()
            .any(|t| t.key == "sha256" && t.value == file.sha256)
    );
    let body = s3
        .get_object()
        .bucket(&bucket)
        .key("a/b.mp4")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    assert_eq!(body.into_bytes().len() as u64, file.size);
    let stats = sim.stats(&file.id);
    assert_eq!(
        stats.auth_leaks, 0,
        "the Bearer token must not follow the redirect to the CDN host"
    );
    assert_eq!(stats.redirects, 1);
}

#[tokio::test]
async fn html_200_is_a_permanent_failure_and_stores_nothing() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("html"), MIB));
    let file = rec.media_files()[0].clone();
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let client = http_client(allow_sim, Duration::from_secs(30));
    // A wrong token and a deleted file both get Zoom's HTML page with status 200.
    for (token, fault) in [
        ("not-a-token", None),
        (rec.download_token.as_str(), Some(Fault::Deleted)),
    ] {
        if let Some(f) = fault {
            sim.set_fault(&file.id, f);
        }
        let err = copy_to_sink(
            &client,
            &file.download_url,
            Some(token),
            Some(file.size),
            &allow_sim,
            &sink,
            &target("h.mp4"),
        )
        .await
        .unwrap_err();
        assert_eq!(err, TransferError::HtmlInsteadOfMedia);
        assert_eq!(err.class(), Class::Permanent);
    }
    assert_eq!(leftovers(&s3, &bucket).await, (0, 0));
}

#[tokio::test]
async fn a_dropped_connection_aborts_the_upload_and_is_retryable() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("drop"), 8 * MIB));
    let file = rec
        .media_files()
        .into_iter()
        .max_by_key(|f| f.size)
        .unwrap()
        .clone();
    sim.set_fault(
        &file.id,
        Fault::DropAfter {
            bytes: 9 * MIB,
            times: 1,
        },
    );
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let client = http_client(allow_sim, Duration::from_secs(30));
    let err = copy_to_sink(
        &client,
        &file.download_url,
        Some(&rec.download_token),
        Some(file.size),
        &allow_sim,
        &sink,
        &target("d.mp4"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.class(), Class::Retryable, "{err}");
    assert_eq!(
        leftovers(&s3, &bucket).await,
        (0, 0),
        "the multipart upload must be aborted"
    );
    // The retry succeeds.
    let t = copy_to_sink(
        &client,
        &file.download_url,
        Some(&rec.download_token),
        Some(file.size),
        &allow_sim,
        &sink,
        &target("d.mp4"),
    )
    .await
    .unwrap();
    assert_eq!(t.sha256, file.sha256);
    assert_eq!(leftovers(&s3, &bucket).await, (1, 0));
}

#[tokio::test]
async fn rate_limits_are_retryable_and_foreign_hosts_refused() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("rl"), MIB));
    let file = rec.media_files()[0].clone();
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    sim.set_fault(
        &file.id,
        Fault::RateLimited {
            times: 1,
            retry_after_secs: 1,
        },
    );
    let client = http_client(allow_sim, Duration::from_secs(30));
    let err = copy_to_sink(
        &client,
        &file.download_url,
        Some(&rec.download_token),
        Some(file.size),
        &allow_sim,
        &sink,
        &target("r"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        TransferError::Status {
            status: 429,
            retry_after_secs: Some(1)
        }
    );
    assert_eq!(err.class(), Class::Retryable);
    // Only the API host is allowed: the redirect to the CDN host is not followed.
    let only_api = |h: &str| h == "127.0.0.1";
    let strict = http_client(only_api, Duration::from_secs(30));
    let err = copy_to_sink(
        &strict,
        &file.download_url,
        Some(&rec.download_token),
        Some(file.size),
        &only_api,
        &sink,
        &target("r"),
    )
    .await
    .unwrap_err();
    assert_eq!(err, TransferError::ForbiddenHost("localhost".into()));
    let err = copy_to_sink(
        &strict,
        "https://evil.example.com/x",
        None,
        None,
        &only_api,
        &sink,
        &target("r"),
    )
    .await
    .unwrap_err();
    assert_eq!(err, TransferError::ForbiddenHost("evil.example.com".into()));
    assert_eq!(leftovers(&s3, &bucket).await, (0, 0));
}
