//! Owner resolver: owner queue → catalog (owner) → download queue.

use owner_resolver::handler::OwnerResolver;
use owner_resolver::settings::Settings;
use shared::aws::Clients;
use shared::settings::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    // One Zoom client per connection for both questions, so they share its token.
    let zoom = std::sync::Arc::new(aws.zoom());
    let resolver = OwnerResolver {
        config: aws.config(&settings.config_table),
        directory: aws.config(&settings.config_table),
        catalog: aws.catalog(&settings.catalog_table),
        downloads: aws.queue(&settings.download_queue_url),
        attendees: shared::vendors::Vendors {
            zoom: zoom.clone(),
            webex: aws.webex(),
        },
        hosts: shared::zoom::hosts::ZoomHosts(zoom),
    };
    shared::batch::serve(&resolver, &aws.visibility()).await
}
