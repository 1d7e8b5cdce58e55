//! Lambda's own part in running the functions: their execution environments (instances), each
//! invocation's deadline, and what happens when an instance overruns it or dies.
//!
//! `cargo lambda watch --only-lambda-apis` provides the Lambda APIs: the invoke API, function
//! URLs, and the runtime API's queue of invocations. It starts no function itself; this module
//! does, because `cargo lambda watch` (1.9.2) sends every invocation
//! `Lambda-Runtime-Deadline-Ms: 600000` (ten minutes as a duration, which as the epoch time the
//! header stands for is 1970-01-01T00:10:00Z), has no option to change that, and does not start
//! an instance again once it died, leaving the invocation it was running unanswered.
//!
//! - **Instances.** Each function runs a fixed number of processes of its binary, each in its
//!   own process group, with the function's environment and the `AWS_LAMBDA_*` variables Lambda
//!   sets. An instance that exits is started again after 0.5 s (longer while it keeps exiting
//!   within seconds of its start), as Lambda starts a fresh execution environment.
//! - **Deadlines.** Every instance reaches the runtime API through the proxy here, at a path of
//!   its own (`AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:<port>/<binary>/<n>`). The proxy passes
//!   every call on to `cargo lambda watch` and gives each invocation it hands out the deadline
//!   Lambda would: the moment it is handed out plus the function's `Timeout`.
//! - **Timeouts.** An instance still running an invocation at its deadline is killed (SIGKILL
//!   to its group) and the invocation answered with Lambda's `Sandbox.Timedout` error ("Task
//!   timed out after N.00 seconds").
//! - **Crashes.** An instance that dies while running an invocation has it answered with
//!   `Runtime.ExitError` ("Runtime exited with error: signal: 9 (SIGKILL)", say).
//!
//! Either error makes the invoke API answer with an error status, so the SQS bridge treats the
//! batch as failed, as Lambda's event source mapping does. Not emulated: scaling out beyond the
//! fixed instances, and an invocation handed out at the very moment its idle instance died
//! (it is then lost, and its caller waits for its own timeout).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::process::Command;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::process::{GroupChild, signal_group};
use crate::sqs_proxy::{relay, reply};

const NEXT: &str = "2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "2018-06-01/runtime/invocation/";
const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";
const REQUEST_ID_HEADER: &str = "lambda-runtime-aws-request-id";
/// Lambda's payload limit is 6 MB; leave room.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// What happened to one function's instances and invocations since the stack started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionStats {
    /// Instances started, restarts included.
    pub starts: u64,
    /// Invocations handed to an instance.
    pub invocations: u64,
    /// Invocations the function itself answered with an error.
    pub errors: u64,
    /// Instances that died on their own or were killed by someone else (busy or idle).
    pub crashes: u64,
    /// Invocations cut off at their deadline (the instance was killed).
    pub timeouts: u64,
}

/// One instance of a function, as [`crate::LocalStack::instances`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// The function's binary.
    pub function: String,
    /// Which of the function's instances (0, 1, ...).
    pub index: usize,
    /// Its process id (which is also its process group id) while it runs.
    pub pid: Option<u32>,
    /// The request id of the invocation it is running, if any.
    pub request_id: Option<String>,
}

/// How to run one function.
#[derive(Debug, Clone)]
pub(crate) struct FunctionRun {
    /// The binary's name: its name in `cargo lambda watch`, and in the runtime API paths.
    pub binary: String,
    /// What to execute, with its arguments.
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The function's `Timeout`.
    pub timeout: Duration,
    /// How many instances to keep running.
    pub instances: usize,
    /// Environment on top of the inherited one (the function's own and `AWS_LAMBDA_*`, but not
    /// `AWS_LAMBDA_RUNTIME_API`, which is per instance).
    pub env: BTreeMap<String, String>,
    /// Where its instances' output goes (appended), or inherited.
    pub log: Option<PathBuf>,
}

#[derive(Debug)]
struct InFlight {
    request_id: String,
    deadline: Instant,
}

#[derive(Debug, Default)]
struct Slot {
    pid: Option<u32>,
    inflight: Option<InFlight>,
}

#[derive(Debug)]
struct FnState {
    timeout: Duration,
    slots: Vec<Slot>,
    stats: FunctionStats,
}

