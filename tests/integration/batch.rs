//! `Outcome::RetryAfter` on moto: `process_batch` with the SQS adapter of `Visibility` delays exactly the
//! message it names, found through the record's `eventSourceARN`, as the Lambda event carries it.

use archiver_tests::{provision, unique};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use shared::aws::sqs::SqsVisibility;
use shared::batch::{Outcome, Visibility, process_batch};
use std::time::{Duration, Instant};

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

#[tokio::test]
async fn retry_after_makes_the_message_visible_after_its_delay() -> anyhow::Result<()> {
    let stack = unique("it-vis");
    let (conf, refs) = provision(&stack).await?;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    // The download queue's visibility timeout is 5400 s: only the function's change can bring it back soon.
    let url = &refs["DownloadQueue"];
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{stack}-download");
    for body in ["later", "plain"] {
        sqs.send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await?;
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 2 && Instant::now() < deadline {
        got.extend(receive(&sqs, url).await);
    }
    assert_eq!(got.len(), 2);
    let event = local_stack::bridge::sqs_event(&got, &arn, "us-east-1");

    let visibility = SqsVisibility::new(sqs.clone());
    let resp = process_batch(
        serde_json::from_value(event)?,
        &visibility,
        |m| async move {
            match m.body.as_deref() {
                Some("later") => Outcome::retry_after("throttled", Duration::from_secs(3)),
                _ => Outcome::Retry("no delay known".into()),
            }
        },
    )
    .await;
    let changed_at = Instant::now();
    assert_eq!(resp.batch_item_failures.len(), 2);

    // Not before 3 s; then only the delayed one (the other waits for the 5400 s visibility timeout).
    let mut back = Vec::new();
    while changed_at.elapsed() < Duration::from_secs(8) && back.is_empty() {
        back = receive(&sqs, url).await;
        if back.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let waited = changed_at.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "back after {waited:?}"
    );
    let bodies: Vec<_> = back.iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["later"], "back after {waited:?}");
    let count = back[0]
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .map(String::as_str);
    assert_eq!(count, Some("2"));

    // A stale receipt handle: the change fails with the SQS error code only, no handle in the text.
    let err = visibility
        .change_visibility(&arn, "not-a-real-receipt-handle", 1)
        .await
        .expect_err("an invalid receipt handle is refused");
    assert!(
        !err.to_string().contains("not-a-real-receipt-handle"),
        "{err}"
    );
    // An unknown queue is an error too, never a panic.
    assert!(
        visibility
            .change_visibility("arn:aws:sqs:us-east-1:123456789012:no-such-queue", "rh", 1)
            .await
            .is_err()
    );
    Ok(())
}
