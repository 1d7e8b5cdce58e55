//! Provisioning and the SQS bridge against a real AWS-compatible endpoint (moto).
//!
//! Runs only when `AWS_ENDPOINT_URL` is set, e.g.:
//!
//! ```sh
//! .venv-aws/bin/moto_server -H 127.0.0.1 -p 5000 &
//! AWS_ENDPOINT_URL=http://127.0.0.1:5000 cargo test -p local-stack
//! ```
//!
//! Each test uses its own stack name, so a shared moto server is fine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use local_stack::bridge::{Bridge, BridgeSettings, Mapping};
use local_stack::provision::{Clients, provision};
use local_stack::template::{Plan, Template};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

mod common;
use common::{TEMPLATE, endpoint, unique_stack};

async fn clients(endpoint: &str) -> Clients {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    Clients::new(&conf)
}

async fn provisioned(clients: &Clients, stack: &str) -> Plan {
    let t = Template::parse(TEMPLATE).unwrap();
    let mut plan = t.plan(stack, "us-east-1").unwrap();
    provision(clients, &mut plan).await.unwrap();
    plan
}

#[tokio::test]
async fn provisioning_twice_creates_the_template_resources() {
    let Some(endpoint) = endpoint() else { return };
    let c = clients(&endpoint).await;
    let stack = unique_stack("it-prov");

    let first = provisioned(&c, &stack).await;
    let second = provisioned(&c, &stack).await;
    assert_eq!(
        first.context.refs(),
        second.context.refs(),
        "same names and URLs twice"
    );

    // Tables, with the catalog's GSI.
    let catalog = c
        .dynamodb
        .describe_table()
        .table_name(format!("{stack}-catalog"))
        .send()
        .await
        .unwrap();
    let table = catalog.table().unwrap();
    let keys: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("by-state"));
    assert_eq!(
        gsi.key_schema()
            .iter()
            .map(|k| k.attribute_name())
            .collect::<Vec<_>>(),
        ["gsi1pk", "gsi1sk"]
    );
    c.dynamodb
        .describe_table()
        .table_name(format!("{stack}-config"))
        .send()
        .await
        .unwrap();

    // Queues with their redrive policies.
    for (main, dlq, max, visibility) in [
        ("events", "events-dlq", 5, "360"),
        ("owner", "owner-dlq", 5, "360"),
        ("download", "download-dlq", 8, "5400"),
        ("archived", "archived-dlq", 5, "180"),
    ] {
        let url = c
            .sqs
            .get_queue_url()
            .queue_name(format!("{stack}-{main}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let attrs = c
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        assert_eq!(
            attrs[&QueueAttributeName::VisibilityTimeout],
            visibility,
            "{main}"
        );
        let redrive: Value =
            serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(
            redrive["deadLetterTargetArn"],
            format!("arn:aws:sqs:us-east-1:123456789012:{stack}-{dlq}"),
            "{main}"
        );
        assert_eq!(redrive["maxReceiveCount"].as_u64(), Some(max), "{main}");

        let dlq_url = c
            .sqs
            .get_queue_url()
            .queue_name(format!("{stack}-{dlq}"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dlq_attrs = c
            .sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::MessageRetentionPeriod)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        assert_eq!(
            dlq_attrs[&QueueAttributeName::MessageRetentionPeriod],
            "1209600"
        );
    }

    // The bucket.
    c.s3.head_bucket()
        .bucket(format!("{stack}-mediabucket"))
        .send()
        .await
        .unwrap();
}

/// A stand-in for `cargo lambda watch`'s invoke API: answers every POST with a batch
/// response that fails the records whose body contains "fail", and counts deliveries.
async fn fake_function(
    listener: TcpListener,
    seen: Arc<Mutex<HashMap<String, u32>>>,
) -> std::io::Result<()> {
    loop {
        let (mut sock, _) = listener.accept().await?;
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let body = loop {
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break buf[end + 4..end + 4 + len].to_vec();
                    }
                }
            };
            let event: Value = serde_json::from_slice(&body).ok()?;
            let mut failures = Vec::new();
            for r in event["Records"].as_array()? {
                assert_eq!(r["eventSource"], "aws:sqs");
                assert!(r["attributes"]["ApproximateReceiveCount"].is_string());
                let text = r["body"].as_str()?.to_string();
                *seen.lock().unwrap().entry(text.clone()).or_default() += 1;
                if text.contains("fail") {
                    failures.push(serde_json::json!({"itemIdentifier": r["messageId"]}));
                }
            }
            let out = serde_json::json!({ "batchItemFailures": failures }).to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{out}",
                out.len()
            );
            sock.write_all(resp.as_bytes()).await.ok()?;
            Some(())
        });
    }
}

async fn queue_depth(c: &Clients, url: &str) -> u64 {
    let attrs = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|k| attrs.get(k)?.parse::<u64>().ok())
    .sum()
}

