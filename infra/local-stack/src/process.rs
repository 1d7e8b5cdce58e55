//! Child processes (moto, `cargo lambda watch`) started in their own process group, so that
//! stopping one also stops whatever it started (cargo, the function binaries), and so that a
//! Ctrl-C in the terminal reaches only the parent, which then shuts the stack down in order.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

/// A child process that leads its own process group.
#[derive(Debug)]
pub(crate) struct GroupChild {
    name: String,
    child: Child,
    pgid: Option<u32>,
    log: Option<PathBuf>,
}

/// Signals a whole process group with the `kill` utility (no libc binding needed).
fn signal_group(pgid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl GroupChild {
    /// Spawns `cmd` as the leader of a new process group. When `log` is set, stdout and
    /// stderr go to that file; otherwise they are inherited.
    pub(crate) fn spawn(name: &str, mut cmd: Command, log: Option<&Path>) -> anyhow::Result<Self> {
        cmd.process_group(0).kill_on_drop(true).stdin(Stdio::null());
        if let Some(path) = log {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating log file {}", path.display()))?;
            let err = file.try_clone()?;
            cmd.stdout(file).stderr(err);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({cmd:?})"))?;
        let pgid = child.id();
        Ok(GroupChild {
            name: name.to_string(),
            child,
            pgid,
            log: log.map(Path::to_path_buf),
        })
    }

    /// The process id of the group leader.
    pub(crate) fn id(&self) -> Option<u32> {
        self.pgid
    }

    /// Where its output goes, if to a file.
    pub(crate) fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Fails if the process has already exited (with the end of its log, if any).
    pub(crate) fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            self.pgid = None;
            let tail = self.log.as_deref().map(log_tail).unwrap_or_default();
            bail!("{} exited early ({status}){tail}", self.name);
        }
        Ok(())
    }

    /// Asks the group to stop (SIGTERM), waits up to `grace` for the leader, then kills
    /// whatever is left of the group (SIGKILL).
    pub(crate) async fn stop(mut self, grace: Duration) {
        let Some(pgid) = self.pgid.take() else {
            return;
        };
        signal_group(pgid, "-TERM");
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            tracing::debug!(name = %self.name, "did not stop in time; killing its process group");
        }
        // Leftover members of the group keep the id from being reused, so this reaches only
        // processes this child started.
        signal_group(pgid, "-KILL");
        let _ = self.child.wait().await;
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            signal_group(pgid, "-KILL");
        }
    }
}

/// The last lines of a log file, formatted to append to an error message.
pub(crate) fn log_tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(20);
            format!(
                "\n--- last lines of {} ---\n{}",
                path.display(),
                lines[start..].join("\n")
            )
        }
        Err(_) => String::new(),
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts connections on 127.0.0.1:`port`, while `child` runs.
pub(crate) async fn wait_for_port(
    child: &mut GroupChild,
    port: u16,
    timeout: Duration,
) -> anyhow::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        child.ensure_running()?;
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            let tail = child.log().map(log_tail).unwrap_or_default();
            bail!("nothing listens on {addr} after {timeout:?}{tail}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Finds an executable: first in `<repo_root>/.venv-aws/bin`, then on `PATH`.
pub(crate) fn find_tool(repo_root: &Path, name: &str) -> Option<PathBuf> {
    let venv = repo_root.join(".venv-aws").join("bin").join(name);
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
