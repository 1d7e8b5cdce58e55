//! `archiver-admin backfill`: imports a connection's back catalogue. The walk is `shared::backfill::walk`
//! (the same code a deployed function runs); this module builds its parts for one connection and shows its
//! progress: units (a Zoom user or Webex site over one window), recordings found, already archived, queued,
//! and the bytes queued.

use anyhow::{Context, Result, bail};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use shared::aws::catalog::DynamoCatalog;
use shared::aws::config::DynamoConfig;
use shared::backfill::{Counts, DateRange, Observer, Walk};
use shared::ids::ConnectionId;
use std::sync::Arc;

/// What to import.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The connection to import (its id in the tenant file).
    #[arg(long)]
    pub connection: String,
    /// First day (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: String,
    /// Last day, included (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// List and count (recordings, already archived, would be queued, bytes) without queuing or
    /// recording anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Items per list page (default: the vendor's largest, 300 for Zoom and 100 for Webex).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// At most this many vendor API requests a second, to leave room for everything else that shares
    /// the account's API quota (Zoom's and Webex's own limits and Retry-After are always honoured).
    #[arg(long)]
    pub max_rate: Option<f64>,
}

/// The tables and queue a backfill works with.
pub struct Places<'a> {
    pub config_table: &'a str,
    pub catalog_table: &'a str,
    /// Where found recordings go: the events queue enqueue reads (not needed for a dry run).
    pub events_queue_url: &'a str,
}

/// The progress bar, and the notes printed above it.
struct Bar(ProgressBar);

impl Observer for Bar {
    fn begin(&self, units: u64, done: u64) {
        self.0.set_length(units);
        self.0.set_position(done);
        if done > 0 {
            self.0.println(format!(
                "continuing: {done} of {units} units were done by an earlier run"
            ));
        }
    }
    fn unit(&self, _unit: &str, _counts: &Counts, totals: &Counts) {
        self.0.inc(1);
        self.0.set_message(counts_line(totals));
    }
    fn note(&self, line: &str) {
        self.0.suspend(|| eprintln!("unreadable: {line}"));
    }
}

/// `found 12, already archived 3, queued 9 (1.2 GiB)`.
pub fn counts_line(c: &Counts) -> String {
    let mut line = format!(
        "found {}, already archived {}, queued {} ({})",
        c.found,
        c.archived,
        c.queued,
        HumanBytes(c.bytes_queued)
    );
    if c.skipped > 0 {
        line.push_str(&format!(", skipped by filters {}", c.skipped));
    }
    if c.unreadable > 0 {
        line.push_str(&format!(", unreadable {}", c.unreadable));
    }
    line
}

/// Runs the backfill; what this run counted. A dry run lists everything and queues and records nothing.
pub async fn run(
    aws: &aws_config::SdkConfig,
    places: Places<'_>,
    opts: &Options,
) -> Result<Counts> {
    let range = DateRange::parse(
        &opts.from,
        opts.to.as_deref(),
        chrono::Utc::now().date_naive(),
    )?;
    let id = ConnectionId::parse(&opts.connection)?;
    let ddb = aws_sdk_dynamodb::Client::new(aws);
    let config = DynamoConfig::new(ddb.clone(), places.config_table);
    let Some(conn) = shared::ports::ConfigStore::connection(&config, &id).await? else {
        bail!("no connection {id}");
    };
    if !conn.enabled {
        bail!("connection {id} is disabled; apply its tenant file to reconnect it first");
    }
    if !opts.dry_run && places.events_queue_url.is_empty() {
        bail!("--events-queue-url (or EVENTS_QUEUE_URL) is required unless --dry-run");
    }
    let pacer = shared::http::Pacer::per_second(opts.max_rate);
    let (mut zoom, mut webex) = (
        shared::aws::zoom_connections(aws).with_pacer(pacer.clone()),
        shared::aws::webex_connections(aws).with_pacer(pacer),
    );
    if let Some(n) = opts.page_size {
        (zoom, webex) = (zoom.with_page_size(n), webex.with_page_size(n));
    }
    let lister = shared::vendors::Vendors { zoom, webex }
        .lister(&conn)
        .await?;
    let catalog = DynamoCatalog::new(ddb, places.catalog_table);
    let queue =
        shared::aws::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(aws), places.events_queue_url);
    let walk = Walk {
        connection: id.clone(),
        range,
        dry_run: opts.dry_run,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} units  {msg}  [{elapsed}, ETA {eta}]")
            .context("progress style")?,
    );
    let observer = Arc::new(Bar(bar.clone()));
    let counts = shared::backfill::walk(
        lister.as_ref(),
        &catalog,
        Some(&catalog),
        &queue,
        &walk,
        observer.as_ref(),
    )
    .await
    .with_context(|| {
        format!(
            "backfill of {id} over {} stopped; finished units are recorded, run the same command again to continue",
            range.id()
        )
    })?;
    bar.finish_and_clear();
    Ok(counts)
}
