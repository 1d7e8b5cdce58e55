//! Reconcile (scheduled): queues what the webhooks did not bring and repairs Webex webhooks; see `handler`.

use reconciler::handler::Reconciler;
use reconciler::settings::Settings;
use shared::aws::Clients;
use shared::settings::Env;
use shared::vendors::Vendors;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let s = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let reconciler = Reconciler {
        config: aws.config(&s.config_table),
        catalog: aws.catalog(&s.catalog_table),
        vendors: Vendors {
            zoom: aws.zoom(),
            webex: aws.webex(),
        },
        secrets: shared::aws::secrets::SecretsManager::new(aws.secrets.clone()),
        events: aws.queue(&s.events_queue_url),
        rules: s.rules,
    };
    shared::batch::serve_scheduled(&reconciler).await
}
