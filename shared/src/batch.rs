//! SQS batch handling shared by the queue consumers: each record is processed on its own, and only the
//! failures that are worth retrying are reported back, so SQS redelivers exactly those.

use crate::error::Class;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;
use std::future::Future;

/// The outcome of one record.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Logged and dropped: retrying cannot help (the reason is recorded where it matters).
    Dropped(String),
    /// Redeliver after the visibility timeout.
    Retry(String),
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

/// Runs a Lambda SQS consumer: every record's body is parsed as `T` and handed to `handle`; failures
/// worth retrying are reported as batch item failures.
pub async fn serve<T, F, Fut>(handle: F) -> Result<(), lambda_runtime::Error>
where
    T: serde::de::DeserializeOwned,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let handle = &handle;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |ev: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                process_batch(ev.payload, |m| async move {
                    match parse_body::<T>(&m) {
                        Ok(msg) => handle(msg).await,
                        Err(o) => o,
                    }
                })
                .await,
            )
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
            Outcome::Retry(reason) => {
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
