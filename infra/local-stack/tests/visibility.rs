//! The bridge's visibility rules and leases against a real endpoint (moto), with a fake function
//! on 127.0.0.1 that changes visibility through the real SDK, via the SQS proxy, as the functions
//! do (see the `bridge` module documentation).
//!
//! Runs only when `AWS_ENDPOINT_URL` is set, e.g.:
//!
//! ```sh
//! .venv-aws/bin/moto_server -H 127.0.0.1 -p 5000 &
//! AWS_ENDPOINT_URL=http://127.0.0.1:5000 cargo test -p local-stack --test visibility
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use local_stack::bridge::{Bridge, BridgeSettings, Mapping};
use local_stack::provision::{Clients, provision};
use local_stack::sqs_proxy::{SqsProxy, VisibilityChanges};
use local_stack::template::{Plan, Template};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::{TEMPLATE, endpoint, unique_stack};

async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await
}

async fn provisioned(clients: &Clients, stack: &str) -> Plan {
    let t = Template::parse(TEMPLATE).unwrap();
    let mut plan = t.plan(stack, "us-east-1").unwrap();
    provision(clients, &mut plan).await.unwrap();
    plan
}

/// What the fake function does with one record.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Processed.
    Done,
    /// Listed in `batchItemFailures`.
    Fail,
    /// The connection is dropped without an answer (the function process died).
    Crash,
    /// No answer for a minute (a slow or hung invocation).
    Hang,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    /// `ChangeMessageVisibility` to this many seconds first (through the proxy).
    delay: Option<i32>,
    /// Work this long before answering.
    work: Duration,
    answer: Answer,
}

fn step(answer: Answer) -> Step {
    Step {
        delay: None,
        work: Duration::ZERO,
        answer,
    }
}

/// One delivery of a record: its body, `ApproximateReceiveCount`, when it arrived and when the
/// fake had finished with it (visibility changed, work done).
#[derive(Debug, Clone)]
struct Delivery {
    body: String,
    receive_count: u32,
    arrived: Instant,
    finished: Instant,
}

type Behaviour = Arc<dyn Fn(&str, u32) -> Step + Send + Sync>;

/// A stand-in for `cargo lambda watch`'s invoke API.
#[derive(Clone)]
struct FakeFunction {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    behaviour: Behaviour,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

impl FakeFunction {
    /// Starts it on a free port; returns it and its invoke base URL. `sqs_endpoint` is where its
    /// SQS client goes (the proxy).
    async fn start(
        sqs_endpoint: &str,
        queue_url: &str,
        behaviour: impl Fn(&str, u32) -> Step + Send + Sync + 'static,
    ) -> (FakeFunction, String) {
        let f = FakeFunction {
            sqs: aws_sdk_sqs::Client::new(&sdk(sqs_endpoint).await),
            queue_url: queue_url.to_string(),
            behaviour: Arc::new(behaviour),
            deliveries: Arc::default(),
            in_flight: Arc::default(),
            most_in_flight: Arc::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = f.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(server.clone().serve(sock));
            }
        });
        (f, base)
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    fn of(&self, body: &str) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(|d| d.body == body)
            .collect()
    }

    async fn serve(self, mut sock: TcpStream) -> Option<()> {
        let body = read_request(&mut sock).await?;
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let result = self.invoke(&body).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let Some(out) = result else {
            // Crash: close the connection without an answer.
            drop(sock);
            return None;
        };
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{out}",
            out.len()
        );
        sock.write_all(resp.as_bytes()).await.ok()
    }

    /// The batch response, or `None` to crash.
    async fn invoke(&self, body: &[u8]) -> Option<String> {
        let event: Value = serde_json::from_slice(body).ok()?;
        let mut failures = Vec::new();
        let mut crash = false;
        for r in event["Records"].as_array()? {
            let arrived = Instant::now();
            let text = r["body"].as_str()?.to_string();
            let count: u32 = r["attributes"]["ApproximateReceiveCount"]
                .as_str()?
                .parse()
                .ok()?;
            let s = (self.behaviour)(&text, count);
            if let Some(secs) = s.delay {
                self.sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(r["receiptHandle"].as_str()?)
                    .visibility_timeout(secs)
                    .send()
                    .await
                    .expect("ChangeMessageVisibility through the proxy");
            }
            tokio::time::sleep(s.work).await;
            self.deliveries.lock().unwrap().push(Delivery {
                body: text,
                receive_count: count,
                arrived,
                finished: Instant::now(),
            });
            match s.answer {
                Answer::Done => {}
                Answer::Fail => failures.push(json!({"itemIdentifier": r["messageId"]})),
                Answer::Crash => crash = true,
                Answer::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
            }
        }
        (!crash).then(|| json!({ "batchItemFailures": failures }).to_string())
    }
}

