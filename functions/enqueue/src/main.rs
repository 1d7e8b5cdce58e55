//! Enqueue: events queue → catalog → owner queue.

use enqueue::handler;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, sqs::SqsQueue};
use shared::batch::{Outcome, parse_body, process_batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = shared::telemetry::env;
    let (config_table, catalog_table, owner_url) = (
        env("CONFIG_TABLE")?,
        env("CATALOG_TABLE")?,
        env("OWNER_QUEUE_URL")?,
    );
    let aws = shared::aws::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let enqueue = handler::Enqueue {
        config: DynamoConfig::new(ddb.clone(), config_table),
        catalog: DynamoCatalog::new(ddb, catalog_table),
        owners: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), owner_url),
    };
    let enqueue = &enqueue;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(
            process_batch(ev.payload, |m| async move {
                match parse_body(&m) {
                    Ok(msg) => match enqueue.handle(msg, chrono::Utc::now()).await {
                        Ok(_) => Outcome::Done,
                        Err(o) => o,
                    },
                    Err(o) => o,
                }
            })
            .await,
        )
    }))
    .await
}
