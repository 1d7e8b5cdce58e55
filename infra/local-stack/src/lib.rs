//! The whole archiver pipeline on one machine, with no Docker and no AWS account.
//!
//! [`LocalStack::start`] brings up, in order:
//!
//! 1. **An AWS endpoint**: the one in `AWS_ENDPOINT_URL` when set, otherwise a moto server
//!    (`<repo_root>/.venv-aws/bin/moto_server`, see `infra/bootstrap.sh`) on a free port
//!    of 127.0.0.1.
//! 2. **The resources of `template.yaml`**: DynamoDB tables (keys, GSIs, billing mode, TTL),
//!    SQS queues (DLQs first, `RedrivePolicy`, `VisibilityTimeout`, ...) and S3 buckets, read
//!    from the template (see [`template`]); creating them again is harmless.
//! 3. **The functions**: their binaries are built (`cargo build --bin …`), `cargo lambda watch
//!    --only-lambda-apis` on 127.0.0.1 serves the Lambda APIs (invoke API, function URLs,
//!    runtime API), and the stack runs each function's instances itself (see [`lambda`]), so
//!    that every invocation gets the deadline of the function's `Timeout`, an instance that
//!    overruns it is killed, and one that dies is answered for and started again. Each
//!    function gets its own resolved `Environment.Variables`, the `AWS_*` variables pointing
//!    at the endpoint, `RUST_LOG` (default `info`), [`StackOptions::extra_env`] and the
//!    `AWS_LAMBDA_*` variables. Their SQS calls go through an [`sqs_proxy::SqsProxy`]
//!    (`AWS_ENDPOINT_URL_SQS`) that notes the visibility changes they make.
//! 4. **A bridge** standing in for Lambda's SQS event source mappings (see [`bridge`]): each
//!    function with an `SQS` event gets its queue's messages as SQS events, from
//!    `ScalingConfig.MaximumConcurrency` pollers (capped by [`StackOptions::max_concurrency`];
//!    one without it). A message stays invisible for its queue's visibility timeout while its
//!    invocation runs. A failed message comes back when the function said, if it changed the
//!    message's visibility (`Outcome::RetryAfter`), and otherwise after
//!    [`StackOptions::retry_delay`] rather than after the template's (minutes long) visibility
//!    timeout (with `retry_delay: None`, after the visibility timeout, as on Lambda); the
//!    queues' redrive policies still move a message to its DLQ after `maxReceiveCount` receives.
//!
//! [`StackOptions::overrides`] change template properties before all of this, as an edited
//! copy of the template would: a short `Timeout` for a function, say, with the queue's
//! `VisibilityTimeout` and the function's settings to match.
//!
//! The webhook function is reached through `cargo lambda watch`'s function URL,
//! [`LocalStack::webhook_url`]. Note that function URLs have no route templates: the function
//! sees the raw path (`/webhooks/zoom/<id>`) and no `pathParameters`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use local_stack::{LocalStack, StackOptions};
//! let stack = LocalStack::start(StackOptions::default()).await?;
//! println!("POST webhooks to {}", stack.webhook_url("zoom", "conn-1"));
//! let sqs = aws_sdk_sqs::Client::new(&stack.sdk_config().await);
//! let dlq = stack.physical("EventsDLQ").unwrap();
//! # let _ = (sqs, dlq);
//! stack.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod bridge;
pub mod lambda;
mod process;
pub mod provision;
pub mod sqs_proxy;
pub mod template;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::Command;
use tracing::{debug, info};

pub use lambda::{FunctionStats, InstanceInfo};
pub use process::free_port;
pub use template::PropertyOverride;

use crate::bridge::{Bridge, BridgeSettings, Mapping};
use crate::lambda::{FunctionRun, Functions};
use crate::process::GroupChild;
use crate::provision::Clients;
use crate::sqs_proxy::SqsProxy;
use crate::template::{FunctionSpec, Template};

/// Stack name used when none is given.
pub const DEFAULT_STACK_NAME: &str = "archiver-local";

