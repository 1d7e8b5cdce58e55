//! Owner resolver: owner queue → catalog (owner) → download queue.

use owner_resolver::handler;

use lambda_runtime::Error;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, sqs::SqsQueue};
use shared::batch::{outcome, serve};

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
        attendees: shared::owner::VendorAttendees(shared::aws::webex_connections(&aws)),
    };
    let resolver = &resolver;
    serve(|msg| async move { outcome(resolver.handle(msg).await) }).await
}
