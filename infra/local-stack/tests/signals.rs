//! The `local-stack` binary stops its process groups on SIGTERM and SIGINT, also mid-startup.
//!
//! Runs the real binary against a scratch repository root whose `.venv-aws/bin` holds fake
//! `moto_server` and `cargo-lambda` scripts (a `python3 -m http.server` each), and whose
//! `template.yaml` has no resources. Each fake leaves a `sleep` grandchild behind and writes
//! its pid to a file; after the signal, the binary must exit and every fake process be gone.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FAKE_MOTO: &str = r#"#!/bin/sh
# Fake moto_server: serves the repository root (which has moto-api/index.html) on -p PORT.
while [ $# -gt 0 ]; do case "$1" in -p) port=$2; shift;; esac; shift; done
sleep 1000 & echo $! > moto.grandchild
echo $$ > moto.leader
exec python3 -m http.server --bind 127.0.0.1 "$port"
"#;

const FAKE_CARGO_LAMBDA: &str = r#"#!/bin/sh
# Fake cargo-lambda: `lambda watch ... -P PORT ...` listens on PORT, unless FAKE_WATCH_HANG is set.
while [ $# -gt 0 ]; do case "$1" in -P) port=$2; shift;; esac; shift; done
sleep 1000 & echo $! > watch.grandchild
echo $$ > watch.leader
if [ -n "$FAKE_WATCH_HANG" ]; then wait; fi
exec python3 -m http.server --bind 127.0.0.1 "$port"
"#;

/// A scratch repository root with the fakes; removed on drop.
struct FakeRoot(PathBuf);

impl FakeRoot {
    fn new(name: &str) -> FakeRoot {
        let root =
            std::env::temp_dir().join(format!("local-stack-signals-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let bin = root.join(".venv-aws/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(root.join("moto-api")).unwrap();
        std::fs::write(root.join("moto-api/index.html"), "fake moto\n").unwrap();
        std::fs::write(root.join("template.yaml"), "Resources: {}\n").unwrap();
        std::fs::write(root.join("Cargo.toml"), "").unwrap();
        for (name, script) in [
            ("moto_server", FAKE_MOTO),
            ("cargo-lambda", FAKE_CARGO_LAMBDA),
        ] {
            let path = bin.join(name);
            std::fs::write(&path, script).unwrap();
            let status = Command::new("chmod").arg("+x").arg(&path).status().unwrap();
            assert!(status.success());
        }
        FakeRoot(root)
    }

    /// Starts the binary in this root; its stdout lines arrive on the returned channel.
    fn start(&self, hang_watch: bool) -> (Child, mpsc::Receiver<String>) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_local-stack"));
        cmd.arg("--repo-root")
            .arg(&self.0)
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("CARGO_TARGET_DIR")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if hang_watch {
            cmd.env("FAKE_WATCH_HANG", "1");
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    }

    /// The pid a fake wrote to `file`, waiting up to 30 s for it.
    fn pid(&self, file: &str) -> u32 {
        let path = self.0.join(file);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            assert!(
                Instant::now() < deadline,
                "{} was not written",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The pids of both fakes and their grandchildren.
    fn fake_pids(&self) -> Vec<(&'static str, u32)> {
        [
            "moto.leader",
            "moto.grandchild",
            "watch.leader",
            "watch.grandchild",
        ]
        .into_iter()
        .map(|f| (f, self.pid(f)))
        .collect()
    }
}

impl Drop for FakeRoot {
    /// Kills what a failing binary left running (each fake leads its own process group), so
    /// that a failed test leaves no processes behind, then removes the root.
    fn drop(&mut self) {
        for leader in ["moto.leader", "watch.leader"] {
            let pid = std::fs::read_to_string(self.0.join(leader))
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            if let Some(pid) = pid.filter(|&p| is_alive(p)) {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `pid` is a live process (a zombie counts as gone).
fn is_alive(pid: u32) -> bool {
    let out = Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&out.stdout);
    out.status.success() && !stat.trim().is_empty() && !stat.trim_start().starts_with('Z')
}

fn send(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// Waits for the binary to exit successfully, then for every fake process to be gone.
fn assert_all_stopped(mut child: Child, pids: &[(&str, u32)]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("local-stack did not exit after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "local-stack exited with {status}");
    for &(what, pid) in pids {
        let deadline = Instant::now() + Duration::from_secs(5);
        while is_alive(pid) {
            assert!(Instant::now() < deadline, "{what} ({pid}) still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn stops_a_running_stack_on(signal: &str, name: &str) {
    let root = FakeRoot::new(name);
    let (child, lines) = root.start(false);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("local-stack did not report that it is ready");
        if line.ends_with("to stop.") {
            break;
        }
    }
    let pids = root.fake_pids();
    for &(what, pid) in &pids {
        assert!(
            is_alive(pid),
            "{what} ({pid}) is not running before the signal"
        );
    }
    send(signal, child.id());
    assert_all_stopped(child, &pids);
    assert!(
        !path_exists_with_ext(&root.0.join("target/local-stack"), "env"),
        "the env file was not removed"
    );
}

fn path_exists_with_ext(dir: &Path, ext: &str) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == ext))
        })
        .unwrap_or(false)
}

#[test]
fn sigterm_stops_the_stack_and_its_process_groups() {
    stops_a_running_stack_on("-TERM", "term");
}

#[test]
fn sigint_stops_the_stack_and_its_process_groups() {
    stops_a_running_stack_on("-INT", "int");
}

#[test]
fn sigterm_during_startup_kills_what_was_started() {
    let root = FakeRoot::new("startup");
    // The fake watch never listens, so the binary is still waiting for its port.
    let (child, _lines) = root.start(true);
    let pids = root.fake_pids();
    for &(what, pid) in &pids {
        assert!(
            is_alive(pid),
            "{what} ({pid}) is not running before the signal"
        );
    }
    send("-TERM", child.id());
    assert_all_stopped(child, &pids);
}