#[derive(Debug)]
struct Shared {
    /// `http://127.0.0.1:<watch port>/.rt`.
    upstream: String,
    http: reqwest::Client,
    state: Mutex<BTreeMap<String, FnState>>,
    /// Wakes an instance's supervisor when the instance takes an invocation.
    wake: BTreeMap<(String, usize), Arc<Notify>>,
}

impl Shared {
    fn with<T>(&self, function: &str, f: impl FnOnce(&mut FnState) -> T) -> Option<T> {
        self.state.lock().unwrap().get_mut(function).map(f)
    }

    fn knows(&self, function: &str, index: usize) -> bool {
        self.with(function, |s| index < s.slots.len())
            .unwrap_or(false)
    }

    /// An instance took invocation `request_id`: its deadline starts now. Returns the deadline
    /// as epoch milliseconds, for the `Lambda-Runtime-Deadline-Ms` header.
    fn begin(&self, function: &str, index: usize, request_id: &str) -> Option<u128> {
        let ms = self.with(function, |s| {
            let timeout = s.timeout;
            s.stats.invocations += 1;
            s.slots[index].inflight = Some(InFlight {
                request_id: request_id.to_string(),
                deadline: Instant::now() + timeout,
            });
            (SystemTime::now() + timeout)
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
        })?;
        if let Some(w) = self.wake.get(&(function.to_string(), index)) {
            w.notify_one();
        }
        Some(ms)
    }

    /// The instance answered `request_id` (with an error of its own when `error`).
    fn end(&self, function: &str, index: usize, request_id: &str, error: bool) {
        self.with(function, |s| {
            let slot = &mut s.slots[index];
            if slot
                .inflight
                .as_ref()
                .is_some_and(|f| f.request_id == request_id)
            {
                slot.inflight = None;
            }
            if error {
                s.stats.errors += 1;
            }
        });
    }

    fn deadline(&self, function: &str, index: usize) -> Option<(Instant, String)> {
        self.with(function, |s| {
            s.slots[index]
                .inflight
                .as_ref()
                .map(|f| (f.deadline, f.request_id.clone()))
        })
        .flatten()
    }

    fn started(&self, function: &str, index: usize, pid: Option<u32>) {
        self.with(function, |s| {
            s.stats.starts += 1;
            s.slots[index] = Slot {
                pid,
                inflight: None,
            };
        });
    }

    /// The instance is gone: forgets its pid and returns the invocation it was running.
    fn gone(&self, function: &str, index: usize, end: &End) -> Option<String> {
        self.with(function, |s| {
            match end {
                End::TimedOut => s.stats.timeouts += 1,
                End::Exited(_) => s.stats.crashes += 1,
                End::Stopped => {}
            }
            let slot = std::mem::take(&mut s.slots[index]);
            slot.inflight.map(|f| f.request_id)
        })
        .flatten()
    }

    /// Answers an invocation for an instance that can no longer answer it.
    async fn answer_error(&self, function: &str, request_id: &str, kind: &str, message: &str) {
        let url = format!(
            "{}/{function}/{INVOCATION}{request_id}/error",
            self.upstream
        );
        let body = serde_json::json!({
            "errorType": kind,
            "errorMessage": format!("RequestId: {request_id} Error: {message}"),
        });
        let sent = self
            .http
            .post(url)
            .header("Lambda-Runtime-Function-Error-Type", kind)
            .json(&body)
            .send()
            .await;
        if let Err(e) = sent {
            warn!(%function, %request_id, error = %e, "could not answer the invocation of a lost instance");
        }
    }
}

/// How an instance ended.
#[derive(Debug)]
enum End {
    /// It exited, or someone else killed it.
    Exited(String),
    /// Killed at its invocation's deadline.
    TimedOut,
    /// Stopped with the stack.
    Stopped,
}

