//! SQS adapters of [`Queue`] and of the batch loop's [`Visibility`].

use crate::aws::error::{classify_sdk, sdk_error};
use crate::batch::Visibility;
use crate::error::{Error, Kind};
use crate::ports::Queue;
use async_trait::async_trait;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: String) -> Result<(), Error> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sdk_error("SendMessage", e))?;
        Ok(())
    }
}

/// SQS adapter of [`Visibility`]: `ChangeMessageVisibility` on the queue named by the record's
/// `eventSourceARN` (`arn:<partition>:sqs:<region>:<account>:<name>`), whose URL comes from `GetQueueUrl`
/// (queue name and owner account) once per queue and is then cached. The client's endpoint decides where the
/// calls go, so `AWS_ENDPOINT_URL` (moto) works like AWS.
#[derive(Debug)]
pub struct SqsVisibility {
    client: aws_sdk_sqs::Client,
    urls: Mutex<HashMap<String, String>>,
}

impl SqsVisibility {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self {
            client,
            urls: Mutex::new(HashMap::new()),
        }
    }

    async fn queue_url(&self, queue_arn: &str) -> Result<String, Error> {
        if let Some(url) = self.urls.lock().unwrap().get(queue_arn) {
            return Ok(url.clone());
        }
        let (account, name) = queue_of_arn(queue_arn)
            .ok_or_else(|| Error::data(format!("not an SQS queue ARN: {queue_arn}")))?;
        let url = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await
            .map_err(|e| sdk_error("GetQueueUrl", e))?
            .queue_url
            .ok_or_else(|| Error::data(format!("GetQueueUrl gave no URL for {name}")))?;
        self.urls
            .lock()
            .unwrap()
            .insert(queue_arn.to_owned(), url.clone());
        Ok(url)
    }
}

/// The owner account and the queue name of an SQS queue ARN.
pub fn queue_of_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(_region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!account.is_empty() && !name.is_empty() && !name.contains(':')).then_some((account, name))
}

/// An SQS error without its message: SQS quotes the receipt handle in some (`ReceiptHandleIsInvalid`), and
/// receipt handles stay out of logs. The code, class and operation remain.
fn redacted<E: ProvideErrorMetadata>(
    op: &str,
    err: &SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
) -> Error {
    let what = match err {
        SdkError::ServiceError(se) => se
            .err()
            .code()
            .unwrap_or("unknown service error")
            .to_owned(),
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(_) => "request not sent (connection failed)".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        _ => "request not built".to_owned(),
    };
    Error::new(classify_sdk(err), Kind::Aws, what).op(op)
}

#[async_trait]
impl Visibility for SqsVisibility {
    async fn change_visibility(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        timeout_secs: i32,
    ) -> Result<(), Error> {
        let url = self.queue_url(queue_arn).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(timeout_secs)
            .send()
            .await
            .map_err(|e| redacted("ChangeMessageVisibility", &e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_arns_name_account_and_queue() {
        assert_eq!(
            queue_of_arn("arn:aws:sqs:us-east-1:123456789012:stk-download"),
            Some(("123456789012", "stk-download"))
        );
        assert_eq!(
            queue_of_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo"),
            Some(("123456789012", "q.fifo"))
        );
        for bad in [
            "",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:123456789012",
            "arn:aws:sqs:us-east-1::q",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs:us-east-1:1:a:b",
        ] {
            assert_eq!(queue_of_arn(bad), None, "{bad}");
        }
    }
}
