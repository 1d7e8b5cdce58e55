//! `archiver-admin`: apply tenant configuration, and ask the catalog what was archived.

use anyhow::Result;
use clap::Parser;

#[tokio::main]
async fn main() -> Result<()> {
    shared::telemetry::init();
    let cli = archiver_admin::Cli::parse();
    std::process::exit(archiver_admin::run(cli).await?);
}
