//! Running one measured case as child processes and taking its resource use from `wait4`: CPU (user + sys) and
//! peak RSS of exactly that child (and whatever it waited for), wall clock from spawn to exit.

use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a case cost. For a pipeline (`curl | aws`) CPU is the sum over its processes and peak RSS the sum of
/// their peaks (they run at the same time).
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub wall: Duration,
    /// User + system.
    pub cpu: Duration,
    pub sys: Duration,
    pub max_rss_kib: u64,
}

/// A finished case: its usage, and its stdout (the in-process cases print one JSON line).
#[derive(Debug)]
pub struct Finished {
    pub usage: Usage,
    pub stdout: String,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Blocks until `pid` exits; its wait status and resource usage.
fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; wait4 writes it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; pid is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((status, ru));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn describe(status: libc::c_int) -> Option<String> {
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => None,
            c => Some(format!("exit code {c}")),
        }
    } else if libc::WIFSIGNALED(status) {
        Some(format!("killed by signal {}", libc::WTERMSIG(status)))
    } else {
        Some(format!("wait status {status}"))
    }
}

/// Runs `cmds` as a pipeline (each one's stdout into the next one's stdin; one command is a pipeline of one),
/// with the last stdout and every stderr in files under `logs` named after `name`. Killed after `timeout`.
pub fn run(
    name: &str,
    mut cmds: Vec<Command>,
    logs: &Path,
    timeout: Duration,
) -> anyhow::Result<Finished> {
    let out_path = logs.join(format!("{name}.stdout"));
    let n = cmds.len();
    let started = Instant::now();
    let mut pids = Vec::with_capacity(n);
    let mut prev_stdout: Option<std::process::ChildStdout> = None;
    for (i, cmd) in cmds.iter_mut().enumerate() {
        let err_path = logs.join(format!("{name}.{i}.stderr"));
        cmd.stderr(std::fs::File::create(&err_path)?);
        cmd.stdin(match prev_stdout.take() {
            Some(p) => Stdio::from(p),
            None => Stdio::null(),
        });
        if i + 1 == n {
            cmd.stdout(std::fs::File::create(&out_path)?);
        } else {
            cmd.stdout(Stdio::piped());
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                for pid in &pids {
                    // SAFETY: plain syscalls on our own children, which are then reaped.
                    unsafe { libc::kill(*pid, libc::SIGKILL) };
                    let _ = wait4(*pid);
                }
                return Err(e).with_context(|| format!("spawning {:?}", cmd.get_program()));
            }
        };
        prev_stdout = child.stdout.take();
        // Reaped by wait4 below, never by std.
        pids.push(child.id() as libc::pid_t);
    }
    // Our copies of the pipe ends must be closed, or a reader never sees EOF.
    drop(cmds);

    let (done, watch) = mpsc::channel::<()>();
    let to_kill = pids.clone();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(timeout) {
            for pid in to_kill {
                // SAFETY: plain syscall; the pid is our child, not reaped yet.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            return true;
        }
        false
    });

    let mut usage = Usage::default();
    let mut failures = Vec::new();
    for (i, pid) in pids.iter().enumerate() {
        let (status, ru) = wait4(*pid)?;
        usage.cpu += tv(ru.ru_utime) + tv(ru.ru_stime);
        usage.sys += tv(ru.ru_stime);
        usage.max_rss_kib += ru.ru_maxrss as u64;
        if let Some(d) = describe(status) {
            failures.push((i, d));
        }
    }
    usage.wall = started.elapsed();
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);

    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    if timed_out {
        bail!("{name}: killed after the {timeout:?} timeout");
    }
    if let Some((i, d)) = failures.first() {
        let err_path = logs.join(format!("{name}.{i}.stderr"));
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{name}: process {} of the case failed ({d}); stderr ({}):\n{}",
            i + 1,
            err_path.display(),
            tail.join("\n")
        );
    }
    Ok(Finished { usage, stdout })
}