/// Reads one HTTP request and returns its body.
async fn read_request(sock: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Some(buf[end + 4..end + 4 + len].to_vec());
            }
        }
    }
}

/// The mapping of the template's queue `queue` to the fake function.
fn mapping(plan: &Plan, queue: &str, batch_size: u32, concurrency: u32) -> Mapping {
    Mapping {
        function: "fake".into(),
        queue_url: plan.context.get_ref(queue).unwrap().to_string(),
        queue_arn: plan.context.get_attr(queue, "Arn").unwrap().to_string(),
        batch_size,
        report_batch_item_failures: true,
        concurrency,
    }
}

/// A bridge with a zero retry delay: whatever it resets itself comes back at once.
fn start_bridge(c: &Clients, m: Mapping, base: &str, changes: VisibilityChanges) -> Bridge {
    Bridge::start(
        c.sqs.clone(),
        reqwest::Client::builder().no_proxy().build().unwrap(),
        vec![m],
        BridgeSettings {
            invoke_base: base.to_string(),
            retry_delay: Some(Duration::ZERO),
            region: "us-east-1".into(),
            changes,
        },
    )
}

async fn send(c: &Clients, url: &str, bodies: &[&str]) {
    for body in bodies {
        c.sqs
            .send_message()
            .queue_url(url)
            .message_body(*body)
            .send()
            .await
            .unwrap();
    }
}

async fn queue_depth(c: &Clients, url: &str) -> u64 {
    let attrs = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attrs.values().filter_map(|v| v.parse::<u64>().ok()).sum()
}

