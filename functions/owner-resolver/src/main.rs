//! Owner resolver: owner queue → catalog (owner) → download queue.

use owner_resolver::handler;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, sqs::SqsQueue};
use shared::batch::{Outcome, parse_body, process_batch};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = shared::telemetry::env;
    let (config_table, catalog_table, download_url) = (
        env("CONFIG_TABLE")?,
        env("CATALOG_TABLE")?,
        env("DOWNLOAD_QUEUE_URL")?,
    );
    let aws = shared::aws::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let resolver = handler::OwnerResolver {
        config: DynamoConfig::new(ddb.clone(), config_table),
        catalog: DynamoCatalog::new(ddb, catalog_table),
        downloads: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), download_url),
        rules: shared::owner::default_rules(),
    };
    let resolver = &resolver;
    run(service_fn(move |ev: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(
            process_batch(ev.payload, |m| async move {
                match parse_body(&m) {
                    Ok(msg) => match resolver.handle(msg).await {
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
