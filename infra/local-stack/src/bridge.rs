//! Local stand-in for Lambda's SQS event source mapping.
//!
//! Neither moto nor `cargo lambda watch` delivers SQS messages to functions, so for every
//! function with an `SQS` event in the template the bridge runs [`Mapping::concurrency`] pollers,
//! each of which, one batch at a time:
//!
//! 1. long-polls the queue (`ReceiveMessage`, 1 s wait, up to `min(BatchSize, 10)` messages,
//!    all system and message attributes). The receive sets no `VisibilityTimeout`, so, as with
//!    Lambda, the batch stays invisible for the queue's own `VisibilityTimeout` (the template's,
//!    minutes) while the invocation runs: that is the lease, and a slow invocation is not
//!    redelivered to another poller mid-run;
//! 2. builds the standard SQS Lambda event ([`sqs_event`]) and POSTs it to
//!    `<invoke_base>/2015-03-31/functions/<binary>/invocations`;
//! 3. settles the batch with [`settle`]: processed messages are deleted; failed ones are either
//!    left alone or made visible again after the *retry delay* ([`retry_or_leave`]).
//!
//! # Whose timeout brings a failed message back
//!
//! Lambda does nothing to a failed message: it comes back when its visibility timeout ends, which
//! is the queue's `VisibilityTimeout` after the receive, unless the function changed it with
//! `ChangeMessageVisibility` (`Outcome::RetryAfter` in `shared::batch`); then the function's
//! timeout governs. The bridge keeps the second rule exactly and shortens the first:
//!
//! - **the function changed it: left alone.** The message comes back exactly when the function
//!   asked. The bridge knows which messages those are because the functions reach SQS through
//!   [`SqsProxy`](crate::sqs_proxy::SqsProxy), which notes the receipt handle of every visibility
//!   change SQS accepted ([`BridgeSettings::changes`]). A receipt handle belongs to one receive,
//!   so a note is about this delivery and no other.
//! - **otherwise: the retry delay.** A message listed in `batchItemFailures`, or in a batch whose
//!   invocation failed (error status, timeout, connection dropped, function process killed), is
//!   made visible after [`BridgeSettings::retry_delay`] (2 s by default) rather than after the
//!   queue's timeout, so that local runs and tests see retries and dead-lettering quickly. With
//!   no retry delay (`None`) it is left alone too and comes back when the queue's visibility
//!   timeout ends, exactly as on Lambda; give the queue a short `VisibilityTimeout` then.
//!
//! Either way the queue's `RedrivePolicy` applies: moto moves a message to its DLQ once it has
//! been received `maxReceiveCount` times. A batch the bridge never settles (it was stopped
//! mid-invocation, or its process died) keeps the receive's timeout: its messages come back after
//! the queue's `VisibilityTimeout`, as on AWS.
//!
//! Not chosen: receiving with a scaled-down `VisibilityTimeout` and leaving every failure alone is
//! fast and never overrides a function, but makes the lease shorter than Lambda's (a slow
//! invocation would be delivered a second time mid-run); extending it with heartbeats during the
//! run would override a change the function makes just before it answers.
//!
//! # Other differences from AWS
//!
//! - [`Mapping::concurrency`] pollers per mapping, each with one invocation at a time; the local
//!   stack takes `ScalingConfig.MaximumConcurrency`, capped by
//!   [`crate::StackOptions::max_concurrency`], and 1 without it, where Lambda scales out;
//! - `FilterCriteria` and `MaximumBatchingWindowInSeconds` are ignored;
//! - a function that reaches SQS without the proxy (empty [`BridgeSettings::changes`]) has its
//!   visibility changes overridden by the retry delay.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName,
};
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::sqs_proxy::VisibilityChanges;

/// How long the bridge waits for one invocation: more than any function's `Timeout` (Lambda's
/// maximum is 15 minutes), after which the local stack has answered it with a timeout error.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// One SQS event source mapping: which queue feeds which function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Function name in the invoke API (the cargo binary).
    pub function: String,
    /// Queue URL to poll.
    pub queue_url: String,
    /// Queue ARN, sent as `eventSourceARN`.
    pub queue_arn: String,
    /// `BatchSize` from the template (at most 10 messages are received per call).
    pub batch_size: u32,
    /// Whether the function reports partial batch failures (`ReportBatchItemFailures`).
    pub report_batch_item_failures: bool,
    /// Pollers for this mapping, each running one invocation at a time (at least 1).
    pub concurrency: u32,
}

/// A received message, as far as settling it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `messageId`, which a function names in `batchItemFailures[].itemIdentifier`.
    pub message_id: String,
    /// Receipt handle for `DeleteMessage` / `ChangeMessageVisibility`.
    pub receipt_handle: String,
}