/// Polls `done` every 100 ms until it holds; panics with `what` after `limit`.
async fn wait_until<F: Fn() -> bool>(limit: Duration, what: &str, done: F) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_visibility_change_by_the_function_is_not_overridden_by_the_bridge() {
    let Some(endpoint) = endpoint() else { return };
    let c = Clients::new(&sdk(&endpoint).await);
    let plan = provisioned(&c, &unique_stack("it-vis-honour")).await;
    let url = plan.context.get_ref("EventsQueue").unwrap().to_string();
    let proxy = SqsProxy::start(&endpoint).await.unwrap();
    // First delivery: "delayed" asks for 4 s, "plain" just fails; the second delivery succeeds.
    let (f, base) = FakeFunction::start(proxy.url(), &url, |body, count| match (body, count) {
        ("delayed", 1) => Step {
            delay: Some(4),
            ..step(Answer::Fail)
        },
        (_, 1) => step(Answer::Fail),
        _ => step(Answer::Done),
    })
    .await;
    send(&c, &url, &["delayed", "plain"]).await;
    let bridge = start_bridge(
        &c,
        mapping(&plan, "EventsQueue", 10, 1),
        &base,
        proxy.changes(),
    );

    wait_until(Duration::from_secs(30), "both messages twice", || {
        f.of("delayed").len() == 2 && f.of("plain").len() == 2
    })
    .await;
    let delayed = f.of("delayed");
    let plain = f.of("plain");
    let waited = delayed[1].arrived - delayed[0].finished;
    assert!(
        waited >= Duration::from_millis(3800),
        "the function's 4 s were overridden: back after {waited:?}"
    );
    assert!(waited < Duration::from_secs(8), "back after {waited:?}");
    let plain_waited = plain[1].arrived - plain[0].finished;
    assert!(
        plain_waited < Duration::from_secs(3),
        "a plain failure gets the retry delay: back after {plain_waited:?}"
    );
    assert_eq!(delayed[1].receive_count, 2);

    let deadline = Instant::now() + Duration::from_secs(10);
    while queue_depth(&c, &url).await > 0 {
        assert!(Instant::now() < deadline, "messages left on the queue");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bridge.stop().await;
    assert!(proxy.changes().is_empty(), "the bridge took its note");
    assert_eq!(f.deliveries().len(), 4);
}

#[tokio::test]
async fn a_slow_invocation_keeps_its_lease_and_pollers_run_side_by_side() {
    let Some(endpoint) = endpoint() else { return };
    let c = Clients::new(&sdk(&endpoint).await);
    let plan = provisioned(&c, &unique_stack("it-vis-lease")).await;
    let url = plan.context.get_ref("DownloadQueue").unwrap().to_string();
    let proxy = SqsProxy::start(&endpoint).await.unwrap();
    let (f, base) = FakeFunction::start(proxy.url(), &url, |_, _| Step {
        work: Duration::from_secs(4),
        ..step(Answer::Done)
    })
    .await;
    send(&c, &url, &["one", "two"]).await;
    // Three pollers of one message each (BatchSize 1, as the download mapping): two work, one is
    // free to pick up a message whose lease lapsed.
    let bridge = start_bridge(
        &c,
        mapping(&plan, "DownloadQueue", 1, 3),
        &base,
        proxy.changes(),
    );

    wait_until(Duration::from_secs(30), "both processed", || {
        f.deliveries().len() >= 2
    })
    .await;
    // Longer than each invocation ran: a message whose lease had lapsed would be delivered again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue_depth(&c, &url).await > 0 {
        assert!(Instant::now() < deadline, "messages left on the queue");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    bridge.stop().await;
    let mut bodies: Vec<_> = f.deliveries().into_iter().map(|d| d.body).collect();
    bodies.sort();
    assert_eq!(bodies, ["one", "two"], "each delivered once");
    assert_eq!(
        f.most_in_flight.load(Ordering::SeqCst),
        2,
        "two pollers invoke side by side"
    );
}

#[tokio::test]
async fn a_crashed_invocation_comes_back_and_is_dead_lettered() {
    let Some(endpoint) = endpoint() else { return };
    let c = Clients::new(&sdk(&endpoint).await);
    let plan = provisioned(&c, &unique_stack("it-vis-crash")).await;
    let url = plan.context.get_ref("ArchivedQueue").unwrap().to_string();
    let dlq = plan.context.get_ref("ArchivedDLQ").unwrap().to_string();
    let proxy = SqsProxy::start(&endpoint).await.unwrap();
    // "crash" always kills the invocation; "delay-then-crash" asks for 3 s, then crashes once.
    let (f, base) = FakeFunction::start(proxy.url(), &url, |body, count| match (body, count) {
        ("crash", _) => step(Answer::Crash),
        ("delay-then-crash", 1) => Step {
            delay: Some(3),
            ..step(Answer::Crash)
        },
        _ => step(Answer::Done),
    })
    .await;
    send(&c, &url, &["crash", "delay-then-crash"]).await;
    let bridge = start_bridge(
        &c,
        mapping(&plan, "ArchivedQueue", 1, 1),
        &base,
        proxy.changes(),
    );

    // maxReceiveCount is 5: the crashing message is delivered 5 times, then moved to the DLQ.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (main, dead) = (queue_depth(&c, &url).await, queue_depth(&c, &dlq).await);
        if main == 0 && dead == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "queue {main} / dlq {dead}, deliveries {:?}",
            f.deliveries()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bridge.stop().await;
    let counts: Vec<u32> = f.of("crash").iter().map(|d| d.receive_count).collect();
    assert_eq!(counts, [1, 2, 3, 4, 5]);
    let dead = c
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dead[0].body(), Some("crash"));

    // The function's change survives its own crash: back after 3 s, not at once.
    let d = f.of("delay-then-crash");
    assert_eq!(d.len(), 2, "{d:?}");
    let waited = d[1].arrived - d[0].finished;
    assert!(
        waited >= Duration::from_millis(2800),
        "back after {waited:?}"
    );
}

