//! Deletion scheduler: archived queue → deletion plan in the catalog.

use deletion_scheduler::handler;

use lambda_runtime::Error;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig};
use shared::batch::{outcome, serve};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = shared::telemetry::env;
    let (config_table, catalog_table) = (env("CONFIG_TABLE")?, env("CATALOG_TABLE")?);
    let aws = shared::aws::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let scheduler = handler::DeletionScheduler {
        config: DynamoConfig::new(ddb.clone(), config_table),
        catalog: DynamoCatalog::new(ddb, catalog_table),
    };
    let scheduler = &scheduler;
    serve(|msg| async move { outcome(scheduler.handle(msg, chrono::Utc::now()).await) }).await
}
