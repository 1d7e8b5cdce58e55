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
//! 3. **The functions** under `cargo lambda watch` on 127.0.0.1, with one environment for all
//!    of them: the union of the functions' resolved `Environment.Variables`, the `AWS_*`
//!    variables pointing at the endpoint, `RUST_LOG` (default `info`) and
//!    [`StackOptions::extra_env`]. Their SQS calls go through an [`sqs_proxy::SqsProxy`]
//!    (`AWS_ENDPOINT_URL_SQS`) that notes the visibility changes they make. A function is
//!    compiled on its first invocation; `--concurrency` is the most pollers of any mapping.
//! 4. **A bridge** standing in for Lambda's SQS event source mappings (see [`bridge`]): each
//!    function with an `SQS` event gets its queue's messages as SQS events, from
//!    `ScalingConfig.MaximumConcurrency` pollers (capped by [`StackOptions::max_concurrency`];
//!    one without it). A message stays invisible for its queue's visibility timeout while its
//!    invocation runs. A failed message comes back when the function said, if it changed the
//!    message's visibility (`Outcome::RetryAfter`), and otherwise after
//!    [`StackOptions::retry_delay`] rather than after the template's (minutes long) visibility
//!    timeout; the queues' redrive policies still move a message to its DLQ after
//!    `maxReceiveCount` receives.
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

pub use process::free_port;
pub use template::PropertyOverride;

use crate::bridge::{Bridge, BridgeSettings, Mapping};
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
    /// Lambda.
    pub retry_delay: Option<Duration>,
    /// The most pollers of one SQS mapping (default 2): a mapping gets
    /// `min(ScalingConfig.MaximumConcurrency, max_concurrency)` pollers, or one without a
    /// `ScalingConfig`, and `cargo lambda watch` runs that many instances of a function.
    pub max_concurrency: u32,
    /// Extra environment variables for every function; they override everything else
    /// (e.g. `RUST_LOG`, or a vendor API base URL pointing at a simulator).
    pub extra_env: Vec<(String, String)>,
    /// Send the output of `cargo lambda watch` (and so the functions' logs) to a file under
    /// `<target dir>/local-stack/` instead of this process's stdout/stderr.
    pub quiet: bool,
}

impl Default for StackOptions {
    /// Options for this checkout (the repository that contains this crate), stack
    /// [`DEFAULT_STACK_NAME`], a free port, 2 s retry delay, at most 2 pollers per mapping, no
    /// extra environment, not quiet.
    fn default() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        StackOptions {
            repo_root: root.canonicalize().unwrap_or(root),
            stack_name: DEFAULT_STACK_NAME.into(),
            invoke_port: None,
            retry_delay: Some(Duration::from_secs(2)),
            max_concurrency: 2,
            extra_env: Vec::new(),
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
    function_env: BTreeMap<String, String>,
    functions: Vec<FunctionSpec>,
    env_file: PathBuf,
    bridge: Option<Bridge>,
    sqs_proxy: Option<SqsProxy>,
    watch: Option<GroupChild>,
    moto: Option<GroupChild>,
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

/// Renders one `KEY=value` line of an env file as `cargo lambda watch --env-file` reads it.
fn env_line(key: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:,@%+=?&~*".contains(c));
    if plain {
        format!("{key}={value}")
    } else if !value.contains(['\'', '\n', '\r']) {
        format!("{key}='{value}'")
    } else {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('\r', "\\r");
        format!("{key}=\"{escaped}\"")
    }
}

/// The environment every function gets: the template's variables (which must agree where
/// two functions use the same name), the AWS settings, `RUST_LOG`, then `extra_env`.
fn build_function_env(
    functions: &[FunctionSpec],
    aws: &[(&str, &str)],
    extra_env: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut origin: BTreeMap<String, &str> = BTreeMap::new();
    for f in functions {
        for (k, v) in &f.environment {
            match env.get(k) {
                Some(existing) if existing != v => bail!(
                    "functions {} and {} set {k} to different values ({existing:?} and {v:?}); \
                     cargo lambda watch gives all functions one environment",
                    origin[k],
                    f.logical_id
                ),
                _ => {
                    env.insert(k.clone(), v.clone());
                    origin.insert(k.clone(), &f.logical_id);
                }
            }
        }
    }
    for (k, v) in aws {
        env.insert(k.to_string(), v.to_string());
    }
    env.insert("RUST_LOG".into(), "info".into());
    for (k, v) in extra_env {
        env.insert(k.clone(), v.clone());
    }
    Ok(env)
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
        let template = Template::parse(&text)
            .with_context(|| format!("parsing {}", template_path.display()))?;
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
            env_file: PathBuf::new(),
            bridge: None,
            sqs_proxy: None,
            watch: None,
            moto,
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
        let instances = mappings.iter().map(|m| m.concurrency).max().unwrap_or(1);

        // 3. Functions under cargo lambda watch, their SQS calls through the proxy.
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
        stack.function_env = build_function_env(&functions, &aws, &opts.extra_env)?;
        stack.sqs_proxy = Some(proxy);
        stack.functions = functions;
        stack.invoke_port = match opts.invoke_port {
            Some(p) => p,
            None => free_port()?,
        };
        let port = stack.invoke_port;
        stack.env_file = logs.join(format!("{}-{port}.env", opts.stack_name));
        let env_text: String = stack
            .function_env
            .iter()
            .map(|(k, v)| env_line(k, v) + "\n")
            .collect();
        std::fs::write(&stack.env_file, env_text)
            .with_context(|| format!("writing {}", stack.env_file.display()))?;

        let cargo_lambda = process::find_tool(&repo_root, "cargo-lambda").with_context(|| {
            format!(
                "cargo-lambda not found in {}/.venv-aws/bin or on PATH; run infra/bootstrap.sh",
                repo_root.display()
            )
        })?;
        let mut cmd = Command::new(&cargo_lambda);
        cmd.arg("lambda")
            .arg("watch")
            .args(["-A", "127.0.0.1", "-P", &port.to_string()])
            .arg("--env-file")
            .arg(&stack.env_file)
            .arg("--ignore-changes")
            .current_dir(&repo_root);
        if instances > 1 {
            cmd.args(["--concurrency", &instances.to_string()]);
        }
        // When started from `cargo test`, this process carries the test crate's CARGO_* variables. Build
        // scripts (ring's) track some of them, so passing them on would make `cargo lambda watch` rebuild
        // half the dependency tree whenever it runs from a different place than a plain `cargo build`.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if is_crate_env(&key) {
                cmd.env_remove(&key);
            }
        }
        // cargo-lambda's helpers (zig) live next to it in the venv.
        if let Some(bin_dir) = cargo_lambda.parent() {
            let mut paths = vec![bin_dir.to_path_buf()];
            if let Some(p) = std::env::var_os("PATH") {
                paths.extend(std::env::split_paths(&p));
            }
            cmd.env("PATH", std::env::join_paths(paths)?);
        }
        let watch_log = logs.join(format!("watch-{port}.log"));
        let mut watch = GroupChild::spawn(
            "cargo lambda watch",
            cmd,
            opts.quiet.then_some(watch_log.as_path()),
        )?;
        let ready = process::wait_for_port(&mut watch, port, STARTUP_TIMEOUT).await;
        stack.watch = Some(watch);
        ready.context("waiting for cargo lambda watch")?;
        info!(invoke = %stack.invoke_base(), pid = ?stack.watch.as_ref().and_then(GroupChild::id), "cargo lambda watch ready");

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