#[tokio::test]
async fn an_abandoned_invocation_comes_back_after_the_queues_visibility_timeout() {
    let Some(endpoint) = endpoint() else { return };
    let c = Clients::new(&sdk(&endpoint).await);
    let stack = unique_stack("it-vis-abandon");
    // A queue with a short visibility timeout, so that its expiry is observable in a test.
    let url = c
        .sqs
        .create_queue()
        .queue_name(format!("{stack}-short"))
        .attributes(QueueAttributeName::VisibilityTimeout, "3")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let proxy = SqsProxy::start(&endpoint).await.unwrap();
    let (f, base) = FakeFunction::start(proxy.url(), &url, |_, _| step(Answer::Hang)).await;
    send(&c, &url, &["stuck"]).await;
    let m = Mapping {
        function: "fake".into(),
        queue_url: url.clone(),
        queue_arn: format!("arn:aws:sqs:us-east-1:123456789012:{stack}-short"),
        batch_size: 1,
        report_batch_item_failures: true,
        concurrency: 1,
    };
    let bridge = start_bridge(&c, m, &base, proxy.changes());
    wait_until(Duration::from_secs(20), "the delivery", || {
        !f.deliveries().is_empty()
    })
    .await;
    let delivered = f.deliveries()[0].arrived;
    // The bridge goes away mid-invocation and settles nothing.
    bridge.stop().await;

    let mut back = None;
    while delivered.elapsed() < Duration::from_secs(10) && back.is_none() {
        let got = c
            .sqs
            .receive_message()
            .queue_url(&url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if !got.is_empty() {
            back = Some(delivered.elapsed());
        }
    }
    let back = back.expect("the message comes back");
    assert!(
        back >= Duration::from_millis(2500),
        "visible again after only {back:?}"
    );
}

#[tokio::test]
async fn without_a_retry_delay_failures_come_back_after_the_queues_visibility_timeout() {
    let Some(endpoint) = endpoint() else { return };
    let c = Clients::new(&sdk(&endpoint).await);
    let stack = unique_stack("it-vis-lambda");
    let url = c
        .sqs
        .create_queue()
        .queue_name(format!("{stack}-short"))
        .attributes(QueueAttributeName::VisibilityTimeout, "3")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let proxy = SqsProxy::start(&endpoint).await.unwrap();
    // Reported as failed first, then a crashed invocation, then done.
    let (f, base) = FakeFunction::start(proxy.url(), &url, |_, count| match count {
        1 => step(Answer::Fail),
        2 => step(Answer::Crash),
        _ => step(Answer::Done),
    })
    .await;
    send(&c, &url, &["lambda-like"]).await;
    let m = Mapping {
        function: "fake".into(),
        queue_url: url.clone(),
        queue_arn: format!("arn:aws:sqs:us-east-1:123456789012:{stack}-short"),
        batch_size: 1,
        report_batch_item_failures: true,
        concurrency: 1,
    };
    let bridge = Bridge::start(
        c.sqs.clone(),
        reqwest::Client::builder().no_proxy().build().unwrap(),
        vec![m],
        BridgeSettings {
            invoke_base: base.to_string(),
            retry_delay: None,
            region: "us-east-1".into(),
            changes: proxy.changes(),
        },
    );
    wait_until(Duration::from_secs(30), "three deliveries", || {
        f.deliveries().len() >= 3
    })
    .await;
    // The third delivery succeeded; give the bridge a moment to delete it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    bridge.stop().await;
    let d = f.of("lambda-like");
    assert_eq!(
        d.iter().map(|d| d.receive_count).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Each comes back when the 3 s visibility timeout of its receive ends, not at once.
    for pair in d.windows(2) {
        let waited = pair[1].arrived - pair[0].arrived;
        assert!(
            waited >= Duration::from_millis(2500),
            "back after {waited:?}: {d:?}"
        );
    }
    assert_eq!(queue_depth(&c, &url).await, 0, "the success is deleted");
}