#[tokio::test]
async fn bridge_deletes_successes_and_dead_letters_repeated_failures() {
    let Some(endpoint) = endpoint() else { return };
    let c = clients(&endpoint).await;
    let stack = unique_stack("it-bridge");
    let plan = provisioned(&c, &stack).await;
    let queue_url = plan.context.get_ref("EventsQueue").unwrap().to_string();
    let dlq_url = plan.context.get_ref("EventsDLQ").unwrap().to_string();
    let queue_arn = plan
        .context
        .get_attr("EventsQueue", "Arn")
        .unwrap()
        .to_string();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let server = tokio::spawn(fake_function(listener, seen.clone()));

    for body in ["ok-1", "ok-2", "please-fail"] {
        c.sqs
            .send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let bridge = Bridge::start(
        c.sqs.clone(),
        reqwest::Client::builder().no_proxy().build().unwrap(),
        vec![Mapping {
            function: "enqueue".into(),
            queue_url: queue_url.clone(),
            queue_arn,
            batch_size: 10,
            report_batch_item_failures: true,
            concurrency: 1,
        }],
        BridgeSettings {
            invoke_base: format!("http://127.0.0.1:{port}"),
            retry_delay: Some(Duration::ZERO),
            region: "us-east-1".into(),
            changes: Default::default(),
        },
    );

    // maxReceiveCount is 5: the failing message is delivered 5 times, then moved to the DLQ.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let main = queue_depth(&c, &queue_url).await;
        let dead = queue_depth(&c, &dlq_url).await;
        if main == 0 && dead == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queue {main} / dlq {dead}, deliveries {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bridge.stop().await;
    server.abort();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen["ok-1"], 1);
    assert_eq!(seen["ok-2"], 1);
    assert_eq!(seen["please-fail"], 5);
    let dead = c
        .sqs
        .receive_message()
        .queue_url(&dlq_url)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dead[0].body(), Some("please-fail"));
}

/// The media bucket's retention settings as the template resolves them for some parameter values, read
/// back from the endpoint.
async fn bucket_settings(
    c: &Clients,
    params: &[(&str, &str)],
) -> (Option<String>, Vec<String>, Option<(String, i32)>) {
    let mut t = Template::parse(TEMPLATE).unwrap();
    for (k, v) in params {
        t.set_parameter(k, v).unwrap();
    }
    let stack = unique_stack("it-ret");
    let mut plan = t.plan(&stack, "us-east-1").unwrap();
    provision(c, &mut plan).await.unwrap();
    let bucket = plan.context.get_ref("MediaBucket").unwrap().to_owned();
    let versioning =
        c.s3.get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .status()
            .map(|s| s.as_str().to_owned());
    let rules =
        c.s3.get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .rules()
            .iter()
            .map(|r| {
                let mut d = r.id().unwrap_or_default().to_owned();
                if let Some(a) = r.abort_incomplete_multipart_upload() {
                    d += &format!(" abort {}", a.days_after_initiation().unwrap_or_default());
                }
                for t in r.transitions() {
                    d += &format!(
                        " {} after {}",
                        t.storage_class().map(|s| s.as_str()).unwrap_or("-"),
                        t.days().unwrap_or_default()
                    );
                }
                if let Some(e) = r.expiration() {
                    d += &format!(" expire {}", e.days().unwrap_or_default());
                }
                if let Some(n) = r.noncurrent_version_expiration() {
                    d += &format!(" noncurrent {}", n.noncurrent_days().unwrap_or_default());
                }
                d
            })
            .collect();
    let lock =
        c.s3.get_object_lock_configuration()
            .bucket(&bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.object_lock_configuration)
            .and_then(|l| l.rule)
            .and_then(|r| r.default_retention)
            .map(|d| {
                (
                    d.mode().map(|m| m.as_str().to_owned()).unwrap_or_default(),
                    d.days().unwrap_or_default(),
                )
            });
    (versioning, rules, lock)
}

#[tokio::test]
async fn the_media_buckets_retention_follows_the_template_parameters() {
    let Some(endpoint) = endpoint() else { return };
    let c = clients(&endpoint).await;
    // Defaults: versioning on, old versions kept 30 days, nothing transitioned or expired.
    let (v, rules, lock) = bucket_settings(&c, &[]).await;
    assert_eq!(v.as_deref(), Some("Enabled"));
    assert_eq!(
        rules,
        [
            "abort-incomplete-multipart-uploads abort 7",
            "expire-noncurrent-versions noncurrent 30"
        ]
    );
    assert_eq!(lock, None);
    let (v, rules, _) = bucket_settings(
        &c,
        &[
            ("ArchiveTransitionDays", "30"),
            ("ArchiveStorageClass", "DEEP_ARCHIVE"),
            ("ArchiveExpirationDays", "2555"),
            ("NoncurrentVersionDays", "14"),
        ],
    )
    .await;
    assert_eq!(v.as_deref(), Some("Enabled"));
    assert_eq!(
        rules,
        [
            "abort-incomplete-multipart-uploads abort 7",
            "transition-archive DEEP_ARCHIVE after 30",
            "expire-archive expire 2555",
            "expire-noncurrent-versions noncurrent 14"
        ]
    );
    let (v, rules, _) = bucket_settings(&c, &[("ArchiveProtection", "none")]).await;
    assert_eq!(v, None, "no versioning");
    assert_eq!(rules, ["abort-incomplete-multipart-uploads abort 7"]);
    let (v, _, lock) = bucket_settings(
        &c,
        &[
            ("ArchiveProtection", "object-lock"),
            ("ObjectLockDays", "90"),
        ],
    )
    .await;
    assert_eq!(v.as_deref(), Some("Enabled"));
    assert_eq!(lock, Some(("GOVERNANCE".to_owned(), 90)));
}
