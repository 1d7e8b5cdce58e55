//! Deletion scheduler: archived queue → deletion plan in the catalog.

use deletion_scheduler::handler::DeletionScheduler;
use deletion_scheduler::settings::Settings;
use shared::aws::Clients;
use shared::settings::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let scheduler = DeletionScheduler {
        config: aws.config(&settings.config_table),
        catalog: aws.catalog(&settings.catalog_table),
    };
    shared::batch::serve(&scheduler, &aws.visibility()).await
}
