//! Downloader: download queue → vendor → S3 multipart upload → catalog → archived queue.

use downloader::handler::Downloader;
use downloader::settings::Settings;
use shared::aws::{Clients, s3::S3Sink};
use shared::settings::Env;
use shared::transfer;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let downloader = Downloader {
        config: aws.config(&settings.config_table),
        catalog: Arc::new(aws.catalog(&settings.catalog_table)),
        sink: S3Sink::new(aws.s3.clone(), settings.media_bucket.clone()),
        archived: aws.queue(&settings.archived_queue_url),
        downloads: aws.queue(&settings.download_queue_url),
        webex: aws.webex(),
        zoom: aws.zoom(),
        lease: settings.lease,
        read_timeout: settings.read_timeout,
        deadline_margin: settings.deadline_margin,
        redelivery: settings.redelivery,
        transfer: transfer::Settings {
            parts_in_flight: settings.parts_in_flight,
            ..transfer::Settings::default()
        },
    };
    shared::batch::serve(&downloader, &aws.visibility()).await
}
