//! Deleter (scheduled): deletes due vendor copies after verifying the archived ones; see `handler`.

use deleter::handler::Deleter;
use deleter::settings::Settings;
use shared::aws::{Clients, s3::S3Sink};
use shared::settings::Env;
use shared::vendors::Vendors;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let s = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let deleter = Deleter {
        config: aws.config(&s.config_table),
        catalog: aws.catalog(&s.catalog_table),
        objects: S3Sink::new(aws.s3.clone(), s.media_bucket.clone()),
        vendors: Vendors {
            zoom: aws.zoom(),
            webex: aws.webex(),
        },
        events: aws.queue(&s.events_queue_url),
        rules: s.rules,
    };
    shared::batch::serve_scheduled(&deleter).await
}
