//! Enqueue: events queue → (Webex REST API) → catalog → owner queue.

use enqueue::handler;

use lambda_runtime::Error;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, sqs::SqsQueue};
use shared::batch::{outcome, serve};

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
        webex: shared::aws::webex_connections(&aws),
    };
    let enqueue = &enqueue;
    serve(|msg| async move { outcome(enqueue.handle(msg, chrono::Utc::now()).await) }).await
}