/// The running instances and their runtime API proxy. Stop with [`Functions::stop`]; dropping
/// it kills every instance's process group at once.
#[derive(Debug)]
pub(crate) struct Functions {
    shared: Arc<Shared>,
    proxy: JoinHandle<()>,
    supervisors: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Functions {
    /// Starts the proxy (forwarding to `upstream`, `cargo lambda watch`'s `http://…/.rt`) and
    /// the instances of every function.
    pub(crate) async fn start(upstream: &str, runs: Vec<FunctionRun>) -> anyhow::Result<Functions> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = runs
            .iter()
            .map(|r| {
                let st = FnState {
                    timeout: r.timeout,
                    slots: (0..r.instances).map(|_| Slot::default()).collect(),
                    stats: FunctionStats::default(),
                };
                (r.binary.clone(), st)
            })
            .collect();
        let wake = runs
            .iter()
            .flat_map(|r| (0..r.instances).map(|i| ((r.binary.clone(), i), Arc::default())))
            .collect();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().no_proxy().build()?,
            state: Mutex::new(state),
            wake,
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        let proxy = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                warn!(error = %e, "runtime API proxy stopped");
            }
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut supervisors = Vec::new();
        for run in runs {
            let run = Arc::new(run);
            for index in 0..run.instances {
                supervisors.push(tokio::spawn(supervise(
                    shared.clone(),
                    run.clone(),
                    index,
                    format!("{base}/{}/{index}", run.binary),
                    stop_rx.clone(),
                )));
            }
        }
        debug!(proxy = %base, %upstream, instances = supervisors.len(), "function instances starting");
        Ok(Functions {
            shared,
            proxy,
            supervisors,
            stop,
        })
    }

    /// The counters of one function.
    pub(crate) fn stats(&self, function: &str) -> Option<FunctionStats> {
        self.shared.with(function, |s| s.stats)
    }

    /// The instances of one function.
    pub(crate) fn instances(&self, function: &str) -> Vec<InstanceInfo> {
        self.shared
            .with(function, |s| {
                s.slots
                    .iter()
                    .enumerate()
                    .map(|(index, slot)| InstanceInfo {
                        function: function.to_string(),
                        index,
                        pid: slot.pid,
                        request_id: slot.inflight.as_ref().map(|f| f.request_id.clone()),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops every instance (SIGTERM, then SIGKILL after 2 s), then the proxy.
    pub(crate) async fn stop(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.supervisors) {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Functions {
    fn drop(&mut self) {
        let state = self.shared.state.lock().unwrap();
        for s in state.values() {
            for pid in s.slots.iter().filter_map(|s| s.pid) {
                signal_group(pid, "-KILL");
            }
        }
        for t in &self.supervisors {
            t.abort();
        }
        self.proxy.abort();
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Keeps one instance running: starts it, kills it at an invocation's deadline, answers the
/// invocation of an instance that died, and starts it again.
async fn supervise(
    sh: Arc<Shared>,
    run: Arc<FunctionRun>,
    index: usize,
    runtime_api: String,
    mut stop: watch::Receiver<bool>,
) {
    let f = run.binary.as_str();
    let name = format!("{f} instance {index}");
    let wake = sh.wake[&(f.to_string(), index)].clone();
    let mut quick_exits = 0u32;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut cmd = Command::new(&run.program);
        cmd.args(&run.args)
            .envs(&run.env)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("instance-{index}"));
        let started = Instant::now();
        let mut child = match GroupChild::spawn_logging(&name, cmd, run.log.as_deref(), true) {
            Ok(c) => c,
            Err(e) => {
                warn!(function = %f, error = %format!("{e:#}"), "could not start an instance; trying again in 5 s");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(5)) => continue,
                    () = stopped(&mut stop) => return,
                }
            }
        };
        sh.started(f, index, child.id());
        debug!(function = %f, index, pid = ?child.id(), "instance started");
        let end = loop {
            let deadline = sh.deadline(f, index);
            tokio::select! {
                status = child.wait() => {
                    break End::Exited(match status {
                        Ok(s) => s.to_string(),
                        Err(e) => e.to_string(),
                    });
                }
                () = until(deadline.as_ref().map(|d| d.0)) => {
                    let (at, id) = deadline.expect("a deadline to wait for");
                    if sh.deadline(f, index).is_some_and(|(_, now_id)| now_id == id) && Instant::now() >= at {
                        child.kill();
                        let _ = child.wait().await;
                        break End::TimedOut;
                    }
                }
                () = wake.notified() => {}
                () = stopped(&mut stop) => {
                    child.stop(Duration::from_secs(2)).await;
                    sh.gone(f, index, &End::Stopped);
                    return;
                }
            }
        };
        // Whatever the instance left in its group goes with it.
        child.kill();
        drop(child);
        let lost = sh.gone(f, index, &end);
        match (&end, lost) {
            (End::TimedOut, Some(id)) => {
                let secs = run.timeout.as_secs_f64();
                warn!(function = %f, index, request_id = %id, "invocation timed out after {secs:.2} s; instance killed");
                let msg = format!("Task timed out after {secs:.2} seconds");
                sh.answer_error(f, &id, "Sandbox.Timedout", &msg).await;
            }
            (End::Exited(status), Some(id)) => {
                warn!(function = %f, index, request_id = %id, %status, "instance died during an invocation");
                let msg = format!("Runtime exited with error: {status}");
                sh.answer_error(f, &id, "Runtime.ExitError", &msg).await;
            }
            (End::Exited(status), None) => {
                info!(function = %f, index, %status, "idle instance exited");
            }
            _ => {}
        }
        quick_exits = if started.elapsed() < Duration::from_secs(5) {
            quick_exits + 1
        } else {
            0
        };
        let backoff = Duration::from_millis(500)
            .saturating_mul(1 << quick_exits.saturating_sub(1).min(5))
            .min(Duration::from_secs(10));
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

/// `<request id>/response` or `<request id>/error` after the invocation prefix: the request id,
/// and whether it is an error.
fn invocation_result(rest: &str) -> Option<(&str, bool)> {
    let tail = rest.strip_prefix(INVOCATION)?;
    let (id, what) = tail.split_once('/')?;
    match what {
        "response" => Some((id, false)),
        "error" => Some((id, true)),
        _ => None,
    }
}

/// `/<binary>/<n>/<runtime API path>` → `<upstream>/<binary>/<runtime API path>`.
async fn forward(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().trim_start_matches('/').to_string();
    let mut it = path.splitn(3, '/');
    let (Some(function), Some(index), Some(rest)) = (it.next(), it.next(), it.next()) else {
        return (StatusCode::NOT_FOUND, "not a runtime API path").into_response();
    };
    let Some(index) = index
        .parse::<usize>()
        .ok()
        .filter(|i| sh.knows(function, *i))
    else {
        return (StatusCode::NOT_FOUND, "no such function instance").into_response();
    };
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    // Settled before it is passed on, so that the deadline cannot strike an answered invocation.
    if let Some((id, error)) = invocation_result(rest) {
        sh.end(function, index, id, error);
    }
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let (status, mut headers, bytes) = match relay(
        &sh.http,
        parts.method,
        format!("{}/{function}/{rest}{query}", sh.upstream),
        &parts.headers,
        body,
        &format!("runtime API proxy ({function})"),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return e,
    };
    if rest == NEXT && status == StatusCode::OK {
        let id = headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if let Some(id) = id
            && let Some(ms) = sh.begin(function, index, &id)
        {
            headers.insert(
                DEADLINE_HEADER,
                HeaderValue::from_str(&ms.to_string()).expect("digits"),
            );
        }
    }
    reply(status, headers, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    use axum::extract::Path as UrlPath;

    /// A stand-in for `cargo lambda watch`'s runtime API: hands out queued events (with its
    /// constant deadline of 600000) and records what comes back.
    #[derive(Default)]
    struct FakeApi {
        events: Mutex<VecDeque<(String, String)>>,
        ready: Notify,
        answers: Mutex<Vec<(String, String, String)>>,
    }

    async fn fake_next(State(api): State<Arc<FakeApi>>) -> Response {
        loop {
            let ready = api.ready.notified();
            if let Some((id, body)) = api.events.lock().unwrap().pop_front() {
                return (
                    [(REQUEST_ID_HEADER, id), (DEADLINE_HEADER, "600000".into())],
                    body,
                )
                    .into_response();
            }
            ready.await;
        }
    }

    async fn fake_answer(
        State(api): State<Arc<FakeApi>>,
        UrlPath((_f, id, kind)): UrlPath<(String, String, String)>,
        body: String,
    ) -> StatusCode {
        api.answers.lock().unwrap().push((id, kind, body));
        StatusCode::ACCEPTED
    }

    /// A function in Python that speaks the runtime API: `echo` answers with the deadline it
    /// was given and the time, `hang` never answers, `die` exits mid-invocation.
    const FUNCTION: &str = r#"
import json, os, time, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["lambda-runtime-aws-request-id"]
        deadline = int(r.headers["lambda-runtime-deadline-ms"])
        ev = json.loads(r.read())
    if ev["do"] == "hang":
        time.sleep(1000)
    if ev["do"] == "die":
        os._exit(3)
    out = json.dumps({"deadline": deadline, "now": int(time.time() * 1000),
                      "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=out, method="POST")).read()
"#;

    async fn answers(api: &FakeApi, n: usize) -> Vec<(String, String, String)> {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let got = api.answers.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < until, "only {got:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn invocations_get_deadlines_and_lost_ones_are_answered() {
        let api = Arc::new(FakeApi::default());
        let app = axum::Router::new()
            .route(
                "/{f}/2018-06-01/runtime/invocation/next",
                axum::routing::get(fake_next),
            )
            .route(
                "/{f}/2018-06-01/runtime/invocation/{id}/{kind}",
                axum::routing::post(fake_answer),
            )
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let dir = std::env::temp_dir().join(format!("local-stack-lambda-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("function.py");
        std::fs::write(&script, FUNCTION).unwrap();
        let functions = Functions::start(
            &upstream,
            vec![FunctionRun {
                binary: "fake".into(),
                program: "python3".into(),
                args: vec![script.display().to_string()],
                timeout: Duration::from_millis(1500),
                instances: 1,
                env: [("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "512".into())].into(),
                log: Some(dir.join("function.log")),
            }],
        )
        .await
        .unwrap();
        let push = |id: &str, what: &str| {
            api.events
                .lock()
                .unwrap()
                .push_back((id.into(), format!(r#"{{"do":"{what}"}}"#)));
            api.ready.notify_waiters();
        };

        push("r1", "echo");
        let got = answers(&api, 1).await;
        assert_eq!((got[0].0.as_str(), got[0].1.as_str()), ("r1", "response"));
        let v: serde_json::Value = serde_json::from_str(&got[0].2).unwrap();
        let left = v["deadline"].as_i64().unwrap() - v["now"].as_i64().unwrap();
        assert!((1000..=1500).contains(&left), "{left} ms left of 1500");
        assert_eq!(v["memory"], "512");

        // Overrunning its deadline: killed, answered for, started again.
        let pid = functions.instances("fake")[0].pid.unwrap();
        let t0 = Instant::now();
        push("r2", "hang");
        let got = answers(&api, 2).await;
        assert!(
            t0.elapsed() >= Duration::from_millis(1400),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!((got[1].0.as_str(), got[1].1.as_str()), ("r2", "error"));
        assert!(got[1].2.contains("Sandbox.Timedout"), "{}", got[1].2);
        assert!(
            got[1].2.contains("Task timed out after 1.50 seconds"),
            "{}",
            got[1].2
        );
        assert!(
            !crate::process::testing::is_alive(pid),
            "the hung instance lives on"
        );

        // Dying mid-invocation: answered for, started again.
        push("r3", "die");
        let got = answers(&api, 3).await;
        assert_eq!((got[2].0.as_str(), got[2].1.as_str()), ("r3", "error"));
        assert!(got[2].2.contains("Runtime.ExitError"), "{}", got[2].2);
        assert!(got[2].2.contains("exit status: 3"), "{}", got[2].2);

        // Killed by someone else while busy: the same.
        push("r4", "hang");
        let busy = loop {
            if let Some(i) = functions
                .instances("fake")
                .into_iter()
                .find(|i| i.request_id.is_some())
            {
                break i;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(busy.request_id.as_deref(), Some("r4"));
        signal_group(busy.pid.unwrap(), "-KILL");
        let got = answers(&api, 4).await;
        assert!(
            got[3].2.contains("Runtime.ExitError") && got[3].2.contains("SIGKILL"),
            "{}",
            got[3].2
        );

        push("r5", "echo");
        let got = answers(&api, 5).await;
        assert_eq!((got[4].0.as_str(), got[4].1.as_str()), ("r5", "response"));
        assert_eq!(
            functions.stats("fake").unwrap(),
            FunctionStats {
                starts: 4,
                invocations: 5,
                errors: 0,
                crashes: 2,
                timeouts: 1,
            }
        );
        let last = functions.instances("fake")[0].pid.unwrap();
        functions.stop().await;
        crate::process::testing::assert_gone(last, "instance after stop").await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn results_are_told_apart_from_other_paths() {
        assert_eq!(
            invocation_result("2018-06-01/runtime/invocation/abc/response"),
            Some(("abc", false))
        );
        assert_eq!(
            invocation_result("2018-06-01/runtime/invocation/abc/error"),
            Some(("abc", true))
        );
        assert_eq!(invocation_result(NEXT), None);
        assert_eq!(invocation_result("2018-06-01/runtime/init/error"), None);
    }
}
