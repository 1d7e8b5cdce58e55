//! SQS batch handling shared by the queue consumers: each record is processed on its own, and only the
//! failures that are worth retrying are reported back, so SQS redelivers exactly those. A failure that knows
//! when it can succeed ([`Outcome::RetryAfter`]) also moves its message's visibility to that time, through the
//! narrow [`Visibility`] port.

use crate::error::{Class, Error};
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use std::future::Future;
use std::time::Duration;

/// What a stage knows about the invocation it runs in: the time it started and when Lambda will stop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invocation {
    pub now: DateTime<Utc>,
    /// The invocation's deadline (`None` outside Lambda).
    pub deadline: Option<DateTime<Utc>>,
}

impl Invocation {
    /// Now, with no deadline.
    pub fn now() -> Self {
        Self::at(Utc::now())
    }
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            deadline: None,
        }
    }
    /// From the Lambda context (its deadline is in epoch milliseconds). A deadline that has passed already or
    /// lies more than a day ahead is no deadline at all (local emulators send such values) and is ignored.
    pub fn from_lambda(ctx: &lambda_runtime::Context) -> Self {
        Self::with_deadline_ms(Utc::now(), ctx.deadline as i64)
    }

    fn with_deadline_ms(now: DateTime<Utc>, deadline_ms: i64) -> Self {
        let deadline = DateTime::from_timestamp_millis(deadline_ms)
            .filter(|d| *d > now && *d < now + chrono::Duration::days(1));
        if deadline.is_none() {
            tracing::debug!(
                deadline_ms,
                "the invocation's deadline is not usable; running without one"
            );
        }
        Self { now, deadline }
    }
}

/// The one handler signature of every function: an input and the invocation, to an output. Queue consumers
/// answer `Result<_, Outcome>`; the webhook validator answers an HTTP reply.
#[async_trait]
pub trait Handler: Send + Sync {
    type Input: Send;
    type Output: Send;
    async fn handle(&self, input: Self::Input, at: &Invocation) -> Self::Output;
}

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Logged and dropped: retrying cannot help (the reason is recorded where it matters).
    Dropped(String),
    /// Redeliver after the queue's visibility timeout.
    Retry(String),
    /// Redeliver after this delay rather than the queue's visibility timeout (e.g. a `Retry-After`): reported
    /// as a batch item failure like [`Outcome::Retry`], and the message's visibility is changed to the delay,
    /// rounded up to whole seconds and clamped to SQS's `0..=43200` s ([`visibility_timeout_secs`]). If the
    /// change fails, the message comes back after the queue's visibility timeout instead; it is never lost.
    /// Like every retry, it counts as a receive towards the queue's `maxReceiveCount`.
    RetryAfter(String, Duration),
}

/// SQS's longest visibility timeout: 12 hours.
pub const MAX_VISIBILITY_TIMEOUT_SECS: i32 = 43_200;

/// A delay as an SQS visibility timeout: whole seconds, rounded up (so the message never comes back early),
/// at most [`MAX_VISIBILITY_TIMEOUT_SECS`].
pub fn visibility_timeout_secs(delay: Duration) -> i32 {
    let secs = delay
        .as_secs()
        .saturating_add(u64::from(delay.subsec_nanos() > 0));
    secs.min(MAX_VISIBILITY_TIMEOUT_SECS as u64) as i32
}

impl Outcome {
    pub fn from_class(class: Class, msg: String) -> Self {
        match class {
            Class::Retryable => Outcome::Retry(msg),
            Class::Permanent => Outcome::Dropped(msg),
        }
    }
    /// Retry after `delay` (see [`Outcome::RetryAfter`]).
    pub fn retry_after(reason: impl Into<String>, delay: Duration) -> Self {
        Outcome::RetryAfter(reason.into(), delay)
    }
    /// Retry after `delay` when one is known, else after the queue's visibility timeout.
    pub fn retry_maybe_after(reason: impl Into<String>, delay: Option<Duration>) -> Self {
        match delay {
            Some(d) => Outcome::RetryAfter(reason.into(), d),
            None => Outcome::Retry(reason.into()),
        }
    }
    /// Whether SQS redelivers the message (`Retry` or `RetryAfter`).
    pub fn is_retry(&self) -> bool {
        matches!(self, Outcome::Retry(_) | Outcome::RetryAfter(..))
    }
}

impl From<crate::error::Error> for Outcome {
    fn from(e: crate::error::Error) -> Self {
        match (e.class(), e.retry_after()) {
            (Class::Retryable, Some(wait)) => Outcome::RetryAfter(e.to_string(), wait),
            (class, _) => Outcome::from_class(class, e.to_string()),
        }
    }
}

