//! SQS batch handling shared by the queue consumers: each record is processed on its own, and only the
//! failures that are worth retrying are reported back, so SQS redelivers exactly those.

use crate::error::Class;
use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use std::future::Future;

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
    /// From the Lambda context (its deadline is in epoch milliseconds).
    pub fn from_lambda(ctx: &lambda_runtime::Context) -> Self {
        Self {
            now: Utc::now(),
            deadline: DateTime::from_timestamp_millis(ctx.deadline as i64),
        }
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
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Logged and dropped: retrying cannot help (the reason is recorded where it matters).
    Dropped(String),
    /// Redeliver after the visibility timeout.
    Retry(String),
    /// Redeliver after this long (the other side's `Retry-After`).
    RetryAfter(String, std::time::Duration),
}

impl Outcome {
    pub fn from_class(class: Class, msg: String) -> Self {
        match class {
            Class::Retryable => Outcome::Retry(msg),
            Class::Permanent => Outcome::Dropped(msg),
        }
    }
}

impl From<crate::error::Error> for Outcome {
    fn from(e: crate::error::Error) -> Self {
        Outcome::from_class(e.class(), e.to_string())
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

/// Runs a queue consumer on Lambda: every record's body is parsed as the handler's input and handled;
/// failures worth retrying are reported as batch item failures.
pub async fn serve<H, T>(handler: &H) -> Result<(), lambda_runtime::Error>
where
    H: Handler<Output = Result<T, Outcome>>,
    H::Input: serde::de::DeserializeOwned,
{
    lambda_runtime::run(lambda_runtime::service_fn(
        move |ev: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            let at = Invocation::from_lambda(&ev.context);
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                process_batch(ev.payload, |m| async move {
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

/// Processes every record concurrently and reports the ones to retry.
pub async fn process_batch<F, Fut>(event: SqsEvent, f: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let results = join_all(event.records.into_iter().map(|m| {
        let id = m.message_id.clone().unwrap_or_default();
        let fut = f(m);
        async move { (id, fut.await) }
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, outcome) in results {
        match outcome {
            Outcome::Done => {}
            Outcome::Dropped(reason) => {
                tracing::error!(message_id = %id, %reason, "message dropped")
            }
            Outcome::Retry(reason) | Outcome::RetryAfter(reason, _) => {
                tracing::warn!(message_id = %id, %reason, "message will be retried");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}

/// Parses a message body as JSON; a body that does not parse can never succeed.
pub fn parse_body<T: serde::de::DeserializeOwned>(m: &SqsMessage) -> Result<T, Outcome> {
    let body = m.body.as_deref().unwrap_or_default();
    serde_json::from_str(body).map_err(|e| Outcome::Dropped(format!("unreadable message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ids: &[&str]) -> SqsEvent {
        let records: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({"messageId": id, "body": id}))
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    #[tokio::test]
    async fn only_retryable_failures_are_reported() {
        let resp = process_batch(event(&["ok", "retry", "drop"]), |m| async move {
            match m.body.as_deref() {
                Some("retry") => Outcome::Retry("later".into()),
                Some("drop") => Outcome::Dropped("never".into()),
                _ => Outcome::Done,
            }
        })
        .await;
        let ids: Vec<_> = resp
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["retry"]);
    }
}