/// What came back from invoking the function.
#[derive(Debug, Clone, Copy)]
pub enum InvokeOutcome<'a> {
    /// The invoke API answered: 200 with the function's result, or an error status (a handler
    /// error is 500 with `errorType`/`errorMessage` in `cargo lambda watch`).
    Answered {
        /// HTTP status.
        status: u16,
        /// Response body.
        body: &'a [u8],
    },
    /// No answer (connection refused, timeout, ...).
    Unreachable(&'a str),
}

/// The decision for one delivered batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Messages that were processed: delete them.
    pub delete: Vec<Receipt>,
    /// Messages that failed: they come back after the retry delay, or when the function said
    /// ([`retry_or_leave`]).
    pub retry: Vec<Receipt>,
    /// Set when the whole batch failed, with the reason.
    pub batch_failure: Option<String>,
}

fn whole_batch_failed(batch: &[Receipt], reason: String) -> Settlement {
    Settlement {
        delete: Vec::new(),
        retry: batch.to_vec(),
        batch_failure: Some(reason),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Decides which messages of a batch to delete and which to retry, following Lambda's rules
/// for SQS event sources:
///
/// - no answer or a non-200 status (function error or timeout): the whole batch failed;
/// - 200 without `ReportBatchItemFailures`: the whole batch succeeded, whatever the body;
/// - 200 with `ReportBatchItemFailures`: an empty or `null` body, a missing, `null` or empty
///   `batchItemFailures` means success; each `itemIdentifier` listed failed. A body that is
///   not a JSON object, or an `itemIdentifier` that is missing, empty or not a message id of
///   the batch, fails the whole batch.
pub fn settle(
    batch: &[Receipt],
    outcome: InvokeOutcome<'_>,
    report_batch_item_failures: bool,
) -> Settlement {
    let body = match outcome {
        InvokeOutcome::Unreachable(err) => {
            return whole_batch_failed(batch, format!("invoke failed: {err}"));
        }
        InvokeOutcome::Answered { status, body } if status != 200 => {
            return whole_batch_failed(
                batch,
                format!("function error (HTTP {status}): {}", excerpt(body)),
            );
        }
        InvokeOutcome::Answered { body, .. } => body,
    };
    let all_ok = || Settlement {
        delete: batch.to_vec(),
        ..Settlement::default()
    };
    if !report_batch_item_failures || body.iter().all(u8::is_ascii_whitespace) {
        return all_ok();
    }
    let response: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return whole_batch_failed(
                batch,
                format!("invalid JSON response ({e}): {}", excerpt(body)),
            );
        }
    };
    let failures = match &response {
        Value::Null => return all_ok(),
        Value::Object(obj) => match obj.get("batchItemFailures") {
            None | Some(Value::Null) => return all_ok(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return whole_batch_failed(
                    batch,
                    format!("batchItemFailures is not a list: {other}"),
                );
            }
        },
        other => {
            return whole_batch_failed(
                batch,
                format!(
                    "response is not a batch response: {}",
                    excerpt(other.to_string().as_bytes())
                ),
            );
        }
    };
    let ids: BTreeSet<&str> = batch.iter().map(|r| r.message_id.as_str()).collect();
    let mut failed = BTreeSet::new();
    for item in failures {
        match item.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if ids.contains(id) => {
                failed.insert(id.to_string());
            }
            _ => {
                return whole_batch_failed(
                    batch,
                    format!("invalid itemIdentifier in batchItemFailures: {item}"),
                );
            }
        }
    }
    let (retry, delete) = batch
        .iter()
        .cloned()
        .partition(|r| failed.contains(&r.message_id));
    Settlement {
        delete,
        retry,
        batch_failure: None,
    }
}

/// Splits a settlement's failed messages into those the bridge makes visible again after the
/// retry delay (first) and those whose visibility the function changed, which are left alone
/// (second). Forgets the notes about the whole batch, deleted messages included.
pub fn retry_or_leave(s: &Settlement, changes: &VisibilityChanges) -> (Vec<Receipt>, Vec<Receipt>) {
    for r in &s.delete {
        changes.take(&r.receipt_handle);
    }
    s.retry
        .iter()
        .cloned()
        .partition(|r| !changes.take(&r.receipt_handle))
}