/// `Done` for a success, else the failure's outcome.
pub fn outcome<T>(r: Result<T, Outcome>) -> Outcome {
    r.map_or_else(|o| o, |_| Outcome::Done)
}

/// A record that must exist; a missing one can never succeed, so the message is dropped.
pub fn require<T>(found: Option<T>, what: impl std::fmt::Display) -> Result<T, Outcome> {
    found.ok_or_else(|| Outcome::Dropped(format!("{what} does not exist")))
}

/// Changes when a received message becomes visible again: the one SQS call [`process_batch`] makes itself,
/// for [`Outcome::RetryAfter`]. The AWS adapter is [`crate::aws::sqs::SqsVisibility`].
#[async_trait]
pub trait Visibility: Send + Sync {
    /// Makes the message received from the queue `queue_arn` (the record's `eventSourceARN`) with
    /// `receipt_handle` visible again `timeout_secs` seconds from now (`0..=43200`). An error must not carry
    /// the receipt handle: it is logged.
    async fn change_visibility(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        timeout_secs: i32,
    ) -> Result<(), Error>;
}

#[async_trait]
impl<V: Visibility + ?Sized> Visibility for &V {
    async fn change_visibility(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        timeout_secs: i32,
    ) -> Result<(), Error> {
        (**self)
            .change_visibility(queue_arn, receipt_handle, timeout_secs)
            .await
    }
}

/// Runs a queue consumer on Lambda: every record's body is parsed as the handler's input and handled;
/// failures worth retrying are reported as batch item failures, and a `RetryAfter`'s delay is set as its
/// message's visibility through `visibility` (in `main.rs`: `&aws.visibility()`).
pub async fn serve<H, T, V>(handler: &H, visibility: &V) -> Result<(), lambda_runtime::Error>
where
    H: Handler<Output = Result<T, Outcome>>,
    H::Input: serde::de::DeserializeOwned,
    V: Visibility,
{
    lambda_runtime::run(lambda_runtime::service_fn(
        move |ev: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            let at = Invocation::from_lambda(&ev.context);
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                process_batch(ev.payload, visibility, |m| async move {
                    match parse_body::<H::Input>(&m) {
                        Ok(msg) => outcome(handler.handle(msg, &at).await),
                        Err(o) => o,
                    }
                })
                .await,
            )
        },
    ))
    .await
}

/// A scheduled function's input: the schedule sends `{}` (or nothing), which is `T::default()`; an admin's
/// invocation may name more. Anything that does not read as `T` is refused (never taken for the default).
pub fn scheduled_input<T: serde::de::DeserializeOwned + Default>(
    event: serde_json::Value,
    function: &str,
) -> Result<T, crate::error::Error> {
    match event {
        serde_json::Value::Null => Ok(T::default()),
        other => serde_json::from_value(other).map_err(|e| {
            crate::error::Error::permanent(format!("{function} input: {e}"))
                .kind_of(crate::error::Kind::Data)
        }),
    }
}

/// Runs a scheduled function (an EventBridge schedule's event, whatever its shape) on Lambda: the handler's
/// report is the result; an error fails the invocation, and the next schedule runs it again.
pub async fn serve_scheduled<H, T>(handler: &H) -> Result<(), lambda_runtime::Error>
where
    H: Handler<Input = serde_json::Value, Output = Result<T, crate::error::Error>>,
    T: serde::Serialize,
{
    lambda_runtime::run(lambda_runtime::service_fn(
        move |ev: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let at = Invocation::from_lambda(&ev.context);
            handler
                .handle(ev.payload, &at)
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        },
    ))
    .await
}