    /// The environment given to every function (also written to an env file for
    /// `cargo lambda watch`).
    pub fn function_env(&self) -> &BTreeMap<String, String> {
        &self.function_env
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

    /// Stops the bridge, then `cargo lambda watch` with the functions it started, then moto if
    /// this stack started it, and removes the env file.
    pub async fn shutdown(mut self) {
        if let Some(bridge) = self.bridge.take() {
            bridge.stop().await;
        }
        if let Some(watch) = self.watch.take() {
            watch.stop(Duration::from_secs(5)).await;
        }
        drop(self.sqs_proxy.take());
        if let Some(moto) = self.moto.take() {
            moto.stop(Duration::from_secs(5)).await;
        }
        if !self.env_file.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.env_file);
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
            env_file: PathBuf::new(),
            bridge: None,
            sqs_proxy: None,
            watch: Some(watch),
            moto: Some(moto),
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

    #[test]
    fn env_lines_round_trip_through_quoting() {
        assert_eq!(
            env_line("A", "http://127.0.0.1:5000/123/q-events"),
            "A=http://127.0.0.1:5000/123/q-events"
        );
        assert_eq!(
            env_line("A", "info,local_stack=debug"),
            "A=info,local_stack=debug"
        );
        assert_eq!(env_line("A", "two words"), "A='two words'");
        assert_eq!(env_line("A", ""), "A=''");
        assert_eq!(env_line("A", "it's \"x\""), r#"A="it's \"x\"""#);
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
    fn function_env_is_the_union_with_aws_and_overrides() {
        let fns = [
            f("A", &[("CONFIG_TABLE", "t"), ("Q", "u1")]),
            f("B", &[("CONFIG_TABLE", "t"), ("R", "u2")]),
        ];
        let env = build_function_env(
            &fns,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_REGION", "us-east-1"),
            ],
            &[
                ("RUST_LOG".into(), "debug".into()),
                ("EXTRA".into(), "x".into()),
            ],
        )
        .unwrap();
        let keys: Vec<_> = env.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "AWS_ENDPOINT_URL",
                "AWS_REGION",
                "CONFIG_TABLE",
                "EXTRA",
                "Q",
                "R",
                "RUST_LOG"
            ]
        );
        assert_eq!(env["RUST_LOG"], "debug");
        let env = build_function_env(&fns, &[], &[]).unwrap();
        assert_eq!(env["RUST_LOG"], "info");

        let clash = [f("A", &[("X", "1")]), f("B", &[("X", "2")])];
        let err = build_function_env(&clash, &[], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("A and B set X"), "{err}");
    }
}
