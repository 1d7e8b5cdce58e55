//! Downloader: download queue → vendor → S3 multipart upload → catalog → archived queue.

use downloader::handler::Downloader;
use downloader::settings::Settings;
use shared::aws::{Clients, s3::S3Sink};
use shared::settings::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let downloader = Downloader {
        config: aws.config(&settings.config_table),
        catalog: aws.catalog(&settings.catalog_table),
        sink: S3Sink::new(aws.s3.clone(), settings.media_bucket.clone()),
        archived: aws.queue(&settings.archived_queue_url),
        webex: aws.webex(),
        lease: settings.lease,
        read_timeout: settings.read_timeout,
    };
    shared::batch::serve(&downloader, &aws.visibility()).await
}