/// How long to wait for moto and `cargo lambda watch` to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How to start a [`LocalStack`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The repository root: where `template.yaml`, the workspace `Cargo.toml` and `.venv-aws`
    /// live. `cargo lambda watch` runs here; logs go to `<target dir>/local-stack/`.
    pub repo_root: PathBuf,
    /// Stands in for `AWS::StackName` (names become e.g. `<stack>-events`). Default
    /// [`DEFAULT_STACK_NAME`]. Use a unique one per test to share a moto server safely.
    pub stack_name: String,
    /// Port of `cargo lambda watch` on 127.0.0.1; `None` picks a free port.
    pub invoke_port: Option<u16>,
    /// How soon a message whose processing failed is delivered again (default 2 s), unless the
    /// function changed its visibility. `None`: when the queue's visibility timeout ends, as on
    /// Lambda (give the queue a short `VisibilityTimeout` through [`StackOptions::overrides`]).
    pub retry_delay: Option<Duration>,
    /// The most pollers of one SQS mapping (default 2): a mapping gets
    /// `min(ScalingConfig.MaximumConcurrency, max_concurrency)` pollers, or one without a
    /// `ScalingConfig`. A function runs as many instances as its mappings have pollers
    /// (`max_concurrency` for one behind an HTTP route, 1 for any other).
    pub max_concurrency: u32,
    /// Extra environment variables for every function; they override everything else
    /// (e.g. `RUST_LOG`, or a vendor API base URL pointing at a simulator).
    pub extra_env: Vec<(String, String)>,
    /// Template properties to change before anything is created, in order (see
    /// [`PropertyOverride`]): e.g. `DownloaderFunction` `Timeout` 10 for invocations with a
    /// ten-second deadline, `Environment.Variables.LEASE_SECS` of a function, or a queue's
    /// `VisibilityTimeout`. Default: none.
    pub overrides: Vec<PropertyOverride>,
    /// Send the output of the build, of `cargo lambda watch` and of the functions to files
    /// under `<target dir>/local-stack/` instead of this process's stdout/stderr.
    pub quiet: bool,
}

impl Default for StackOptions {
    /// Options for this checkout (the repository that contains this crate), stack
    /// [`DEFAULT_STACK_NAME`], a free port, 2 s retry delay, at most 2 pollers per mapping, no
    /// extra environment, no overrides, not quiet.
    fn default() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        StackOptions {
            repo_root: root.canonicalize().unwrap_or(root),
            stack_name: DEFAULT_STACK_NAME.into(),
            invoke_port: None,
            retry_delay: Some(Duration::from_secs(2)),
            max_concurrency: 2,
            extra_env: Vec::new(),
            overrides: Vec::new(),
            quiet: false,
        }
    }
}

