//! The admin CLI's commands. Exit codes: 0 ok, 1 not found, 2 invalid input, 3 changed by someone else since
//! it was read (nothing written: run the command again).

pub mod backfill;
pub mod deletions;
pub mod disconnect;
pub mod quarantine;
pub mod retry;
pub mod users;
pub mod webex;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde::Serialize;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, secrets::SecretsManager};
use shared::catalog::{CatalogReader, FileEntry, RecordingEntry};
use shared::config::TenantConfig;
use shared::config_file::{ConfigFile, ConfigProblem};
use shared::ids::{AccountId, InstanceId, TenantId, Vendor};
use shared::model::{RecordingKey, RecordingState};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "archiver-admin",
    version,
    about = "Configure the recording archiver and inspect its catalog"
)]
pub struct Cli {
    /// The configuration table.
    #[arg(long, env = "CONFIG_TABLE", global = true, default_value = "")]
    pub config_table: String,
    /// The catalog table.
    #[arg(long, env = "CATALOG_TABLE", global = true, default_value = "")]
    pub catalog_table: String,
    /// The owner queue (stack output `OwnerQueueUrl`), where `retry` hands reopened files over.
    #[arg(long, env = "OWNER_QUEUE_URL", global = true, default_value = "")]
    pub owner_queue_url: String,
    /// The media bucket (stack output `MediaBucketName`), where `deletions` re-reads the archived objects.
    #[arg(long, env = "MEDIA_BUCKET", global = true, default_value = "")]
    pub media_bucket: String,
    /// The events queue (stack output `EventsQueueUrl`), where `deletions --execute` hands a recording whose
    /// vendor lists files never archived back to enqueue.
    #[arg(long, env = "EVENTS_QUEUE_URL", global = true, default_value = "")]
    pub events_queue_url: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate a tenant file (YAML or JSON) and write it: secrets to Secrets Manager, records to DynamoDB.
    Apply {
        file: PathBuf,
        /// Where webhook secrets are stored (must match the template's SecretsPrefix).
        #[arg(long, default_value = "archiver/")]
        secrets_prefix: String,
        /// Validate and print what would change against what is stored (with a config table; otherwise only
        /// validate); write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove stored connections and users the file leaves out (without it they are kept, and shown). An
        /// enabled connection is never removed: disconnect it first.
        #[arg(long)]
        prune: bool,
    },
    /// Print one recording's catalog entry and files as JSON.
    Show {
        #[command(flatten)]
        recording: RecordingArgs,
    },
    /// Create, repair (reactivate, re-key) or list the org-wide Webex webhooks of a connection.
    WebexWebhooks {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Obtain a Webex Service App's tokens (with an admin's integration token) and store them as the
    /// connection's credentials; the functions refresh them from then on.
    WebexServiceAppToken {
        #[arg(long)]
        connection: String,
        /// The Service App's application id (Developer Portal).
        #[arg(long)]
        application_id: String,
        /// The Service App's client id.
        #[arg(long)]
        client_id: String,
        /// Environment variable holding the Service App's client secret.
        #[arg(long, default_value = "WEBEX_SERVICE_APP_SECRET")]
        client_secret_env: String,
        /// Environment variable holding an integration token with `spark:applications_token`.
        #[arg(long, default_value = "WEBEX_ISSUER_TOKEN")]
        issuer_token_env: String,
    },
    /// Try failed files again: every failed file of a connection, of one recording (`--instance`), or one
    /// file (`--instance` and `--file`). They are reopened and handed to the owner resolver, like a webhook's.
    Retry {
        #[arg(long)]
        connection: String,
        /// The meeting instance id of one recording (as `show` takes it).
        #[arg(long)]
        instance: Option<String>,
        /// One file of that recording.
        #[arg(long, requires = "instance")]
        file: Option<String>,
        /// At most this many failed recordings of the connection.
        #[arg(long, default_value_t = 500)]
        limit: i32,
    },
    /// Give a recording in quarantine (`owner.unmatched: quarantine`) its owner before the quarantine runs
    /// out: the copy is kept from then on, and the vendor copy's deletion goes ahead as planned.
    AssignOwner {
        #[arg(long)]
        connection: String,
        /// The meeting instance id of the recording (as `show` takes it).
        #[arg(long)]
        instance: String,
        /// A user id of the tenant's directory (`users list`).
        #[arg(long)]
        owner: String,
    },
    /// The connection's recordings in quarantine, soonest end first: when each ends, its instance (for
    /// `assign-owner`), holder, topic and folder.
    Quarantine {
        #[arg(long)]
        connection: String,
        #[arg(long, default_value_t = 100)]
        limit: i32,
    },
    /// What the deletion sweep would delete now and why (its own checks, run read-only: catalog, S3, the
    /// vendor's listing), what waits and until when, and what is blocked and why. `--execute` runs one sweep
    /// now instead and reports what it did.
    Deletions {
        /// One connection (default: every connection).
        #[arg(long)]
        connection: Option<String>,
        /// Only what is due now.
        #[arg(long)]
        due: bool,
        /// Run one deletion sweep now: verify and delete what is due, with audit records.
        #[arg(long)]
        execute: bool,
        /// At most this many recordings per connection and list.
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
    /// Disconnect a connection: turn it off (webhooks refused, pending deletions wait), remove its Webex
    /// webhooks and revoke its Webex tokens, schedule its secrets for deletion. Catalog and media are kept;
    /// `apply` with the connection reconnects it.
    Disconnect {
        #[arg(long)]
        connection: String,
        /// Days until the secrets are deleted for good (7 to 30); `apply` restores them before then.
        #[arg(long, default_value_t = 30)]
        recovery_days: i64,
    },
    /// Write every tenant's retention rule into the media bucket's lifecycle again (after a `sam deploy` that
    /// changed the bucket's lifecycle parameters: CloudFormation then replaces the whole configuration).
    RetentionSync,
    /// Import a connection's back catalogue: list every recording the vendor has in the date range (Zoom:
    /// every user, active and deactivated, a calendar month at a time; Webex: every site, 30 days at a time)
    /// and queue what the catalog lacks through the same path as a webhook, so nothing is created twice.
    /// Finished windows are recorded: the same command again continues where a crash or Ctrl-C stopped it.
    Backfill(backfill::Options),
    /// Why a recording goes where it goes. With `--event` (and `--connection`): the connection's rules
    /// replayed now over a recording event as the vendor sends it (a Zoom webhook body or a recording object
    /// as the API lists it; a Webex webhook body, whose recording is read from the Webex API) — the filters,
    /// every owner rule tried, the S3 folder, the files. With `--account` and `--instance`: what was decided
    /// for a recording in the catalog, as recorded. Writes nothing.
    Explain {
        #[arg(long, requires = "connection", conflicts_with_all = ["account", "instance"])]
        event: Option<PathBuf>,
        #[arg(long)]
        connection: Option<String>,
        #[arg(long, default_value = "zoom")]
        vendor: String,
        #[arg(long, requires = "instance")]
        account: Option<String>,
        #[arg(long, requires = "account")]
        instance: Option<String>,
    },
    /// The tenant's user directory as stored: id, e-mail, status, external id, vendor ids (what the owner
    /// rules look up).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Print the audit records of a recording's deletion attempts: evidence checked, vendor answers.
    Audit {
        #[command(flatten)]
        recording: RecordingArgs,
    },
    /// List a tenant's recordings in a state (pending_owner, archiving, archived, failed), newest first.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "archived")]
        state: String,
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
}

/// One recording of the catalog, named as the vendor names it.
#[derive(clap::Args, Debug, Clone)]
pub struct RecordingArgs {
    #[arg(long, default_value = "zoom")]
    pub vendor: String,
    /// The vendor account id.
    #[arg(long)]
    pub account: String,
    /// The meeting instance id (Zoom uuid as Zoom sends it; Webex `meetingId` of the ended instance).
    #[arg(long)]
    pub instance: String,
}

impl RecordingArgs {
    pub fn key(&self) -> Result<RecordingKey> {
        Ok(RecordingKey {
            vendor: Vendor::parse(&self.vendor)?,
            account: AccountId::parse(&self.account)?,
            instance: InstanceId::parse(&self.instance)?,
        })
    }
}

#[derive(Subcommand, Debug, Clone)]
pub enum WebhookAction {
    /// Create the `recordings`/`created` and `meetingTranscripts`/`created` webhooks (ownedBy org) if missing,
    /// reactivate inactive ones, and make their secret the one in Secrets Manager (generated on first use).
    Ensure {
        #[arg(long)]
        connection: String,
        /// The stack output `WebhookBaseUrl` (`https://…/webhooks`).
        #[arg(long)]
        webhook_base_url: String,
    },
    /// List the org's webhooks with their status; `*` marks the ones that point at this connection.
    List {
        #[arg(long)]
        connection: String,
        /// The stack output `WebhookBaseUrl`.
        #[arg(long)]
        webhook_base_url: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum UsersAction {
    /// Every user of a tenant, one line each, blocked ones marked.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Adds and updates a tenant's users from a CSV file (columns: id, email, name, external_id, status,
    /// groups, opt_out, zoom_user_ids, webex_person_ids; lists separated by `;`), with the diff `apply`
    /// prints. Users not in the file are kept unless `--prune`.
    Import {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        file: PathBuf,
        /// Print the diff only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove the users the file leaves out (never a connection's default owner).
        #[arg(long)]
        prune: bool,
    },
    /// Brings a Zoom connection's users (active and deactivated) into its tenant's directory: matched by
    /// Zoom user id, then e-mail; deactivated ones blocked; new ones with an id made of their e-mail. Needs the
    /// connection's API credentials (scope `user:read:list_users:admin`).
    Sync {
        #[arg(long)]
        connection: String,
        /// Print the diff only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// One directory user as `users list` prints it.
pub fn user_line(u: &shared::config::User) -> String {
    let mut line = format!("{}  {}", u.id, u.email);
    if u.status == shared::config::UserStatus::Blocked {
        line.push_str("  BLOCKED (owns no new recordings)");
    }
    if u.opt_out {
        line.push_str("  OPTED OUT (recordings they host are not archived)");
    }
    if let Some(x) = &u.external_id {
        line.push_str(&format!("  external_id={x}"));
    }
    if !u.groups.is_empty() {
        let groups: Vec<&str> = u.groups.iter().map(|g| g.as_str()).collect();
        line.push_str(&format!("  groups={}", groups.join(",")));
    }
    for v in &u.vendor_ids {
        line.push_str(&format!("  {}={}", v.vendor, v.id));
    }
    line
}

/// Prints the diff of `cfg` against what is stored (`snap`) and, unless `dry_run` or refused (`problems`, or
/// pruning an enabled connection), writes it: the plan and what was written, or the exit code to end with
/// (0 after a dry run, 2 refused, 3 another admin wrote first).
async fn write_plan(
    store: &DynamoConfig,
    snap: &shared::changes::Snapshot,
    cfg: &TenantConfig,
    dry_run: bool,
    prune: bool,
    mut problems: Vec<String>,
) -> Result<Result<(shared::changes::Plan, shared::aws::config::Applied), i32>> {
    let plan = shared::changes::plan(snap, cfg);
    for line in plan.lines(prune) {
        println!("{line}");
    }
    if plan.is_empty() {
        println!("no changes: the stored records are as in the file");
    }
    if prune {
        problems.extend(plan.prune_problems());
    }
    for p in &problems {
        eprintln!("refused: {p}");
    }
    if dry_run {
        println!("dry run: nothing was written");
        return Ok(Err(if problems.is_empty() { 0 } else { 2 }));
    }
    if !problems.is_empty() {
        eprintln!("nothing was written");
        return Ok(Err(2));
    }
    match store.apply_plan(cfg, &plan, prune).await {
        Ok(applied) => Ok(Ok((plan, applied))),
        Err(e) if e.kind() == shared::error::Kind::Conflict => {
            eprintln!("{e}");
            Ok(Err(3))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads and validates a tenant file; every problem is returned with its field.
pub fn load(path: &Path, secrets_prefix: &str) -> Result<Result<TenantConfig, Vec<ConfigProblem>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed: Result<ConfigFile, String> = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_norway::from_str(&text).map_err(|e| e.to_string())
    };
    Ok(match parsed {
        Ok(file) => file.validate(secrets_prefix, |v| std::env::var(v).ok()),
        Err(e) => Err(vec![ConfigProblem {
            field: path.display().to_string(),
            reason: e,
        }]),
    })
}

/// What `show` prints of a file: everything but the download source (it holds a token).
#[derive(Serialize)]
struct FileView<'a> {
    #[serde(flatten)]
    file: FileViewInner<'a>,
}

#[derive(Serialize)]
struct FileViewInner<'a> {
    file_id: &'a str,
    kind: &'a shared::model::FileKind,
    vendor_type: &'a str,
    segment_start: String,
    expected_size: Option<u64>,
    state: shared::model::FileState,
    s3_key: &'a str,
    attempts: u32,
    last_error: Option<&'a str>,
    /// While a transfer is unfinished: bytes stored so far, of how many, and the parts stored.
    progress: Option<serde_json::Value>,
    stored: Option<&'a shared::catalog::StoredObject>,
    /// Earlier versions, changed at the vendor after we archived them; their objects are kept.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    superseded: &'a [shared::catalog::StoredObject],
}

/// `{"bytes_done", "bytes_total", "percent", "parts"}` of an unfinished transfer.
fn progress(f: &FileEntry) -> Option<serde_json::Value> {
    let (done, total) = f.progress()?;
    let parts = f.checkpoint.as_ref().map_or(0, |c| c.parts.len());
    Some(serde_json::json!({
        "bytes_done": done,
        "bytes_total": total,
        "percent": total.filter(|t| *t > 0).map(|t| (done as f64 * 1000.0 / t as f64).round() / 10.0),
        "parts": parts,
    }))
}

/// The JSON `show` prints.
pub fn entry_json(rec: &RecordingEntry, files: &[FileEntry]) -> serde_json::Value {
    let mut files: Vec<_> = files.iter().collect();
    files.sort_by(|a, b| {
        (a.segment_start, a.file_id.as_str()).cmp(&(b.segment_start, b.file_id.as_str()))
    });
    let views: Vec<_> = files
        .iter()
        .map(|f| FileView {
            file: FileViewInner {
                file_id: f.file_id.as_str(),
                kind: &f.kind,
                vendor_type: &f.vendor_type,
                segment_start: f.segment_start.to_rfc3339(),
                expected_size: f.expected_size,
                state: f.state,
                s3_key: &f.s3_key,
                attempts: f.attempts,
                last_error: f.last_error.as_deref(),
                progress: progress(f),
                stored: f.stored.as_ref(),
                superseded: &f.superseded,
            },
        })
        .collect();
    let mut segments: Vec<_> = files.iter().map(|f| f.segment_start).collect();
    segments.sort();
    segments.dedup();
    let titled = rec.titled();
    serde_json::json!({
        "title": titled.title,
        "description": titled.description,
        "recording": rec,
        "segments": segments.len(),
        "files": views,
    })
}

/// A tenant's retention in words.
/// The stored connection a command names; `None` (said on stderr) if there is none.
async fn stored_connection(
    store: &DynamoConfig,
    name: &str,
) -> Result<Option<shared::config::Connection>> {
    let id = shared::ids::ConnectionId::parse(name)?;
    let found = shared::ports::ConfigStore::connection(store, &id).await?;
    if found.is_none() {
        eprintln!("no connection {id}");
    }
    Ok(found)
}

pub fn describe_retention(t: &shared::config::Tenant) -> String {
    let Some(r) = &t.retention else {
        return "no retention rule of its own (the deployment's lifecycle applies)".into();
    };
    let mut parts = vec![];
    if let Some(d) = r.transition_after_days {
        parts.push(format!("to {} after {d} days", r.storage_class.as_str()));
    }
    if let Some(d) = r.expire_after_days {
        parts.push(format!("expired after {d} days"));
    }
    format!(
        "retention rule {} on {}/: {}",
        shared::aws::s3::tenant_rule_id(&t.id),
        shared::keys::tenant_prefix(&t.id),
        parts.join(", ")
    )
}

/// The deletion sweep as `deletions` runs it: the deployed function's code over the same tables, bucket
/// and vendor clients, its audit records signed `archiver-admin deletions --execute`.
pub type AdminDeleter = deleter::handler::Deleter<
    DynamoConfig,
    DynamoCatalog,
    shared::aws::s3::S3Sink,
    shared::vendors::Vendors<
        shared::zoom::api::HttpZoomConnections,
        shared::webex::HttpWebexConnections,
    >,
    shared::aws::sqs::SqsQueue,
>;

/// Builds [`AdminDeleter`]; `limit` bounds the recordings taken per connection. `events_queue_url` is where
/// `backfill --remote` and `--watch`: hand the run to the deployment (unless only watching), then show its
/// progress until it finishes (0) or stops (1, with the reason).
async fn backfill_remote(
    aws: &aws_config::SdkConfig,
    places: backfill::Places<'_>,
    opts: &backfill::Options,
) -> Result<i32> {
    let catalog = places.catalog_table.to_owned();
    let req = if opts.watch {
        opts.request()?
    } else {
        match backfill::hand_over(aws, places, opts).await? {
            backfill::Handed::AlreadyFinished(run) => {
                println!(
                    "this range was imported already ({} units): {}",
                    run.units,
                    backfill::counts_line(&run.counts)
                );
                return Ok(0);
            }
            backfill::Handed::Queued(req) => {
                println!(
                    "handed to the deployment: {} over {}; it goes on without this command (Ctrl-C stops \
                     only the view; `backfill --watch` with the same range shows it again)",
                    req.connection,
                    req.range.id()
                );
                if opts.detach {
                    return Ok(0);
                }
                req
            }
        }
    };
    let store = DynamoCatalog::new(aws_sdk_dynamodb::Client::new(aws), catalog);
    let poll = std::time::Duration::from_secs_f64(opts.poll_secs.clamp(0.1, 300.0));
    let run = backfill::watch(&store, &req, poll, None).await?;
    println!("{}", backfill::status_line(&run));
    Ok(if run.state == shared::backfill::RunState::Finished {
        0
    } else {
        1
    })
}

/// The recording an event file describes, read as enqueue reads it: a Zoom webhook body (with `event`) or a
/// recording object as Zoom's API lists it; a Webex webhook body, whose recording the Webex API is asked for.
async fn event_recording(
    aws: &aws_config::SdkConfig,
    conn: &shared::config::Connection,
    body: &[u8],
) -> Result<shared::model::Recording, shared::error::Error> {
    match conn.vendor {
        Vendor::Zoom => {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| shared::error::Error::data(format!("not JSON: {e}")))?;
            if v.get("event").is_some() {
                shared::zoom::ingest::recording(body)
            } else {
                let now = chrono::Utc::now().timestamp_millis();
                shared::zoom::ingest::api_recording(body, &conn.account_id, now)
            }
        }
        Vendor::Webex => {
            let webex = shared::aws::webex_connections(aws);
            shared::webex::ingest::recording(&webex, conn, body).await
        }
    }
}

/// a recording with files never archived goes back to enqueue (used by `--execute` only).
pub fn deleter(
    aws: &aws_config::SdkConfig,
    config_table: &str,
    catalog_table: &str,
    media_bucket: &str,
    events_queue_url: &str,
    limit: i32,
) -> AdminDeleter {
    let ddb = aws_sdk_dynamodb::Client::new(aws);
    deleter::handler::Deleter {
        config: DynamoConfig::new(ddb.clone(), config_table),
        catalog: DynamoCatalog::new(ddb, catalog_table),
        objects: shared::aws::s3::S3Sink::new(shared::aws::s3_client(aws), media_bucket),
        vendors: shared::vendors::Vendors {
            zoom: shared::aws::zoom_connections(aws),
            webex: shared::aws::webex_connections(aws),
        },
        events: shared::aws::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(aws), events_queue_url),
        rules: deleter::handler::Rules {
            batch: limit.clamp(1, 1000),
            by: "archiver-admin deletions --execute".into(),
        },
    }
}

pub async fn run(cli: Cli) -> Result<i32> {
    let aws = shared::aws::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&aws);
    let need = |name: &str, v: &str| -> Result<()> {
        anyhow::ensure!(
            !v.is_empty(),
            "--{name} (or its environment variable) is required"
        );
        Ok(())
    };
    match cli.command {
        Command::Apply {
            file,
            secrets_prefix,
            dry_run,
            prune,
        } => {
            let cfg = match load(&file, &secrets_prefix)? {
                Ok(cfg) => cfg,
                Err(problems) => {
                    eprintln!("{} is not valid:", file.display());
                    for p in problems {
                        eprintln!("  {}: {}", p.field, p.reason);
                    }
                    return Ok(2);
                }
            };
            let valid = format!(
                "{} is valid: tenant {}, {} connection(s), {} user(s); {}",
                file.display(),
                cfg.tenant.id,
                cfg.connections.len(),
                cfg.users.len(),
                describe_retention(&cfg.tenant)
            );
            if dry_run && cli.config_table.is_empty() {
                println!("{valid}");
                println!(
                    "(no --config-table: not compared with what is stored; nothing was written)"
                );
                return Ok(0);
            }
            need("config-table", &cli.config_table)?;
            if cfg.tenant.retention.is_some() && cli.media_bucket.is_empty() && !dry_run {
                eprintln!(
                    "tenant.retention needs --media-bucket (or MEDIA_BUCKET): apply writes the tenant's lifecycle rule into the bucket; nothing was written"
                );
                return Ok(2);
            }
            let store = DynamoConfig::new(ddb, cli.config_table);
            let snap = store.snapshot(&cfg.tenant.id).await?;
            println!("{valid}");
            let (plan, applied) =
                match write_plan(&store, &snap, &cfg, dry_run, prune, vec![]).await? {
                    Ok(done) => done,
                    Err(code) => return Ok(code),
                };
            // Secret values only once the records are ours to write (a refused apply writes none).
            let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
            for s in &cfg.secrets {
                secrets
                    .put(&s.secret_id, &s.value)
                    .await
                    .with_context(|| format!("writing secret {}", s.secret_id))?;
                println!("secret {} stored", s.secret_id);
            }
            if !cli.media_bucket.is_empty() {
                let rules = shared::aws::s3::sync_tenant_retention(
                    &shared::aws::s3_client(&aws),
                    &cli.media_bucket,
                    &cfg.tenant.id,
                    cfg.tenant.retention.as_ref(),
                )
                .await?;
                println!(
                    "{} (bucket lifecycle rules now: {})",
                    describe_retention(&cfg.tenant),
                    rules.join(", ")
                );
            }
            println!(
                "tenant {} applied (revision {}): {} record(s) written, {} removed, {} unchanged",
                cfg.tenant.id, applied.rev, applied.written, applied.removed, plan.unchanged
            );
            for c in &cfg.connections {
                println!(
                    "  webhook for {}: POST <api>/webhooks/{}/{}",
                    c.id, c.vendor, c.id
                );
            }
            Ok(0)
        }
        Command::WebexWebhooks { action } => {
            need("config-table", &cli.config_table)?;
            let (WebhookAction::Ensure {
                connection,
                webhook_base_url,
            }
            | WebhookAction::List {
                connection,
                webhook_base_url,
            }) = action.clone();
            let store = DynamoConfig::new(ddb, cli.config_table);
            let Some(conn) = stored_connection(&store, &connection).await? else {
                return Ok(1);
            };
            if conn.vendor != Vendor::Webex {
                eprintln!(
                    "connection {connection} is a {} connection, not webex",
                    conn.vendor
                );
                return Ok(2);
            }
            let api =
                shared::webex::WebexConnections::api(&shared::aws::webex_connections(&aws), &conn)
                    .await?;
            let target = webex::target_url(&webhook_base_url, &conn);
            match action {
                WebhookAction::Ensure { .. } => {
                    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
                    let (secret, generated) = webex::webhook_secret(&secrets, &conn).await?;
                    if generated {
                        println!(
                            "webhook secret generated and stored in {}",
                            conn.webhook_secret_ref
                        );
                    }
                    for r in webex::ensure(api.as_ref(), &conn, &target, &secret).await? {
                        println!("{r}");
                    }
                }
                WebhookAction::List { .. } => {
                    for (ours, w) in webex::list(api.as_ref(), &target).await? {
                        println!(
                            "{}{}\t{}.{}\t{}\t{}\t{}",
                            if ours { "* " } else { "  " },
                            w.id,
                            w.resource,
                            w.event,
                            w.status,
                            w.owned_by.as_deref().unwrap_or("creator"),
                            w.target_url
                        );
                    }
                }
            }
            Ok(0)
        }
        Command::WebexServiceAppToken {
            connection,
            application_id,
            client_id,
            client_secret_env,
            issuer_token_env,
        } => {
            need("config-table", &cli.config_table)?;
            let read = |var: &str| -> Result<shared::ports::SecretString> {
                let v = std::env::var(var).with_context(|| format!("${var} is not set"))?;
                anyhow::ensure!(!v.trim().is_empty(), "${var} is empty");
                Ok(shared::ports::SecretString::new(v.trim()))
            };
            let (secret, issuer) = (read(&client_secret_env)?, read(&issuer_token_env)?);
            let store = DynamoConfig::new(ddb, cli.config_table);
            let Some(conn) = stored_connection(&store, &connection).await? else {
                return Ok(1);
            };
            let Some(target) = conn
                .credentials_ref
                .clone()
                .filter(|_| conn.vendor == Vendor::Webex)
            else {
                eprintln!("connection {connection} is not a Webex connection with credentials_ref");
                return Ok(2);
            };
            let creds = shared::webex::auth::service_app_token(
                &reqwest::Client::new(),
                conn.api_base_url.as_str(),
                &application_id,
                &issuer,
                &client_id,
                &secret,
                conn.account_id.as_str(),
            )
            .await?;
            let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
            secrets
                .put(&target, &serde_json::to_string(&creds)?)
                .await?;
            println!(
                "service app tokens stored in {target} (access token valid until {})",
                creds.expires_at
            );
            Ok(0)
        }
        Command::Show { recording } => {
            need("catalog-table", &cli.catalog_table)?;
            let key = recording.key()?;
            let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
            let Some(rec) = CatalogReader::get_recording(&catalog, &key).await? else {
                eprintln!("no recording {key} in the catalog");
                return Ok(1);
            };
            let files = catalog.list_files(&key).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&entry_json(&rec, &files))?
            );
            Ok(0)
        }
        Command::Retry {
            connection,
            instance,
            file,
            limit,
        } => {
            need("config-table", &cli.config_table)?;
            need("catalog-table", &cli.catalog_table)?;
            need("owner-queue-url", &cli.owner_queue_url)?;
            let store = DynamoConfig::new(ddb.clone(), cli.config_table);
            let Some(conn) = stored_connection(&store, &connection).await? else {
                return Ok(1);
            };
            let scope = retry::Scope {
                instance: instance.map(InstanceId::parse).transpose()?,
                file: file.map(shared::ids::FileId::parse).transpose()?,
                limit,
            };
            let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
            let owners = shared::aws::sqs::SqsQueue::new(
                aws_sdk_sqs::Client::new(&aws),
                cli.owner_queue_url,
            );
            let report = retry::retry(&catalog, &owners, &conn, &scope, chrono::Utc::now()).await?;
            for r in &report {
                println!("{}\t{}\t{}", r.recording, r.file, r.outcome);
            }
            let reopened = report
                .iter()
                .filter(|r| r.outcome.starts_with("reopened"))
                .count();
            println!("{reopened} file(s) reopened");
            Ok(if report.is_empty() { 1 } else { 0 })
        }
        Command::AssignOwner {
            connection,
            instance,
            owner,
        } => {
            need("config-table", &cli.config_table)?;
            need("catalog-table", &cli.catalog_table)?;
            let id = shared::ids::ConnectionId::parse(&connection)?;
            let owner = shared::ids::UserId::parse(&owner)?;
            let store = DynamoConfig::new(ddb.clone(), cli.config_table);
            let Some(conn) = shared::ports::ConfigStore::connection(&store, &id).await? else {
                eprintln!("no connection {connection}");
                return Ok(1);
            };
            let key = RecordingKey {
                vendor: conn.vendor,
                account: conn.account_id.clone(),
                instance: InstanceId::parse(&instance)?,
            };
            need("media-bucket", &cli.media_bucket)?;
            let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
            let objects =
                shared::aws::s3::S3Sink::new(shared::aws::s3_client(&aws), cli.media_bucket);
            let now = chrono::Utc::now();
            match quarantine::assign_owner(&catalog, &store, &objects, &conn, &key, &owner, now)
                .await?
            {
                Ok(lines) => {
                    for l in lines {
                        println!("{l}");
                    }
                    Ok(0)
                }
                Err(why) => {
                    eprintln!("{why}");
                    Ok(1)
                }
            }
        }
        Command::Quarantine { connection, limit } => {
            need("config-table", &cli.config_table)?;
            need("catalog-table", &cli.catalog_table)?;
            let store = DynamoConfig::new(ddb.clone(), cli.config_table);
            let Some(conn) = stored_connection(&store, &connection).await? else {
                return Ok(1);
            };
            let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
            let lines = quarantine::list(&catalog, &conn, limit, chrono::Utc::now()).await?;
            for l in &lines {
                println!("{l}");
            }
            println!("{} recording(s) in quarantine on {}", lines.len(), conn.id);
            Ok(0)
        }
        Command::Deletions {
            connection,
            due,
            execute,
            limit,
        } => {
            need("config-table", &cli.config_table)?;
            need("catalog-table", &cli.catalog_table)?;
            need("media-bucket", &cli.media_bucket)?;
            if execute {
                need("events-queue-url", &cli.events_queue_url)?;
            }
            let deleter = deleter(
                &aws,
                &cli.config_table,
                &cli.catalog_table,
                &cli.media_bucket,
                &cli.events_queue_url,
                limit,
            );
            let id = connection
                .as_deref()
                .map(shared::ids::ConnectionId::parse)
                .transpose()?;
            let mut conns = shared::ports::ConnectionList::connections(&deleter.config).await?;
            if let Some(id) = &id {
                conns.retain(|c| &c.id == id);
                if conns.is_empty() {
                    eprintln!("no connection {id}");
                    return Ok(1);
                }
            }
            let at = shared::batch::Invocation::now();
            if execute {
                let req = serde_json::json!({ "connection": id });
                let report = shared::batch::Handler::handle(&deleter, req, &at).await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(if report.errors > 0 { 1 } else { 0 });
            }
            for conn in &conns {
                let found = deletions::look(&deleter, conn, &at, due, limit).await?;
                for line in deletions::lines(&found) {
                    println!("{line}");
                }
            }
            Ok(0)
        }
        Command::Disconnect {
            connection,
            recovery_days,
        } => {
            need("config-table", &cli.config_table)?;
            let store = DynamoConfig::new(ddb, cli.config_table);
            let Some(conn) = stored_connection(&store, &connection).await? else {
                return Ok(1);
            };
            let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws));
            let webex = shared::aws::webex_connections(&aws);
            for line in
                disconnect::disconnect(&conn, &store, &secrets, &webex, recovery_days).await?
            {
                println!("{line}");
            }
            Ok(0)
        }
        Command::RetentionSync => {
            need("config-table", &cli.config_table)?;
            need("media-bucket", &cli.media_bucket)?;
            let store = DynamoConfig::new(ddb, cli.config_table);
            let mut tenants: Vec<TenantId> = shared::ports::ConnectionList::connections(&store)
                .await?
                .into_iter()
                .map(|c| c.tenant)
                .collect();
            tenants.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            tenants.dedup();
            let s3 = shared::aws::s3_client(&aws);
            for id in tenants {
                let Some(t) = store.tenant(&id).await? else {
                    continue;
                };
                shared::aws::s3::sync_tenant_retention(
                    &s3,
                    &cli.media_bucket,
                    &t.id,
                    t.retention.as_ref(),
                )
                .await?;
                println!("tenant {id}: {}", describe_retention(&t));
            }
            Ok(0)
        }
        Command::Backfill(opts) => {
            need("config-table", &cli.config_table)?;
            need("catalog-table", &cli.catalog_table)?;
            let places = backfill::Places {
                config_table: &cli.config_table,
                catalog_table: &cli.catalog_table,
                events_queue_url: &cli.events_queue_url,
            };
            if opts.remote || opts.watch {
                return backfill_remote(&aws, places, &opts).await;
            }
            let counts = backfill::run(&aws, places, &opts).await?;
            let verb = if opts.dry_run {
                "a dry run: nothing was queued"
            } else {
                "queued to the events queue"
            };
            println!(
                "{} unit(s) listed: {} ({verb})",
                counts.units,
                backfill::counts_line(&counts)
            );
            if counts.unreadable > 0 {
                println!(
                    "{} listed item(s) could not be read (shown above)",
                    counts.unreadable
                );
                return Ok(1);
            }
            Ok(0)
        }
        Command::Explain {
            event,
            connection,
            vendor,
            account,
            instance,
        } => {
            need("config-table", &cli.config_table)?;
            let config = DynamoConfig::new(ddb.clone(), cli.config_table);
            let lines = match (event, connection, account, instance) {
                (Some(file), Some(conn), _, _) => {
                    let id = shared::ids::ConnectionId::parse(&conn)?;
                    let Some(conn) = shared::ports::ConfigStore::connection(&config, &id).await?
                    else {
                        eprintln!("no connection {id}");
                        return Ok(1);
                    };
                    let body = std::fs::read(&file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let rec = match event_recording(&aws, &conn, &body).await {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("{}: {e}", file.display());
                            return Ok(2);
                        }
                    };
                    shared::explain::replay(&rec, &conn, &config, chrono::Utc::now()).await?
                }
                (None, _, Some(account), Some(instance)) => {
                    need("catalog-table", &cli.catalog_table)?;
                    let key = RecordingArgs {
                        vendor,
                        account,
                        instance,
                    }
                    .key()?;
                    let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
                    let Some(entry) = catalog.get_recording(&key).await? else {
                        eprintln!("no recording {key} in the catalog");
                        return Ok(1);
                    };
                    let files = catalog.list_files(&key).await?;
                    shared::explain::recorded(&entry, &files)
                }
                _ => {
                    eprintln!(
                        "give --event FILE with --connection, or --account and --instance of a catalogued recording"
                    );
                    return Ok(2);
                }
            };
            for line in lines {
                println!("{line}");
            }
            Ok(0)
        }
        Command::Users {
            action:
                UsersAction::Import {
                    tenant,
                    file,
                    dry_run,
                    prune,
                },
        } => {
            need("config-table", &cli.config_table)?;
            let tenant = TenantId::parse(&tenant)?;
            let store = DynamoConfig::new(ddb, cli.config_table);
            let snap = store.snapshot(&tenant).await?;
            let Some(stored) = &snap.tenant else {
                eprintln!("no tenant {tenant}: apply its file first (archiver-admin apply)");
                return Ok(1);
            };
            let refused = |problems: Vec<ConfigProblem>| {
                eprintln!("{} is not valid:", file.display());
                for p in problems {
                    eprintln!("  {}: {}", p.field, p.reason);
                }
                eprintln!("nothing was written");
                Ok(2)
            };
            let entries = match users::read(&file)? {
                Ok(e) => e,
                Err(problems) => return refused(problems),
            };
            let imported = match shared::config_file::validate_directory(
                &entries,
                &tenant,
                &stored.value.groups,
                users::line_name,
            ) {
                Ok(u) => u,
                Err(problems) => return refused(problems),
            };
            println!(
                "{} is valid: {} user(s) for tenant {tenant}",
                file.display(),
                imported.len()
            );
            let cfg = users::with_users(&snap, &stored.value, imported);
            let mut problems = Vec::new();
            if prune {
                for c in &cfg.connections {
                    if !cfg.users.iter().any(|u| u.id == c.default_owner) {
                        problems.push(format!(
                            "user {} is the default owner of connection {}: keep them in the file (or change                              the connection's default_owner first)",
                            c.default_owner, c.id
                        ));
                    }
                }
            }
            let (plan, applied) =
                match write_plan(&store, &snap, &cfg, dry_run, prune, problems).await? {
                    Ok(done) => done,
                    Err(code) => return Ok(code),
                };
            println!(
                "directory of tenant {tenant} imported (revision {}): {} record(s) written, {} removed, {} unchanged",
                applied.rev, applied.written, applied.removed, plan.unchanged
            );
            Ok(0)
        }
        Command::Users {
            action:
                UsersAction::Sync {
                    connection,
                    dry_run,
                },
        } => {
            need("config-table", &cli.config_table)?;
            let store = DynamoConfig::new(ddb, cli.config_table);
            let Some(conn) = stored_connection(&store, &connection).await? else {
                return Ok(1);
            };
            let snap = store.snapshot(&conn.tenant).await?;
            let Some(stored) = &snap.tenant else {
                eprintln!("no tenant {}", conn.tenant);
                return Ok(1);
            };
            let listed = match conn.vendor {
                Vendor::Zoom => {
                    let api = shared::zoom::api::ZoomConnections::api(
                        &shared::aws::zoom_connections(&aws),
                        &conn,
                    )
                    .await?;
                    users::zoom_people(api.as_ref(), &stored.value.groups).await?
                }
                Vendor::Webex => {
                    let api = shared::webex::WebexConnections::api(
                        &shared::aws::webex_connections(&aws),
                        &conn,
                    )
                    .await?;
                    users::webex_people(api.as_ref()).await?
                }
            };
            let current: Vec<_> = snap.users.iter().map(|u| u.value.clone()).collect();
            let synced = shared::directory::merge(
                &conn.tenant,
                conn.vendor,
                &current,
                &listed.people,
                &listed.managed,
            );
            println!(
                "{} lists {} user(s) on connection {}",
                conn.vendor,
                listed.people.len(),
                conn.id
            );
            if !listed.managed.is_empty() {
                let names: Vec<&str> = listed.managed.iter().map(|g| g.as_str()).collect();
                println!(
                    "  groups kept in step with {}: {}",
                    conn.vendor,
                    names.join(", ")
                );
            }
            for n in listed.notes.iter().chain(&synced.notes) {
                println!("  not taken: {n}");
            }
            let cfg = users::with_users(&snap, &stored.value, synced.users);
            let (plan, applied) =
                match write_plan(&store, &snap, &cfg, dry_run, false, vec![]).await? {
                    Ok(done) => done,
                    Err(code) => return Ok(code),
                };
            println!(
                "directory of tenant {} synced from {} (revision {}): {} record(s) written, {} unchanged",
                conn.tenant, conn.id, applied.rev, applied.written, plan.unchanged
            );
            Ok(0)
        }
        Command::Users {
            action: UsersAction::List { tenant },
        } => {
            need("config-table", &cli.config_table)?;
            let tenant = TenantId::parse(&tenant)?;
            let store = DynamoConfig::new(ddb, cli.config_table);
            let snap = store.snapshot(&tenant).await?;
            if snap.tenant.is_none() {
                eprintln!("no tenant {tenant}");
                return Ok(1);
            }
            for u in &snap.users {
                println!("{}", user_line(&u.value));
            }
            let blocked = snap
                .users
                .iter()
                .filter(|u| u.value.status == shared::config::UserStatus::Blocked)
                .count();
            println!("{} user(s), {blocked} blocked", snap.users.len());
            Ok(0)
        }
        Command::Audit { recording } => {
            need("catalog-table", &cli.catalog_table)?;
            let key = recording.key()?;
            let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
            let records = shared::catalog::DeleterCatalog::audit(&catalog, &key).await?;
            if records.is_empty() {
                eprintln!("no deletion attempt recorded for {key}");
                return Ok(1);
            }
            for r in &records {
                for line in deletions::audit_lines(r) {
                    println!("{line}");
                }
            }
            Ok(0)
        }
        Command::List {
            tenant,
            state,
            limit,
        } => {
            need("catalog-table", &cli.catalog_table)?;
            let tenant = TenantId::parse(tenant)?;
            let Some(state) = RecordingState::parse(&state) else {
                let all: Vec<&str> = RecordingState::ALL.iter().map(|s| s.as_str()).collect();
                eprintln!("state must be one of {}", all.join(", "));
                return Ok(2);
            };
            let catalog = DynamoCatalog::new(ddb, cli.catalog_table);
            for r in catalog.list_by_state(&tenant, state, limit).await? {
                println!(
                    "{}\t{}\t{}\t{}/{} files\tvendor copy {}\t{}",
                    r.start_time.to_rfc3339(),
                    r.key(),
                    r.owner.as_ref().map(|o| o.as_str()).unwrap_or("-"),
                    r.done_ids.len(),
                    r.file_ids.len(),
                    r.deletion
                        .as_ref()
                        .map_or("-".to_owned(), |d| match &d.reason {
                            Some(why) if !d.status.is_done() =>
                                format!("{} ({why})", d.status.as_str()),
                            _ => d.status.as_str().to_owned(),
                        }),
                    match &r.skip_reason {
                        Some(why) => format!("{}\tskipped: {why}", r.topic),
                        None => r.topic.clone(),
                    }
                );
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_validates_and_bad_files_name_fields() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/example-tenant.yaml");
        // The example takes its secret from $ZOOM_WEBHOOK_SECRET; without it, that is the one problem.
        let res = load(&example, "archiver/").unwrap();
        match res {
            Ok(cfg) => assert_eq!(cfg.tenant.id.as_str(), "example-university"),
            Err(p) => {
                assert_eq!(p.len(), 1, "{p:?}");
                assert!(p[0].field.contains("webhook_secret_env"), "{p:?}");
            }
        }
        let dir = std::env::temp_dir().join(format!("admin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(
            &bad,
            "tenant: {id: Bad, name: x}\nconnections: []\nusers: [{id: a, email: nope}]\n",
        )
        .unwrap();
        let problems = load(&bad, "archiver/").unwrap().unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["tenant.id", "users[0].email"]);
        std::fs::write(&bad, "tenant: [").unwrap();
        assert!(load(&bad, "archiver/").unwrap().is_err());
    }
}
