//! Sweeper (scheduled): re-drives stuck work, dead letters and abandoned uploads; see `handler`.

use shared::aws::dlq::SqsDeadLetters;
use shared::aws::{Clients, s3::S3Uploads};
use shared::settings::Env;
use sweeper::handler::Sweeper;
use sweeper::settings::Settings;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let s = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let dlq = |name: &str, dlq: &str, source: &str| -> Box<dyn shared::ports::DeadLetters> {
        Box::new(SqsDeadLetters::new(aws.sqs.clone(), name, dlq, source))
    };
    let sweeper = Sweeper {
        config: aws.config(&s.config_table),
        catalog: aws.catalog(&s.catalog_table),
        owners: aws.queue(&s.owner_queue_url),
        downloads: aws.queue(&s.download_queue_url),
        download_dlq: dlq("download", &s.download_dlq_url, &s.download_queue_url),
        other_dlqs: vec![
            dlq("events", &s.events_dlq_url, &s.events_queue_url),
            dlq("owner", &s.owner_dlq_url, &s.owner_queue_url),
            dlq("archived", &s.archived_dlq_url, &s.archived_queue_url),
            dlq("backfill", &s.backfill_dlq_url, &s.backfill_queue_url),
        ],
        uploads: S3Uploads::new(aws.s3.clone(), s.media_bucket.clone()),
        rules: s.rules,
    };
    shared::batch::serve_scheduled(&sweeper).await
}