/// Processes every record concurrently and reports the ones to retry. A `RetryAfter` record's visibility is
/// changed to its delay as soon as its outcome is known; if that fails (or the record lacks its receipt
/// handle or queue ARN), the failure is logged and the record is still reported, so it comes back after the
/// queue's visibility timeout.
pub async fn process_batch<F, Fut, V>(event: SqsEvent, visibility: &V, f: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Outcome>,
    V: Visibility + ?Sized,
{
    let results = join_all(event.records.into_iter().map(|m| {
        let id = m.message_id.clone().unwrap_or_default();
        let queue_arn = m.event_source_arn.clone();
        let receipt_handle = m.receipt_handle.clone();
        let fut = f(m);
        async move {
            let outcome = fut.await;
            if let Outcome::RetryAfter(_, delay) = &outcome {
                delay_redelivery(
                    visibility,
                    &id,
                    queue_arn.as_deref(),
                    receipt_handle.as_deref(),
                    *delay,
                )
                .await;
            }
            (id, outcome)
        }
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in results {
        match outcome {
            Outcome::Done => {}
            Outcome::Dropped(reason) => {
                tracing::error!(message_id = %id, %reason, "message dropped")
            }
            Outcome::Retry(reason) => {
                tracing::warn!(message_id = %id, %reason, "message will be retried");
                response.batch_item_failures.push(failure(id));
            }
            Outcome::RetryAfter(reason, delay) => {
                tracing::warn!(message_id = %id, %reason, retry_after_secs = visibility_timeout_secs(delay), "message will be retried after its delay");
                response.batch_item_failures.push(failure(id));
            }
        }
    }
    response
}

fn failure(id: String) -> BatchItemFailure {
    let mut failure = BatchItemFailure::default();
    failure.item_identifier = id;
    failure
}

/// Sets a `RetryAfter` record's visibility; a failure is logged (never with the receipt handle or body).
async fn delay_redelivery<V: Visibility + ?Sized>(
    visibility: &V,
    id: &str,
    queue_arn: Option<&str>,
    receipt_handle: Option<&str>,
    delay: Duration,
) {
    let (Some(queue_arn), Some(receipt_handle)) = (
        queue_arn.filter(|a| !a.is_empty()),
        receipt_handle.filter(|h| !h.is_empty()),
    ) else {
        tracing::warn!(message_id = %id, "record without receipt handle or eventSourceARN; it comes back after the queue's visibility timeout");
        return;
    };
    let secs = visibility_timeout_secs(delay);
    if let Err(e) = visibility
        .change_visibility(queue_arn, receipt_handle, secs)
        .await
    {
        tracing::warn!(message_id = %id, queue = %queue_arn, error = %e, "could not delay the message; it comes back after the queue's visibility timeout");
    }
}

/// Parses a message body as JSON; a body that does not parse can never succeed.
pub fn parse_body<T: serde::de::DeserializeOwned>(m: &SqsMessage) -> Result<T, Outcome> {
    let body = m.body.as_deref().unwrap_or_default();
    serde_json::from_str(body).map_err(|e| Outcome::Dropped(format!("unreadable message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plausible_deadline_is_kept() {
        let now = Utc::now();
        let ms = now.timestamp_millis();
        assert!(
            Invocation::with_deadline_ms(now, ms + 900_000)
                .deadline
                .is_some()
        );
        assert!(
            Invocation::with_deadline_ms(now, 30_000).deadline.is_none(),
            "not epoch time"
        );
        assert!(
            Invocation::with_deadline_ms(now, ms - 1).deadline.is_none(),
            "already over"
        );
        assert!(
            Invocation::with_deadline_ms(now, ms + 3 * 86_400_000)
                .deadline
                .is_none()
        );
    }
    use std::sync::Mutex;

    const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:stk-events";

    /// Records every visibility change; fails them all when `fail` is set.
    #[derive(Default)]
    struct FakeVisibility {
        calls: Mutex<Vec<(String, String, i32)>>,
        fail: bool,
    }

    #[async_trait]
    impl Visibility for FakeVisibility {
        async fn change_visibility(
            &self,
            queue_arn: &str,
            receipt_handle: &str,
            timeout_secs: i32,
        ) -> Result<(), Error> {
            self.calls.lock().unwrap().push((
                queue_arn.into(),
                receipt_handle.into(),
                timeout_secs,
            ));
            if self.fail {
                Err(Error::transient(
                    "ChangeMessageVisibility: ServiceUnavailable",
                ))
            } else {
                Ok(())
            }
        }
    }

    impl FakeVisibility {
        fn calls(&self) -> Vec<(String, String, i32)> {
            self.calls.lock().unwrap().clone()
        }
    }

    /// Records with message id = body = `id`, receipt handle `rh-<id>`, from queue [`ARN`].
    fn event(ids: &[&str]) -> SqsEvent {
        let records: Vec<_> = ids
            .iter()
            .map(|id| {
                serde_json::json!({
                    "messageId": id, "body": id, "receiptHandle": format!("rh-{id}"),
                    "eventSource": "aws:sqs", "eventSourceARN": ARN,
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    fn failed_ids(resp: &SqsBatchResponse) -> Vec<&str> {
        resp.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    /// The outcome named by a body: `ok`, `retry`, `drop`, or `after-<millis>`.
    fn by_body(m: SqsMessage) -> std::future::Ready<Outcome> {
        let body = m.body.unwrap_or_default();
        std::future::ready(match body.as_str() {
            "retry" => Outcome::Retry("later".into()),
            "drop" => Outcome::Dropped("never".into()),
            b if b.starts_with("after-") => Outcome::retry_after(
                "throttled",
                Duration::from_millis(b["after-".len()..].parse().unwrap()),
            ),
            _ => Outcome::Done,
        })
    }

    #[tokio::test]
    async fn only_retryable_failures_are_reported() {
        let vis = FakeVisibility::default();
        let resp = process_batch(event(&["ok", "retry", "drop"]), &vis, by_body).await;
        assert_eq!(failed_ids(&resp), ["retry"]);
        assert!(
            vis.calls().is_empty(),
            "Retry, Done and Dropped change no visibility"
        );
    }

    #[tokio::test]
    async fn retry_after_is_reported_and_delays_its_message_by_the_clamped_delay() {
        let vis = FakeVisibility::default();
        let resp = process_batch(
            event(&[
                "ok",
                "after-30000",
                "retry",
                "after-1500",
                "after-0",
                "after-99999000",
            ]),
            &vis,
            by_body,
        )
        .await;
        assert_eq!(
            failed_ids(&resp),
            [
                "after-30000",
                "retry",
                "after-1500",
                "after-0",
                "after-99999000"
            ]
        );
        let mut calls = vis.calls();
        calls.sort();
        let want = |id: &str, secs| (ARN.to_string(), format!("rh-{id}"), secs);
        assert_eq!(
            calls,
            [
                want("after-0", 0),
                want("after-1500", 2),
                want("after-30000", 30),
                want("after-99999000", MAX_VISIBILITY_TIMEOUT_SECS),
            ]
        );
    }

    #[tokio::test]
    async fn a_failed_visibility_change_still_reports_the_failure_and_logs_no_receipt_handle() {
        let logs = crate::fakes::capture_logs();
        let vis = FakeVisibility {
            fail: true,
            ..FakeVisibility::default()
        };
        let resp = process_batch(event(&["after-5000"]), &vis, by_body).await;
        assert_eq!(failed_ids(&resp), ["after-5000"]);
        assert_eq!(vis.calls().len(), 1);
        let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert!(text.contains("could not delay the message"), "{text}");
        assert!(
            !text.contains("rh-after-5000"),
            "receipt handle logged: {text}"
        );
    }

    #[tokio::test]
    async fn a_record_without_receipt_handle_is_still_reported() {
        let vis = FakeVisibility::default();
        let ev: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [{"messageId": "m", "body": "after-5000"}]
        }))
        .unwrap();
        let resp = process_batch(ev, &vis, by_body).await;
        assert_eq!(failed_ids(&resp), ["m"]);
        assert!(vis.calls().is_empty());
    }

    #[test]
    fn delays_become_whole_seconds_within_sqs_limits() {
        assert_eq!(visibility_timeout_secs(Duration::ZERO), 0);
        assert_eq!(visibility_timeout_secs(Duration::from_millis(1)), 1);
        assert_eq!(visibility_timeout_secs(Duration::from_secs(120)), 120);
        assert_eq!(visibility_timeout_secs(Duration::from_secs(43_200)), 43_200);
        assert_eq!(visibility_timeout_secs(Duration::from_secs(43_201)), 43_200);
        assert_eq!(visibility_timeout_secs(Duration::MAX), 43_200);
    }

    #[test]
    fn outcome_helpers() {
        let d = Duration::from_secs(7);
        assert_eq!(
            Outcome::retry_after("x", d),
            Outcome::RetryAfter("x".into(), d)
        );
        assert_eq!(
            Outcome::retry_maybe_after("x", Some(d)),
            Outcome::RetryAfter("x".into(), d)
        );
        assert_eq!(
            Outcome::retry_maybe_after("x", None),
            Outcome::Retry("x".into())
        );
        assert!(Outcome::retry_after("x", d).is_retry() && Outcome::Retry("x".into()).is_retry());
        assert!(!Outcome::Done.is_retry() && !Outcome::Dropped("x".into()).is_retry());
        // An error still becomes Retry or Dropped by its class alone.
        assert_eq!(
            Outcome::from(Error::transient("t")),
            Outcome::Retry("transient: t".into())
        );
        assert_eq!(
            Outcome::from(Error::permanent("p")),
            Outcome::Dropped("permanent: p".into())
        );
    }
}
