//! Backfill (backfill queue): imports a connection's back catalogue in the deployment; see `handler`.

use backfiller::handler::Backfiller;
use backfiller::settings::Settings;
use shared::aws::Clients;
use shared::settings::Env;
use shared::vendors::Vendors;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let s = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    // One connection at a time per invocation: one pace for both vendors' clients.
    let pacer = shared::http::Pacer::per_second(s.max_rate);
    let backfiller = Backfiller {
        config: aws.config(&s.config_table),
        catalog: aws.catalog(&s.catalog_table),
        runs: aws.catalog(&s.catalog_table),
        vendors: Vendors {
            zoom: aws.zoom().with_pacer(pacer.clone()),
            webex: aws.webex().with_pacer(pacer),
        },
        events: aws.queue(&s.events_queue_url),
        backfills: aws.queue(&s.backfill_queue_url),
        rules: s.rules,
    };
    shared::batch::serve(&backfiller, &aws.visibility()).await
}
