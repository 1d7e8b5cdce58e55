//! Downloader: download queue → vendor → S3 multipart upload → catalog → archived queue.

use downloader::handler;

use lambda_runtime::Error;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, s3::S3Sink, sqs::SqsQueue};
use shared::batch::serve;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = shared::telemetry::env;
    let (config_table, catalog_table, bucket, archived_url) = (
        env("CONFIG_TABLE")?,
        env("CATALOG_TABLE")?,
        env("MEDIA_BUCKET")?,
        env("ARCHIVED_QUEUE_URL")?,
    );
    let lease_secs = std::env::var("LEASE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(960);
    let aws = shared::aws::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let downloader = handler::Downloader {
        config: DynamoConfig::new(ddb.clone(), config_table),
        catalog: DynamoCatalog::new(ddb, catalog_table),
        sink: S3Sink::new(shared::aws::s3_client(&aws), bucket),
        archived: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), archived_url),
        webex: shared::aws::webex_connections(&aws),
        lease: Duration::from_secs(lease_secs),
        read_timeout: Duration::from_secs(60),
    };
    let downloader = &downloader;
    serve(|msg| downloader.handle(msg)).await
}
