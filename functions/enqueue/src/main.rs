//! Enqueue: events queue → (Webex REST API) → catalog → owner queue.

use enqueue::handler::Enqueue;
use enqueue::settings::Settings;
use shared::aws::Clients;
use shared::settings::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let enqueue = Enqueue {
        config: aws.config(&settings.config_table),
        catalog: aws.catalog(&settings.catalog_table),
        owners: aws.queue(&settings.owner_queue_url),
        webex: aws.webex(),
        switch: aws.config(&settings.config_table),
    };
    shared::batch::serve(&enqueue, &aws.visibility()).await
}
