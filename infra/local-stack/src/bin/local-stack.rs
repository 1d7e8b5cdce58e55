//! `local-stack`: runs the whole pipeline locally until Ctrl-C or SIGTERM (see `local_stack`).

use std::path::{Path, PathBuf};

use clap::Parser;
use local_stack::{DEFAULT_STACK_NAME, LocalStack, StackOptions};
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Run the archiver locally: moto (or AWS_ENDPOINT_URL), the resources of template.yaml,
/// every function (with Lambda's deadlines, behind `cargo lambda watch`'s Lambda APIs), and an
/// SQS-to-Lambda bridge.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Stands in for the CloudFormation stack name (resource names derive from it).
    #[arg(long, default_value = DEFAULT_STACK_NAME)]
    stack_name: String,
    /// Port of `cargo lambda watch` on 127.0.0.1 (default: a free port).
    #[arg(long)]
    port: Option<u16>,
    /// Repository root (default: the nearest directory upwards with a template.yaml).
    #[arg(long)]
    repo_root: Option<PathBuf>,
}

fn find_repo_root() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|d| d.join("template.yaml").is_file() && d.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// The signals that stop the stack. The children run in their own process groups, so a signal
/// the parent does not handle would end it and leave them running (holding their ports).
struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    /// Handles SIGINT, SIGTERM and SIGHUP from now on (instead of dying of them).
    fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next of them and returns its name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut opts = StackOptions {
        stack_name: args.stack_name,
        invoke_port: args.port,
        ..StackOptions::default()
    };
    if let Some(root) = args.repo_root.or_else(find_repo_root) {
        opts.repo_root = root;
    }

    let mut signals = StopSignals::install()?;
    let stack = tokio::select! {
        stack = LocalStack::start(opts) => stack?,
        name = signals.recv() => {
            // Dropping the unfinished start kills the process groups it had started.
            eprintln!("{name} during startup: stopped");
            return Ok(());
        }
    };
    println!("AWS endpoint:   {}", stack.endpoint_url());
    println!("invoke base:    {}", stack.invoke_base());
    if let Some(url) = stack.functions_sqs_endpoint() {
        println!("functions' SQS: {url} (proxy noting visibility changes for the bridge)");
    }
    println!("resources:");
    for (id, value) in stack.resources() {
        println!("  {id:<26} {value}");
    }
    println!(
        "Zoom webhook:   POST {}",
        stack.webhook_url("zoom", "<connection_id>")
    );
    println!(
        "SDK env:        AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test",
        stack.endpoint_url(),
        stack.region()
    );
    println!("Press Ctrl-C (or send SIGTERM) to stop.");

    let name = signals.recv().await;
    println!("{name}: stopping...");
    tokio::select! {
        () = stack.shutdown() => {}
        // Dropping the unfinished shutdown kills the remaining process groups at once.
        name = signals.recv() => eprintln!("{name} again: killing the remaining processes"),
    }
    Ok(())
}