/// Builds the event Lambda sends for a batch of SQS messages (`{"Records": [...]}`), with
/// `messageId`, `receiptHandle`, `body`, `attributes` (e.g. `ApproximateReceiveCount`,
/// `SentTimestamp`), `messageAttributes`, `md5OfBody`, `eventSource` (`aws:sqs`),
/// `eventSourceARN` and `awsRegion`.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Value {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: BTreeMap<String, String> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: BTreeMap<String, Value> = m
                .message_attributes()
                .map(|attrs| {
                    attrs
                        .iter()
                        .map(|(name, v)| {
                            let attr = json!({
                                "stringValue": v.string_value(),
                                "binaryValue": v.binary_value().map(|b| b64(b.as_ref())),
                                "stringListValues": v.string_list_values(),
                                "binaryListValues": v
                                    .binary_list_values()
                                    .iter()
                                    .map(|b| b64(b.as_ref()))
                                    .collect::<Vec<_>>(),
                                "dataType": v.data_type(),
                            });
                            (name.clone(), attr)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut record = json!({
                "messageId": m.message_id().unwrap_or_default(),
                "receiptHandle": m.receipt_handle().unwrap_or_default(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            });
            if let Some(md5) = m.md5_of_message_attributes() {
                record["md5OfMessageAttributes"] = Value::from(md5);
            }
            record
        })
        .collect();
    json!({ "Records": records })
}

/// What every poller needs besides its [`Mapping`].
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    /// `http://127.0.0.1:<port>` of `cargo lambda watch`.
    pub invoke_base: String,
    /// How soon a failed message becomes visible again, unless the function changed its
    /// visibility; `None`: when the queue's visibility timeout ends (Lambda's behaviour).
    pub retry_delay: Option<Duration>,
    /// `awsRegion` in the records.
    pub region: String,
    /// The visibility changes the functions made, noted by the
    /// [`SqsProxy`](crate::sqs_proxy::SqsProxy) they reach SQS through (empty without one).
    pub changes: VisibilityChanges,
}

/// The running pollers. Stop them with [`Bridge::stop`].
#[derive(Debug)]
pub struct Bridge {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Bridge {
    /// Starts [`Mapping::concurrency`] pollers per mapping.
    pub fn start(
        sqs: aws_sdk_sqs::Client,
        http: reqwest::Client,
        mappings: Vec<Mapping>,
        settings: BridgeSettings,
    ) -> Bridge {
        let (stop, stop_rx) = watch::channel(false);
        let tasks = mappings
            .into_iter()
            .flat_map(|m| {
                let pollers = m.concurrency.max(1) as usize;
                std::iter::repeat_n(m, pollers)
            })
            .map(|m| {
                tokio::spawn(poll_loop(
                    sqs.clone(),
                    http.clone(),
                    m,
                    settings.clone(),
                    stop_rx.clone(),
                ))
            })
            .collect();
        Bridge { stop, tasks }
    }

    /// Asks every poller to stop and waits for them (an invocation in flight is abandoned; its
    /// messages become visible again after the queue's visibility timeout).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// Waits until `stop` says so (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn poll_loop(
    sqs: aws_sdk_sqs::Client,
    http: reqwest::Client,
    m: Mapping,
    settings: BridgeSettings,
    mut stop: watch::Receiver<bool>,
) {
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        settings.invoke_base, m.function
    );
    let max = m.batch_size.clamp(1, 10) as i32;
    loop {
        if *stop.borrow() {
            break;
        }
        let receive = sqs
            .receive_message()
            .queue_url(&m.queue_url)
            .max_number_of_messages(max)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        let received = tokio::select! {
            r = receive => r,
            _ = stopped(&mut stop) => break,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                warn!(function = %m.function, queue = %m.queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "ReceiveMessage failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stopped(&mut stop) => break,
                }
            }
        };
        if messages.is_empty() {
            continue;
        }
        let batch: Vec<Receipt> = messages
            .iter()
            .map(|msg| Receipt {
                message_id: msg.message_id().unwrap_or_default().to_string(),
                receipt_handle: msg.receipt_handle().unwrap_or_default().to_string(),
            })
            .collect();
        let event = sqs_event(&messages, &m.queue_arn, &settings.region);
        debug!(function = %m.function, queue = %m.queue_url, messages = batch.len(), "delivering SQS batch");

        let invoke = async {
            match http.post(&url).json(&event).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    match resp.bytes().await {
                        Ok(body) => Ok((status, body.to_vec())),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            }
        };
        let result = tokio::select! {
            r = invoke => r,
            _ = stopped(&mut stop) => break,
        };
        let outcome = match &result {
            Ok((status, body)) => InvokeOutcome::Answered {
                status: *status,
                body,
            },
            Err(e) => InvokeOutcome::Unreachable(e),
        };
        let s = settle(&batch, outcome, m.report_batch_item_failures);
        if let Some(reason) = &s.batch_failure {
            warn!(function = %m.function, queue = %m.queue_url, messages = batch.len(), %reason, "batch failed; messages will be retried");
        } else if !s.retry.is_empty() {
            let ids: Vec<&str> = s.retry.iter().map(|r| r.message_id.as_str()).collect();
            warn!(function = %m.function, queue = %m.queue_url, failed = ?ids, "function reported failed messages; they will be retried");
        }
        let (retry, left) = retry_or_leave(&s, &settings.changes);
        if !left.is_empty() {
            let ids: Vec<&str> = left.iter().map(|r| r.message_id.as_str()).collect();
            debug!(function = %m.function, queue = %m.queue_url, messages = ?ids, "the function changed their visibility; left alone");
        }
        debug!(function = %m.function, deleted = s.delete.len(), retried = retry.len(), left = left.len(), "batch settled");
        delete_all(&sqs, &m, &s.delete).await;
        match settings.retry_delay {
            Some(delay) => retry_all(&sqs, &m, &retry, delay).await,
            None if !retry.is_empty() => {
                debug!(function = %m.function, messages = retry.len(), "failed messages come back after the queue's visibility timeout");
            }
            None => {}
        }
    }
}

