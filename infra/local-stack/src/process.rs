//! Child processes (moto, `cargo lambda watch`, the build, every function instance) started in
//! their own process group, so that stopping one also stops whatever it started, and so that a
//! Ctrl-C in the terminal reaches only the parent, which then shuts the stack down in order.
//!
//! Because the children do not share the parent's group, nothing stops them when the parent
//! dies without running destructors (SIGKILL, or a signal it does not handle): the binary
//! therefore handles SIGINT, SIGTERM and SIGHUP and shuts the stack down.

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
pub(crate) fn signal_group(pgid: u32, signal: &str) {
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
    pub(crate) fn spawn(name: &str, cmd: Command, log: Option<&Path>) -> anyhow::Result<Self> {
        Self::spawn_logging(name, cmd, log, false)
    }

    /// Like [`GroupChild::spawn`]; with `append`, the output is added to the end of `log`
    /// instead of replacing it (several processes, or restarts, sharing one log).
    pub(crate) fn spawn_logging(
        name: &str,
        mut cmd: Command,
        log: Option<&Path>,
        append: bool,
    ) -> anyhow::Result<Self> {
        cmd.process_group(0).kill_on_drop(true).stdin(Stdio::null());
        if let Some(path) = log {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(path)
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

    /// Waits for the leader to exit.
    pub(crate) async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Kills the whole group at once (SIGKILL), without waiting.
    pub(crate) fn kill(&self) {
        if let Some(pgid) = self.pgid {
            signal_group(pgid, "-KILL");
        }
    }

    /// Where its output goes, if to a file.
    pub(crate) fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Fails if the process has already exited (with the end of its log, if any). Whatever
    /// the leader left running in its group is killed then.
    pub(crate) fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            // Members still running keep the group id from being reused, so this reaches
            // only processes this child started.
            if let Some(pgid) = self.pgid.take() {
                signal_group(pgid, "-KILL");
            }
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
    /// Kills the whole group (SIGKILL), without waiting.
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

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for tests: a group leader with a grandchild, and checks on process ids.

    use super::*;

    /// Spawns `sh -c <script>` as a [`GroupChild`]; the script must print the pid of a
    /// process it started (`sleep 1000 & echo $!`). Returns the child and that pid.
    pub(crate) async fn spawn_with_grandchild(name: &str, script: &str) -> (GroupChild, u32) {
        let dir = std::env::temp_dir().join(format!("local-stack-{}-{name}", std::process::id()));
        let log = dir.join("out.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        let child = GroupChild::spawn(name, cmd, Some(&log)).expect("spawning sh");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(pid) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
                let _ = std::fs::remove_dir_all(&dir);
                assert!(is_alive(pid), "grandchild {pid} of {name} is not running");
                return (child, pid);
            }
            assert!(Instant::now() < deadline, "{name} printed no pid: {text:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether `pid` is a live process (a zombie, dead but not yet reaped, counts as gone).
    pub(crate) fn is_alive(pid: u32) -> bool {
        let out = std::process::Command::new("ps")
            .args(["-o", "stat=", "-p", &pid.to_string()])
            .output()
            .expect("running ps");
        let stat = String::from_utf8_lossy(&out.stdout);
        out.status.success() && !stat.trim().is_empty() && !stat.trim_start().starts_with('Z')
    }

    /// Waits up to 5 s for `pid` to be gone; panics if it is still running then.
    pub(crate) async fn assert_gone(pid: u32, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while is_alive(pid) {
            assert!(Instant::now() < deadline, "{what} ({pid}) is still running");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[tokio::test]
    async fn dropping_a_child_kills_its_whole_group() {
        let (child, grandchild) = spawn_with_grandchild("drop", "sleep 1000 & echo $!; wait").await;
        let leader = child.id().unwrap();
        drop(child);
        assert_gone(grandchild, "grandchild").await;
        assert_gone(leader, "leader").await;
    }

    #[tokio::test]
    async fn stop_kills_a_group_that_ignores_sigterm() {
        // The ignored SIGTERM is inherited by the grandchild.
        let (child, grandchild) =
            spawn_with_grandchild("stop", "trap '' TERM; sleep 1000 & echo $!; wait").await;
        let leader = child.id().unwrap();
        let started = Instant::now();
        child.stop(Duration::from_millis(300)).await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_gone(grandchild, "grandchild").await;
        assert_gone(leader, "leader").await;
    }

    #[tokio::test]
    async fn a_leader_that_exits_early_takes_its_group_with_it() {
        let (mut child, grandchild) = spawn_with_grandchild("early", "sleep 1000 & echo $!").await;
        let deadline = Instant::now() + Duration::from_secs(5);
        let err = loop {
            match child.ensure_running() {
                Err(e) => break e.to_string(),
                Ok(()) => assert!(Instant::now() < deadline, "sh did not exit"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(err.contains("early exited early"), "{err}");
        assert_gone(grandchild, "grandchild").await;
    }
}