/// A running local stack. Stop it with [`LocalStack::shutdown`]; dropping it also kills the
/// child processes with everything they started (their process groups), but without waiting
/// for them.
#[derive(Debug)]
pub struct LocalStack {
    endpoint: String,
    invoke_port: u16,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    physical: BTreeMap<String, String>,
    function_env: BTreeMap<String, BTreeMap<String, String>>,
    functions: Vec<FunctionSpec>,
    bridge: Option<Bridge>,
    sqs_proxy: Option<SqsProxy>,
    instances: Option<Functions>,
    watch: Option<GroupChild>,
    moto: Option<GroupChild>,
    logs: PathBuf,
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Variables cargo sets for the crate it runs (not user configuration such as `CARGO_HOME`).
fn is_crate_env(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_")
        || matches!(
            key,
            "CARGO"
                | "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// Where cargo puts its output for `repo_root` (honours `CARGO_TARGET_DIR`).
fn target_dir(repo_root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root.join(dir),
        None => repo_root.join("target"),
    }
}

/// The environment a function gets: its template variables, the AWS settings, `RUST_LOG`,
/// then `extra_env`.
fn build_function_env(
    function: &FunctionSpec,
    aws: &[(&str, &str)],
    extra_env: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut env = function.environment.clone();
    for (k, v) in aws {
        env.insert(k.to_string(), v.to_string());
    }
    env.insert("RUST_LOG".into(), "info".into());
    for (k, v) in extra_env {
        env.insert(k.clone(), v.clone());
    }
    env
}

/// The variables Lambda sets for a function's runtime (`AWS_LAMBDA_RUNTIME_API` and the log
/// stream are per instance, see [`lambda`]).
fn lambda_env(f: &FunctionSpec) -> [(String, String); 4] {
    [
        ("AWS_LAMBDA_FUNCTION_NAME".into(), f.binary.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            f.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{}", f.binary),
        ),
    ]
}

/// A command that runs in `repo_root` without the `CARGO_*` variables of the crate this process
/// was started for: build scripts (ring's) track some of them, so passing them on would make the
/// build redo half the dependency tree whenever it runs from somewhere other than a plain
/// `cargo build`.
fn repo_command(program: &Path, repo_root: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(repo_root);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if is_crate_env(&key) {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// Builds the functions' binaries (`cargo build --bin …`, the dev profile, as `cargo run`
/// would) and returns how long that took.
async fn build_functions(
    repo_root: &Path,
    binaries: &[&str],
    log: Option<&Path>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("cargo"));
    let mut cmd = repo_command(&cargo, repo_root);
    cmd.arg("build");
    for b in binaries {
        cmd.args(["--bin", b]);
    }
    let mut build = GroupChild::spawn("cargo build", cmd, log)?;
    let status = build.wait().await?;
    if !status.success() {
        let tail = log.map(process::log_tail).unwrap_or_default();
        bail!(
            "building the functions ({}) failed: {status}{tail}",
            binaries.join(", ")
        );
    }
    Ok(started.elapsed())
}

async fn start_moto(repo_root: &Path, logs: &Path) -> anyhow::Result<(GroupChild, String)> {
    let moto = process::find_tool(repo_root, "moto_server").with_context(|| {
        format!(
            "moto_server not found in {}/.venv-aws/bin or on PATH; run infra/bootstrap.sh",
            repo_root.display()
        )
    })?;
    let port = free_port()?;
    let mut cmd = Command::new(&moto);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .current_dir(repo_root);
    let log = logs.join(format!("moto-{port}.log"));
    let mut child = GroupChild::spawn("moto_server", cmd, Some(&log))?;
    let endpoint = format!("http://{}:{port}", Ipv4Addr::LOCALHOST);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        child.ensure_running()?;
        if let Ok(resp) = http.get(format!("{endpoint}/moto-api/")).send().await
            && resp.status().is_success()
        {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "moto did not answer on {endpoint} within {STARTUP_TIMEOUT:?}{}",
                process::log_tail(&log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    info!(%endpoint, pid = ?child.id(), log = %log.display(), "moto server ready");
    Ok((child, endpoint))
}

impl LocalStack {
    /// Starts the stack (see the crate documentation for the steps). On error, whatever was
    /// started is stopped again.
    pub async fn start(opts: StackOptions) -> anyhow::Result<LocalStack> {
        let repo_root = opts
            .repo_root
            .canonicalize()
            .with_context(|| format!("repository root {}", opts.repo_root.display()))?;
        let template_path = repo_root.join("template.yaml");
        let text = std::fs::read_to_string(&template_path)
            .with_context(|| format!("reading {}", template_path.display()))?;
        let mut template = Template::parse(&text)
            .with_context(|| format!("parsing {}", template_path.display()))?;
        template
            .apply(&opts.overrides)
            .context("applying StackOptions::overrides")?;
        let logs = target_dir(&repo_root).join("local-stack");
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;

        let region = env_or("AWS_REGION", "us-east-1");
        let access_key_id = env_or("AWS_ACCESS_KEY_ID", "test");
        let secret_access_key = env_or("AWS_SECRET_ACCESS_KEY", "test");

        // 1. AWS endpoint.
        let (moto, endpoint) = match std::env::var("AWS_ENDPOINT_URL") {
            Ok(url) if !url.is_empty() => (None, url.trim_end_matches('/').to_string()),
            _ => {
                let (child, url) = start_moto(&repo_root, &logs).await?;
                (Some(child), url)
            }
        };
        // From here on, `stack` owns every child, so an error stops them (Drop).
        let mut stack = LocalStack {
            endpoint,
            invoke_port: 0,
            region,
            access_key_id,
            secret_access_key,
            physical: BTreeMap::new(),
            function_env: BTreeMap::new(),
            functions: Vec::new(),
            bridge: None,
            sqs_proxy: None,
            instances: None,
            watch: None,
            moto,
            logs: logs.clone(),
        };

        // 2. Resources from the template.
        let conf = stack.sdk_config().await;
        let clients = Clients::new(&conf);
        let mut plan = template.plan(&opts.stack_name, &stack.region)?;
        provision::provision(&clients, &mut plan)
            .await
            .with_context(|| {
                format!(
                    "provisioning the template's resources at {}",
                    stack.endpoint
                )
            })?;
        let functions = template.functions(&plan.context)?;
        stack.physical = plan.context.refs().clone();
        for f in &functions {
            stack
                .physical
                .insert(f.logical_id.clone(), f.binary.clone());
        }
        info!(stack = %opts.stack_name, resources = plan.resources.len(), "resources ready");

        // The SQS event source mappings (the bridge starts last, once the functions listen).
        let mut mappings = Vec::new();
        for f in &functions {
            for ev in &f.sqs_events {
                let queue_url = plan
                    .context
                    .get_ref(&ev.queue_logical_id)
                    .with_context(|| format!("no URL for queue {}", ev.queue_logical_id))?;
                let concurrency = ev
                    .maximum_concurrency
                    .map_or(1, |n| n.min(opts.max_concurrency))
                    .max(1);
                debug!(function = %f.binary, queue = %queue_url, batch = ev.batch_size, pollers = concurrency, "SQS mapping");
                mappings.push(Mapping {
                    function: f.binary.clone(),
                    queue_url: queue_url.to_string(),
                    queue_arn: ev.queue_arn.clone(),
                    batch_size: ev.batch_size,
                    report_batch_item_failures: ev.report_batch_item_failures,
                    concurrency,
                });
            }
        }

        // 3. Functions: built, the Lambda APIs from cargo lambda watch, instances run here, their
        // SQS calls through the proxy.
        let proxy = SqsProxy::start(&stack.endpoint)
            .await
            .context("starting the SQS proxy for the functions")?;
        let aws = [
            ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_SQS", proxy.url()),
            ("AWS_ACCESS_KEY_ID", stack.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", stack.secret_access_key.as_str()),
            ("AWS_REGION", stack.region.as_str()),
        ];
        stack.function_env = functions
            .iter()
            .map(|f| {
                (
                    f.binary.clone(),
                    build_function_env(f, &aws, &opts.extra_env),
                )
            })
            .collect();
        stack.sqs_proxy = Some(proxy);
        stack.invoke_port = match opts.invoke_port {
            Some(p) => p,
            None => free_port()?,
        };
        let port = stack.invoke_port;
        let quiet_log = |name: &str| opts.quiet.then(|| logs.join(format!("{name}-{port}.log")));

        if !functions.is_empty() {
            let binaries: Vec<&str> = functions.iter().map(|f| f.binary.as_str()).collect();
            let took =
                build_functions(&repo_root, &binaries, quiet_log("build").as_deref()).await?;
            info!(
                functions = binaries.len(),
                secs = took.as_secs_f64(),
                "function binaries built"
            );
        }

        let cargo_lambda = process::find_tool(&repo_root, "cargo-lambda").with_context(|| {
            format!(
                "cargo-lambda not found in {}/.venv-aws/bin or on PATH; run infra/bootstrap.sh",
                repo_root.display()
            )
        })?;
        let mut cmd = repo_command(&cargo_lambda, &repo_root);
        cmd.arg("lambda")
            .arg("watch")
            .arg("--only-lambda-apis")
            .args(["-A", "127.0.0.1", "-P", &port.to_string()]);
        // cargo-lambda's helpers (zig) live next to it in the venv.
        if let Some(bin_dir) = cargo_lambda.parent() {
            let mut paths = vec![bin_dir.to_path_buf()];
            if let Some(p) = std::env::var_os("PATH") {
                paths.extend(std::env::split_paths(&p));
            }
            cmd.env("PATH", std::env::join_paths(paths)?);
        }
        let watch_log = quiet_log("watch");
        let mut watch = GroupChild::spawn("cargo lambda watch", cmd, watch_log.as_deref())?;
        let ready = process::wait_for_port(&mut watch, port, STARTUP_TIMEOUT).await;
        stack.watch = Some(watch);
        ready.context("waiting for cargo lambda watch")?;
        info!(invoke = %stack.invoke_base(), pid = ?stack.watch.as_ref().and_then(GroupChild::id), "cargo lambda watch ready (Lambda APIs only)");

        let bin_dir = target_dir(&repo_root).join("debug");
        let runs = functions
            .iter()
            .map(|f| {
                let pollers: u32 = mappings
                    .iter()
                    .filter(|m| m.function == f.binary)
                    .map(|m| m.concurrency)
                    .sum();
                let instances = match pollers {
                    0 if !f.http_events.is_empty() => opts.max_concurrency.max(1),
                    0 => 1,
                    n => n,
                };
                let mut env = stack.function_env[&f.binary].clone();
                env.extend(lambda_env(f));
                FunctionRun {
                    binary: f.binary.clone(),
                    program: bin_dir.join(&f.binary),
                    args: Vec::new(),
                    timeout: Duration::from_secs(f.timeout_secs),
                    instances: instances as usize,
                    env,
                    log: quiet_log(&f.binary),
                }
            })
            .collect();
        stack.instances = Some(
            Functions::start(&format!("{}/.rt", stack.invoke_base()), runs)
                .await
                .context("starting the function instances")?,
        );
        stack.functions = functions;

        // 4. SQS event source mappings.
        let changes = stack
            .sqs_proxy
            .as_ref()
            .map(SqsProxy::changes)
            .unwrap_or_default();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(bridge::INVOKE_TIMEOUT)
            .build()?;
        stack.bridge = Some(Bridge::start(
            clients.sqs.clone(),
            http,
            mappings,
            BridgeSettings {
                invoke_base: stack.invoke_base(),
                retry_delay: opts.retry_delay,
                region: stack.region.clone(),
                changes,
            },
        ));
        Ok(stack)
    }

    /// The AWS endpoint the stack and the functions use (moto's URL, or `AWS_ENDPOINT_URL`).
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// The SQS endpoint the functions use (`AWS_ENDPOINT_URL_SQS`): the proxy that notes their
    /// visibility changes for the bridge (see [`sqs_proxy`]).
    pub fn functions_sqs_endpoint(&self) -> Option<&str> {
        self.sqs_proxy.as_ref().map(SqsProxy::url)
    }

    /// `http://127.0.0.1:<port>`: `cargo lambda watch`, for the invoke API
    /// (`/2015-03-31/functions/<binary>/invocations`) and function URLs (`/lambda-url/<binary>/..`).
    pub fn invoke_base(&self) -> String {
        format!("http://{}:{}", Ipv4Addr::LOCALHOST, self.invoke_port)
    }

    /// The invoke API URL of one function (its cargo binary name).
    pub fn invoke_url(&self, binary: &str) -> String {
        format!(
            "{}/2015-03-31/functions/{binary}/invocations",
            self.invoke_base()
        )
    }

    /// The URL to POST a vendor webhook to:
    /// `http://127.0.0.1:<port>/lambda-url/webhook-validator/webhooks/<vendor>/<connection_id>`.
    ///
    /// The function and path come from the template's `HttpApi` event (placeholders
    /// `{vendor}` and `{connection_id}` filled in).
    pub fn webhook_url(&self, vendor: &str, connection_id: &str) -> String {
        let (binary, path) = self
            .functions
            .iter()
            .find_map(|f| {
                f.http_events
                    .first()
                    .map(|e| (f.binary.as_str(), e.path.as_str()))
            })
            .unwrap_or(("webhook-validator", "/webhooks/{vendor}/{connection_id}"));
        let path = path
            .replace("{vendor}", vendor)
            .replace("{connection_id}", connection_id);
        format!("{}/lambda-url/{binary}{path}", self.invoke_base())
    }

    /// What a logical id of the template is locally: a table's or bucket's name, a queue's URL,
    /// a function's binary. `None` for ids the local stack does not create.
    pub fn physical(&self, logical_id: &str) -> Option<&str> {
        self.physical.get(logical_id).map(String::as_str)
    }

    /// Every logical id with its local physical value (see [`LocalStack::physical`]).
    pub fn resources(&self) -> &BTreeMap<String, String> {
        &self.physical
    }

    /// The functions of the template as the stack runs them (binary, environment, events).
    pub fn functions(&self) -> &[FunctionSpec] {
        &self.functions
    }

    /// The environment one function (its binary) is given, without the `AWS_LAMBDA_*`
    /// variables.
    pub fn function_env(&self, binary: &str) -> Option<&BTreeMap<String, String>> {
        self.function_env.get(binary)
    }

    /// The region the stack and its functions use.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// What happened to a function's instances and invocations so far (see [`FunctionStats`]);
    /// `None` for a binary the stack does not run.
    pub fn function_stats(&self, binary: &str) -> Option<FunctionStats> {
        self.instances.as_ref()?.stats(binary)
    }

    /// The instances of a function (its binary), with their process ids and the invocation
    /// each is running. Each instance leads its own process group.
    pub fn instances(&self, binary: &str) -> Vec<InstanceInfo> {
        self.instances
            .as_ref()
            .map(|i| i.instances(binary))
            .unwrap_or_default()
    }

    /// Where a function's output goes when the stack is quiet:
    /// `<target dir>/local-stack/<binary>-<port>.log` (appended to by all its instances).
    pub fn function_log(&self, binary: &str) -> PathBuf {
        self.logs.join(format!("{binary}-{}.log", self.invoke_port))
    }

    /// An SDK configuration for the stack's endpoint, region and credentials. Build S3 clients
    /// with `force_path_style(true)` (or use [`LocalStack::s3_client`]).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(self.region.clone()))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                &self.access_key_id,
                &self.secret_access_key,
                None,
                None,
                "local-stack",
            ))
            .load()
            .await
    }

    /// An S3 client for the stack's endpoint, with path-style addressing.
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        provision::s3_client(&self.sdk_config().await)
    }

    /// Stops the bridge, then the function instances, then `cargo lambda watch`, then moto if
    /// this stack started it.
    pub async fn shutdown(mut self) {
        if let Some(bridge) = self.bridge.take() {
            bridge.stop().await;
        }
        if let Some(instances) = self.instances.take() {
            instances.stop().await;
        }
        if let Some(watch) = self.watch.take() {
            watch.stop(Duration::from_secs(5)).await;
        }
        drop(self.sqs_proxy.take());
        if let Some(moto) = self.moto.take() {
            moto.stop(Duration::from_secs(5)).await;
        }
        info!("local stack stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::process::testing::{assert_gone, spawn_with_grandchild};

    /// A stack that owns two process groups standing in for moto and `cargo lambda watch`,
    /// with the pids of a grandchild in each.
    async fn stack_with_children() -> (LocalStack, [u32; 2]) {
        let script = "sleep 1000 & echo $!; wait";
        let (watch, in_watch) = spawn_with_grandchild("stack-watch", script).await;
        let (moto, in_moto) = spawn_with_grandchild("stack-moto", script).await;
        let stack = LocalStack {
            endpoint: String::new(),
            invoke_port: 0,
            region: String::new(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            physical: BTreeMap::new(),
            function_env: BTreeMap::new(),
            functions: Vec::new(),
            bridge: None,
            sqs_proxy: None,
            instances: None,
            watch: Some(watch),
            moto: Some(moto),
            logs: PathBuf::new(),
        };
        (stack, [in_watch, in_moto])
    }

    #[tokio::test]
    async fn shutdown_stops_every_process_group() {
        let (stack, grandchildren) = stack_with_children().await;
        stack.shutdown().await;
        for pid in grandchildren {
            assert_gone(pid, "grandchild after shutdown").await;
        }
    }

    #[tokio::test]
    async fn dropping_the_stack_kills_every_process_group() {
        let (stack, grandchildren) = stack_with_children().await;
        drop(stack);
        for pid in grandchildren {
            assert_gone(pid, "grandchild after drop").await;
        }
    }

    fn f(id: &str, env: &[(&str, &str)]) -> FunctionSpec {
        FunctionSpec {
            logical_id: id.into(),
            binary: id.to_lowercase(),
            timeout_secs: 3,
            memory_mb: 128,
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            sqs_events: vec![],
            http_events: vec![],
        }
    }

    #[test]
    fn function_env_is_its_own_with_aws_and_overrides() {
        let a = f("A", &[("CONFIG_TABLE", "t"), ("X", "1")]);
        let b = f("B", &[("X", "2")]);
        let env = build_function_env(
            &a,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_REGION", "us-east-1"),
            ],
            &[
                ("RUST_LOG".into(), "debug".into()),
                ("EXTRA".into(), "x".into()),
            ],
        );
        let keys: Vec<_> = env.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "AWS_ENDPOINT_URL",
                "AWS_REGION",
                "CONFIG_TABLE",
                "EXTRA",
                "RUST_LOG",
                "X"
            ]
        );
        assert_eq!(env["RUST_LOG"], "debug");
        // Each function keeps its own value of a name another function also uses.
        assert_eq!(build_function_env(&b, &[], &[])["X"], "2");
        assert_eq!(build_function_env(&b, &[], &[])["RUST_LOG"], "info");
        let lambda: BTreeMap<_, _> = lambda_env(&a).into_iter().collect();
        assert_eq!(lambda["AWS_LAMBDA_FUNCTION_NAME"], "a");
        assert_eq!(lambda["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    }
}