async fn delete_all(sqs: &aws_sdk_sqs::Client, m: &Mapping, receipts: &[Receipt]) {
    for chunk in receipts.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(&r.receipt_handle)
                    .build()
                    .ok()
            })
            .collect();
        match sqs
            .delete_message_batch()
            .queue_url(&m.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) if !out.failed().is_empty() => {
                warn!(queue = %m.queue_url, failed = ?out.failed(), "DeleteMessageBatch partly failed");
            }
            Ok(_) => {}
            Err(e) => {
                warn!(queue = %m.queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "DeleteMessageBatch failed");
            }
        }
    }
}

async fn retry_all(sqs: &aws_sdk_sqs::Client, m: &Mapping, receipts: &[Receipt], delay: Duration) {
    // Round up, and stay within SQS's limit of 12 hours.
    let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
    let secs = secs.min(43_200) as i32;
    for chunk in receipts.chunks(10) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(&r.receipt_handle)
                    .visibility_timeout(secs)
                    .build()
                    .ok()
            })
            .collect();
        match sqs
            .change_message_visibility_batch()
            .queue_url(&m.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) if !out.failed().is_empty() => {
                warn!(queue = %m.queue_url, failed = ?out.failed(), "ChangeMessageVisibilityBatch partly failed");
            }
            Ok(_) => {}
            Err(e) => {
                warn!(queue = %m.queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "ChangeMessageVisibilityBatch failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::primitives::Blob;
    use aws_sdk_sqs::types::MessageAttributeValue;

    fn batch(ids: &[&str]) -> Vec<Receipt> {
        ids.iter()
            .map(|id| Receipt {
                message_id: (*id).into(),
                receipt_handle: format!("rh-{id}"),
            })
            .collect()
    }

    fn ok(body: &str) -> InvokeOutcome<'_> {
        InvokeOutcome::Answered {
            status: 200,
            body: body.as_bytes(),
        }
    }

    fn ids(rs: &[Receipt]) -> Vec<&str> {
        rs.iter().map(|r| r.message_id.as_str()).collect()
    }

    #[test]
    fn success_deletes_everything() {
        let b = batch(&["a", "b", "c"]);
        for body in [
            "",
            "null",
            "{}",
            r#"{"batchItemFailures":[]}"#,
            r#"{"batchItemFailures":null}"#,
        ] {
            let s = settle(&b, ok(body), true);
            assert_eq!(ids(&s.delete), ["a", "b", "c"], "body {body:?}");
            assert!(
                s.retry.is_empty() && s.batch_failure.is_none(),
                "body {body:?}"
            );
        }
    }

    #[test]
    fn partial_failures_are_retried_and_the_rest_deleted() {
        let b = batch(&["a", "b", "c"]);
        let s = settle(
            &b,
            ok(
                r#"{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"c"},{"itemIdentifier":"b"}]}"#,
            ),
            true,
        );
        assert_eq!(ids(&s.delete), ["a"]);
        assert_eq!(ids(&s.retry), ["b", "c"]);
        assert_eq!(s.retry[0].receipt_handle, "rh-b");
        assert_eq!(s.batch_failure, None);
    }

    #[test]
    fn function_errors_fail_the_whole_batch() {
        let b = batch(&["a", "b"]);
        let s = settle(
            &b,
            InvokeOutcome::Answered {
                status: 500,
                body: br#"{"errorType":"Boom","errorMessage":"no"}"#,
            },
            true,
        );
        assert!(s.delete.is_empty());
        assert_eq!(ids(&s.retry), ["a", "b"]);
        assert!(s.batch_failure.unwrap().contains("HTTP 500"));

        let s = settle(&b, InvokeOutcome::Unreachable("connection refused"), false);
        assert_eq!(ids(&s.retry), ["a", "b"]);
        assert!(s.batch_failure.unwrap().contains("connection refused"));
    }

    #[test]
    fn malformed_batch_responses_fail_the_whole_batch() {
        let b = batch(&["a", "b"]);
        for body in [
            "not json",
            r#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            r#"{"batchItemFailures":[{"wrongKey":"a"}]}"#,
            r#"{"batchItemFailures":"a"}"#,
            r#""ok""#,
        ] {
            let s = settle(&b, ok(body), true);
            assert!(s.delete.is_empty(), "body {body}");
            assert_eq!(ids(&s.retry), ["a", "b"], "body {body}");
            assert!(s.batch_failure.is_some(), "body {body}");
        }
    }

    #[test]
    fn without_report_batch_item_failures_the_body_is_ignored() {
        let b = batch(&["a", "b"]);
        let s = settle(
            &b,
            ok(r#"{"batchItemFailures":[{"itemIdentifier":"a"}]}"#),
            false,
        );
        assert_eq!(ids(&s.delete), ["a", "b"]);
        assert!(s.retry.is_empty());
        let s = settle(&b, ok("garbage"), false);
        assert_eq!(ids(&s.delete), ["a", "b"]);
    }

    #[test]
    fn failures_whose_visibility_the_function_changed_are_left_alone() {
        let b = batch(&["a", "b", "c", "d"]);
        let s = settle(
            &b,
            ok(r#"{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"c"}]}"#),
            true,
        );
        let changes = VisibilityChanges::default();
        changes.record("rh-c"); // the function delayed c
        changes.record("rh-a"); // and changed a's visibility, then reported it done
        changes.record("rh-elsewhere");
        let (retry, left) = retry_or_leave(&s, &changes);
        assert_eq!(ids(&retry), ["b"]);
        assert_eq!(ids(&left), ["c"]);
        // The batch's notes are forgotten; others stay.
        assert_eq!(changes.len(), 1);
        assert!(changes.take("rh-elsewhere"));

        // A crashed invocation: the whole batch failed, and the function's change still stands.
        let s = settle(&b, InvokeOutcome::Unreachable("connection reset"), true);
        changes.record("rh-d");
        let (retry, left) = retry_or_leave(&s, &changes);
        assert_eq!(ids(&retry), ["a", "b", "c"]);
        assert_eq!(ids(&left), ["d"]);
        assert!(changes.is_empty());
    }

    #[test]
    fn event_matches_the_lambda_sqs_event_shape() {
        let msg = Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body(r#"{"hello":"world"}"#)
            .md5_of_body("49dfdd54b01cbcd2d2ab5e9e5ee6b9b9")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000")
            .message_attributes(
                "vendor",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("zoom")
                    .build()
                    .unwrap(),
            )
            .message_attributes(
                "raw",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(Blob::new(b"\x00\x01".to_vec()))
                    .build()
                    .unwrap(),
            )
            .build();
        let arn = "arn:aws:sqs:us-east-1:123456789012:q";
        let ev = sqs_event(&[msg], arn, "us-east-1");
        let rec = &ev["Records"][0];
        assert_eq!(rec["messageId"], "m-1");
        assert_eq!(rec["receiptHandle"], "rh-1");
        assert_eq!(rec["eventSource"], "aws:sqs");
        assert_eq!(rec["eventSourceARN"], arn);
        assert_eq!(rec["awsRegion"], "us-east-1");
        assert_eq!(rec["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(rec["attributes"]["SentTimestamp"], "1700000000000");
        assert_eq!(rec["messageAttributes"]["vendor"]["stringValue"], "zoom");
        assert_eq!(rec["messageAttributes"]["vendor"]["dataType"], "String");
        assert_eq!(rec["messageAttributes"]["raw"]["binaryValue"], "AAE=");

        // The functions deserialize it with aws_lambda_events; so must this event.
        let typed: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(ev).unwrap();
        let r = &typed.records[0];
        assert_eq!(r.message_id.as_deref(), Some("m-1"));
        assert_eq!(r.body.as_deref(), Some(r#"{"hello":"world"}"#));
        assert_eq!(r.event_source_arn.as_deref(), Some(arn));
        assert_eq!(r.attributes["ApproximateReceiveCount"], "2");
        assert_eq!(
            r.message_attributes["vendor"].string_value.as_deref(),
            Some("zoom")
        );
    }
}
