//! SQS adapter of [`DeadLetters`]: a dead-letter queue and the queue its messages came from. A re-drive
//! carries the message attribute `sweep-redrives` so that the sweep can tell how often it already tried.

use crate::aws::error::sdk_error;
use crate::error::Error;
use crate::ports::{DeadLetter, DeadLetters, SecretString};
use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;

const REDRIVES: &str = "sweep-redrives";

#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    name: String,
    dlq_url: String,
    source_url: String,
}

impl SqsDeadLetters {
    pub fn new(
        client: aws_sdk_sqs::Client,
        name: impl Into<String>,
        dlq_url: impl Into<String>,
        source_url: impl Into<String>,
    ) -> Self {
        Self {
            client,
            name: name.into(),
            dlq_url: dlq_url.into(),
            source_url: source_url.into(),
        }
    }

    async fn delete(&self, letter: &DeadLetter) -> Result<(), Error> {
        self.client
            .delete_message()
            .queue_url(&self.dlq_url)
            .receipt_handle(letter.receipt.expose())
            .send()
            .await
            .map_err(|e| sdk_error("DeleteMessage(dlq)", e))?;
        Ok(())
    }
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    fn name(&self) -> &str {
        &self.name
    }

    async fn receive(&self, max: usize) -> Result<Vec<DeadLetter>, Error> {
        let mut found = Vec::new();
        while found.len() < max {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.dlq_url)
                .max_number_of_messages((max - found.len()).min(10) as i32)
                .message_attribute_names(REDRIVES)
                .visibility_timeout(300)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(|e| sdk_error("ReceiveMessage(dlq)", e))?;
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let redrives = m
                    .message_attributes
                    .as_ref()
                    .and_then(|a| a.get(REDRIVES))
                    .and_then(|v| v.string_value())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if let (Some(body), Some(receipt)) = (m.body, m.receipt_handle) {
                    found.push(DeadLetter {
                        body,
                        receipt: SecretString::new(receipt),
                        redrives,
                    });
                }
            }
        }
        Ok(found)
    }

    async fn redrive(&self, letter: &DeadLetter) -> Result<(), Error> {
        let count = MessageAttributeValue::builder()
            .data_type("Number")
            .string_value((letter.redrives + 1).to_string())
            .build()
            .map_err(Error::permanent)?;
        self.client
            .send_message()
            .queue_url(&self.source_url)
            .message_body(&letter.body)
            .message_attributes(REDRIVES, count)
            .send()
            .await
            .map_err(|e| sdk_error("SendMessage(redrive)", e))?;
        // Sent first, then deleted: a crash in between repeats the message, which every consumer absorbs.
        self.delete(letter).await
    }

    async fn discard(&self, letter: &DeadLetter) -> Result<(), Error> {
        self.delete(letter).await
    }
}
