//! Finding the external tools (s3s-fs, aws cli, Python with boto3, curl) and running s3s-fs.

use anyhow::{Context, bail};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "bench";
pub const SECRET_KEY: &str = "bench-secret";
pub const REGION: &str = "us-east-1";

pub fn install_s3s_fs(tools: &Path) -> String {
    format!(
        "cargo install s3s-fs@0.14.1 --features binary --locked --root {}",
        tools.display()
    )
}

pub fn install_python(tools: &Path) -> String {
    let venv = tools.join("venv");
    format!(
        "python3 -m venv {v} && {v}/bin/pip install -r bench/requirements.txt",
        v = venv.display()
    )
}

/// `name` on `$PATH`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The given path, else `<tools>/<rel>`, else `name` on `$PATH`.
pub fn find(
    given: Option<&Path>,
    tools: &Path,
    rel: &str,
    name: &str,
    install: &str,
) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        if is_executable(p) {
            return Ok(p.to_owned());
        }
        bail!(
            "{} is not an executable; install it with:\n  {install}",
            p.display()
        );
    }
    let pinned = tools.join(rel);
    if is_executable(&pinned) {
        return Ok(pinned);
    }
    on_path(name).with_context(|| {
        format!(
            "{name} not found (looked at {} and on $PATH); install it with:\n  {install}",
            pinned.display()
        )
    })
}

/// Checks that `python` imports boto3 and requests.
pub fn check_python(python: &Path, install: &str) -> anyhow::Result<()> {
    let ok = Command::new(python)
        .args(["-c", "import boto3, requests"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!(
            "{} cannot import boto3 and requests; install them with:\n  {install}",
            python.display()
        );
    }
    Ok(())
}

/// The first line `cmd --version` prints (stdout or stderr).
pub fn version(cmd: &Path) -> String {
    Command::new(cmd)
        .arg("--version")
        .output()
        .ok()
        .map(|o| {
            let s = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&s)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default()
}

/// A running s3s-fs on 127.0.0.1, killed when dropped.
pub struct S3sFs {
    child: Child,
    pub endpoint: String,
    pub root: PathBuf,
}

impl S3sFs {
    pub fn start(bin: &Path, root: &Path, log: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log)?)
            .stderr(std::fs::File::create(log.with_extension("stderr"))?)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut me = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            root: root.to_owned(),
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = me.child.try_wait()? {
                bail!("s3s-fs exited at start ({status}); see {}", log.display());
            }
            if Instant::now() > until {
                bail!("s3s-fs did not listen on {addr} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(me)
    }

    /// CPU (user + sys) s3s-fs has used so far, from `/proc/<pid>/stat`.
    pub fn cpu(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The fields after the command name in parentheses: state is the 3rd, utime the 14th, stime the 15th.
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        // SAFETY: plain libc call.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
    }

    /// Where s3s-fs keeps the object `bucket`/`key`.
    pub fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
