//! Benchmark of the downloader's transfer path: a local HTTP source (Range support) into s3s-fs, our pipeline
//! against the limits of source and sink and against the tools an admin or a peer would use. Every case runs
//! in its own child process; CPU and peak RSS come from `wait4` of that child. See the README, "Benchmark".

mod cases;
mod content;
mod ours;
mod proc;
mod report;
mod source;
mod tools;

use anyhow::{Context, ensure};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use report::{Report, Row, size};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::Ordering;
use std::time::Duration;

const BUCKET: &str = "bench";
const BOTO3_UPLOAD: &str = include_str!("../py/boto3_upload.py");

#[derive(Parser)]
#[command(
    name = "archiver-bench",
    version,
    about = "Benchmark of the downloader's transfer path (HTTP source → S3 multipart into s3s-fs)",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    internal: Option<Internal>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Internal {
    /// One measured case in this process (the bench runs itself so).
    #[command(name = "__case", hide = true)]
    Case(cases::CaseArgs),
}

fn workspace_dir(rel: &str) -> String {
    format!("{}/../{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[derive(Args)]
struct RunArgs {
    /// Bytes each case moves (B, KiB, MiB, GiB; KB, MB, GB are powers of ten).
    #[arg(long, default_value = "2GiB", value_parser = parse_size)]
    size: u64,
    /// Part uploads in flight for the SDK sink case (and passed to our pipeline).
    #[arg(long, default_value_t = shared::transfer::Settings::default().parts_in_flight)]
    parts: usize,
    /// Cases to run, comma-separated; all by default. They run in the order listed by --help.
    #[arg(long, value_enum, value_delimiter = ',')]
    cases: Vec<Case>,
    /// Skip the RSS flatness runs (ours at --rss-small and at --rss-large).
    #[arg(long)]
    no_rss_flatness: bool,
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    rss_small: u64,
    #[arg(long, default_value = "4GiB", value_parser = parse_size)]
    rss_large: u64,
    /// The s3s-fs binary (default: <tools>/bin/s3s-fs, then $PATH).
    #[arg(long)]
    s3s_fs: Option<PathBuf>,
    /// The aws cli (default: <tools>/venv/bin/aws, then $PATH).
    #[arg(long)]
    aws: Option<PathBuf>,
    /// A Python with boto3 and requests (default: <tools>/venv/bin/python, then python3 on $PATH).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where the benchmark's tools are installed (see the README).
    #[arg(long, default_value_t = workspace_dir("target/bench-tools"))]
    tools: String,
    /// Scratch directory: s3s-fs's data, the local file for `aws s3 cp`, the children's logs.
    #[arg(long, default_value_t = workspace_dir("target/bench-scratch"))]
    scratch: String,
    /// Run the remaining cases after one fails (the exit code is still nonzero).
    #[arg(long)]
    keep_going: bool,
    /// Run every case this many times; each row then shows the fastest time, the lowest CPU and the highest
    /// peak RSS of its runs (on a shared machine other work only ever slows a run down).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Seconds after which a case is killed.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

/// The measured cases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Case {
    /// Source alone: our reqwest client reads the stream and discards it.
    Source,
    /// Source alone with curl → /dev/null (for reference).
    SourceCurl,
    /// One SHA-256 pass over the bytes in memory.
    Sha256,
    /// Sink alone: multipart upload from memory with the SDK, unsigned payload, no checksum.
    SinkSdk,
    /// Sink alone: the same with the SDK's defaults (signed payload + CRC32), as S3Sink sends parts.
    SinkSdkSigned,
    /// Sink alone: `aws s3 cp <local file>`.
    SinkCli,
    /// What an admin would do: `curl … | aws s3 cp - …`.
    CliPipe,
    /// What the Python peers do: boto3 `upload_fileobj` over a streamed requests GET.
    Boto3,
    /// Ours: the project's pipeline (see bench/src/ours.rs).
    Ours,
}

impl Case {
    pub fn label(self) -> &'static str {
        match self {
            Case::Source => "source → /dev/null (our reqwest client)",
            Case::SourceCurl => "source → /dev/null (curl)",
            Case::Sha256 => "SHA-256 pass in memory",
            Case::SinkSdk => "sink: SDK from memory (unsigned, no checksum)",
            Case::SinkSdkSigned => "sink: SDK from memory (SDK defaults: signed + CRC32)",
            Case::SinkCli => "sink: aws s3 cp <file>",
            Case::CliPipe => "curl | aws s3 cp -",
            Case::Boto3 => "boto3 upload_fileobj(streamed GET)",
            Case::Ours => "ours: transfer → S3Sink",
        }
    }
    fn uploads(self) -> bool {
        !matches!(self, Case::Source | Case::SourceCurl | Case::Sha256)
    }
    fn in_process(self) -> Option<cases::InProcess> {
        Some(match self {
            Case::Source => cases::InProcess::Source,
            Case::Sha256 => cases::InProcess::Sha256,
            Case::SinkSdk => cases::InProcess::SinkSdk,
            Case::SinkSdkSigned => cases::InProcess::SinkSdkSigned,
            Case::Ours => cases::InProcess::Ours,
            _ => return None,
        })
    }
}

/// `2GiB`, `256 MiB`, `1.5G`, `1000000`: binary units, except KB/MB/GB.
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        u => return Err(format!("unknown unit {u:?} in {s:?}")),
    };
    let n = (num * mult as f64).round();
    if !(1.0..=u64::MAX as f64).contains(&n) {
        return Err(format!("size out of range: {s:?}"));
    }
    Ok(n as u64)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.internal {
        Some(Internal::Case(a)) => cases::run(a).map(|()| ExitCode::SUCCESS),
        None => bench(cli.run),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

/// Everything a case needs from the parent.
struct Env {
    exe: PathBuf,
    scratch: PathBuf,
    logs: PathBuf,
    endpoint: String,
    aws: Option<PathBuf>,
    python: Option<PathBuf>,
    curl: Option<PathBuf>,
    file: PathBuf,
    parts: usize,
    timeout: Duration,
}

impl Env {
    /// The environment every child gets: the S3 endpoint and credentials, nothing from the user's AWS setup.
    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        for v in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL_S3",
            "RUST_LOG",
        ] {
            c.env_remove(v);
        }
        c.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", tools::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", tools::SECRET_KEY)
            .env("AWS_REGION", tools::REGION)
            .env("AWS_DEFAULT_REGION", tools::REGION)
            .env("AWS_CONFIG_FILE", self.scratch.join("aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.scratch.join("aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        c
    }

    fn commands(&self, case: Case, url: &str, bytes: u64, key: &str) -> Vec<Command> {
        let dest = format!("s3://{BUCKET}/{key}");
        let tool = |p: &Option<PathBuf>| p.clone().expect("checked before the run");
        if let Some(kind) = case.in_process() {
            let mut c = self.command(&self.exe);
            c.arg("__case")
                .arg(
                    kind.to_possible_value()
                        .expect("no skipped variants")
                        .get_name(),
                )
                .args(["--size", &bytes.to_string(), "--url", url])
                .args(["--bucket", BUCKET, "--key", key])
                .args(["--parts", &self.parts.to_string()]);
            return vec![c];
        }
        match case {
            Case::SourceCurl => {
                let mut c = self.command(&tool(&self.curl));
                c.args(["-sS", "--fail", "-o", "/dev/null", url]);
                vec![c]
            }
            Case::SinkCli => {
                let mut c = self.command(&tool(&self.aws));
                c.args(["--endpoint-url", &self.endpoint, "s3", "cp"])
                    .arg(&self.file)
                    .args([&dest, "--only-show-errors"]);
                vec![c]
            }
            Case::CliPipe => {
                let mut curl = self.command(&tool(&self.curl));
                curl.args(["-sS", "--fail", url]);
                let mut aws = self.command(&tool(&self.aws));
                aws.args(["--endpoint-url", &self.endpoint, "s3", "cp", "-", &dest])
                    .arg("--only-show-errors");
                vec![curl, aws]
            }
            Case::Boto3 => {
                let mut c = self.command(&tool(&self.python));
                c.args(["-c", BOTO3_UPLOAD, url, &self.endpoint, BUCKET, key]);
                vec![c]
            }
            _ => unreachable!("in-process cases return above"),
        }
    }
}

fn bench(args: RunArgs) -> anyhow::Result<ExitCode> {
    ensure!(args.parts >= 1, "--parts must be at least 1");
    ensure!(args.repeat >= 1, "--repeat must be at least 1");
    let selected: Vec<Case> = if args.cases.is_empty() {
        Case::value_variants().to_vec()
    } else {
        Case::value_variants()
            .iter()
            .copied()
            .filter(|c| args.cases.contains(c))
            .collect()
    };
    let flatness = !args.no_rss_flatness;
    let tools_dir = PathBuf::from(&args.tools);
    let tools_dir = tools_dir.canonicalize().unwrap_or(tools_dir);
    let scratch = PathBuf::from(&args.scratch);

    // Tools first, so a missing one fails before anything runs.
    let needs_sink = flatness || selected.iter().any(|c| c.uploads());
    let s3s_fs = if needs_sink {
        Some(tools::find(
            args.s3s_fs.as_deref(),
            &tools_dir,
            "bin/s3s-fs",
            "s3s-fs",
            &tools::install_s3s_fs(&tools_dir),
        )?)
    } else {
        None
    };
    let uses = |cs: &[Case]| selected.iter().any(|c| cs.contains(c));
    let aws = if uses(&[Case::SinkCli, Case::CliPipe]) {
        Some(tools::find(
            args.aws.as_deref(),
            &tools_dir,
            "venv/bin/aws",
            "aws",
            &tools::install_python(&tools_dir),
        )?)
    } else {
        None
    };
    let python = if uses(&[Case::Boto3]) {
        let p = tools::find(
            args.python.as_deref(),
            &tools_dir,
            "venv/bin/python",
            "python3",
            &tools::install_python(&tools_dir),
        )?;
        tools::check_python(&p, &tools::install_python(&tools_dir))?;
        Some(p)
    } else {
        None
    };
    let curl = if uses(&[Case::SourceCurl, Case::CliPipe]) {
        Some(tools::on_path("curl").context("curl not found on $PATH")?)
    } else {
        None
    };

    std::fs::create_dir_all(&scratch)?;
    let scratch = scratch.canonicalize()?;
    let logs = scratch.join("logs");
    let s3_root = scratch.join("s3");
    let file = scratch.join("source.bin");
    for dir in [&s3_root, &logs] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
    }
    std::fs::create_dir_all(&logs)?;
    std::fs::write(scratch.join("aws-config"), "")?;
    std::fs::write(scratch.join("aws-credentials"), "")?;

    // The source serves from this process, on one runtime thread; its CPU is not in any case.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let src = rt.block_on(source::start())?;
    let sink = match &s3s_fs {
        Some(bin) => Some(tools::S3sFs::start(
            bin,
            &s3_root,
            &logs.join("s3s-fs.log"),
        )?),
        None => None,
    };
    let admin = sink.as_ref().map(|s| admin_client(&s.endpoint));
    if let Some(a) = &admin {
        rt.block_on(a.create_bucket().bucket(BUCKET).send())
            .context("CreateBucket on s3s-fs")?;
    }

    let env = Env {
        exe: std::env::current_exe()?,
        scratch: scratch.clone(),
        logs,
        endpoint: sink
            .as_ref()
            .map(|s| s.endpoint.clone())
            .unwrap_or_default(),
        aws,
        python,
        curl,
        file: file.clone(),
        parts: args.parts,
        timeout: Duration::from_secs(args.timeout),
    };

    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("## archiver-bench\n");
    println!(
        "- machine: {nproc} CPUs (nproc), {}, {} {}; load average at the start: {}",
        cpu_model(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        load_average()
    );
    println!(
        "- size: {} ({} bytes); part size {}; parts in flight: ours {} (set by --parts-in-flight), SDK sink {}",
        size(args.size),
        args.size,
        size(ours::part_size(args.size)),
        shared::transfer::Settings::default().parts_in_flight,
        args.parts
    );
    if args.repeat > 1 {
        println!(
            "- {} runs per case: each row shows the fastest time, the lowest CPU and the highest peak RSS of them",
            args.repeat
        );
    }
    println!(
        "- source: {} (in the bench process, Range support); sink: {}",
        src.url(args.size),
        match (&sink, &s3s_fs) {
            (Some(s), Some(b)) =>
                format!("{} at {} ({})", tools::version(b), s.endpoint, b.display()),
            _ => "none".into(),
        }
    );
    if let Some(a) = &env.aws {
        println!("- aws cli: {} ({})", tools::version(a), a.display());
    }
    if let Some(p) = &env.python {
        println!("- python: {} ({})", tools::version(p), p.display());
    }
    println!();

    let mut rows = Vec::new();
    let mut flat = Vec::new();
    let mut failed: Vec<(Case, String)> = Vec::new();
    let mut expected = HashMap::new();
    let mut base: Vec<(Case, u64, bool)> =
        selected.iter().map(|c| (*c, args.size, false)).collect();
    if flatness {
        base.push((Case::Ours, args.rss_small, true));
        base.push((Case::Ours, args.rss_large, true));
    }
    // Each round runs every case once; a case's row merges its rounds (see `Row::merge`).
    let mut merged: Vec<Option<Row>> = vec![None; base.len()];
    let total = base.len() * args.repeat;
    let plan = (0..args.repeat).flat_map(|_| base.iter().copied().enumerate());
    'rounds: for (n, (slot, (case, bytes, _))) in plan.enumerate() {
        if case == Case::SinkCli {
            write_file_once(&file, bytes)?;
        }
        let step = format!("[{}/{total}] {} ({})", n + 1, case.label(), size(bytes));
        let result = run_case(
            &rt,
            &env,
            &src,
            sink.as_ref(),
            admin.as_ref(),
            case,
            bytes,
            &step,
            &mut expected,
        );
        if case == Case::SinkCli {
            let _ = std::fs::remove_file(&file);
        }
        match result {
            Ok(row) => {
                eprintln!(
                    "{step}: {:.1} s, {:.0} MiB/s, {:.2} CPU s/GiB, {:.0} MiB RSS",
                    row.usage.wall.as_secs_f64(),
                    row.mib_s(),
                    row.cpu_per_gib(),
                    row.rss_mib()
                );
                match &mut merged[slot] {
                    Some(m) => m.merge(row),
                    empty => *empty = Some(row),
                }
            }
            Err(e) => {
                eprintln!("{step}: FAILED: {e:#}");
                failed.push((case, format!("{e:#}")));
                if !args.keep_going {
                    break 'rounds;
                }
            }
        }
    }
    let _ = std::fs::remove_file(&file);
    drop(sink);
    for ((_, _, is_flat), row) in base.iter().zip(merged) {
        match (row, is_flat) {
            (Some(r), false) => rows.push(r),
            (Some(r), true) => flat.push(r),
            (None, _) => {}
        }
    }
    if flat.len() != 2 {
        flat.clear();
    }

    let report = Report {
        rows: &rows,
        flat: &flat,
        failed: &failed,
    };
    println!("{}", report.render());
    for r in rows.iter().chain(&flat) {
        if let Some(n) = &r.note {
            println!("- {n}");
        }
    }
    println!("- load average at the end: {}", load_average());
    println!(
        "CPU = user+sys of the case's processes (wait4), peak RSS = their ru_maxrss (summed for the two processes of the pipe), time = wall clock from spawn to exit, process start included. The sink limit is the fastest sink-alone case; the floor adds the CPU of the source alone, one SHA-256 pass and the SDK sink."
    );
    let _ = std::fs::remove_dir_all(&s3_root);
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The CPU's model name.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown CPU".into(), |(_, m)| m.trim().to_owned())
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn admin_client(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new(tools::REGION))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            tools::ACCESS_KEY,
            tools::SECRET_KEY,
            None,
            None,
            "bench",
        ))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The local file for `aws s3 cp`, written (not measured) before its case, once per size.
fn write_file_once(path: &Path, bytes: u64) -> anyhow::Result<()> {
    if path.metadata().is_ok_and(|m| m.len() == bytes) {
        return Ok(());
    }
    content::write_file(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[allow(clippy::too_many_arguments)]
fn run_case(
    rt: &tokio::runtime::Runtime,
    env: &Env,
    src: &source::Source,
    sink: Option<&tools::S3sFs>,
    admin: Option<&aws_sdk_s3::Client>,
    case: Case,
    bytes: u64,
    step: &str,
    expected: &mut HashMap<u64, String>,
) -> anyhow::Result<Row> {
    let key = format!("{case:?}-{bytes}").to_lowercase();
    let url = src.url(bytes);
    let name = key.clone();
    let cmds = env.commands(case, &url, bytes, &key);

    let bar = progress(step, bytes);
    let served_at_start = src.served.load(Ordering::Relaxed);
    let ticker = {
        let bar = bar.clone();
        let served = src.served.clone();
        rt.spawn(async move {
            loop {
                bar.set_position(served.load(Ordering::Relaxed) - served_at_start);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let sink_cpu_before = sink.and_then(|s| s.cpu());
    let finished = proc::run(&name, cmds, &env.logs, env.timeout);
    let sink_cpu = sink
        .and_then(|s| s.cpu())
        .zip(sink_cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    ticker.abort();
    bar.finish_and_clear();
    let finished = finished?;

    let out: serde_json::Value = if case.in_process().is_some() {
        serde_json::from_str(finished.stdout.trim())
            .with_context(|| format!("{name}: unreadable result {:?}", finished.stdout))?
    } else {
        serde_json::Value::Null
    };
    let mut expect = |n: u64| -> String {
        expected
            .entry(n)
            .or_insert_with(|| content::sha256_hex(n))
            .clone()
    };
    match case {
        Case::Sha256 => ensure!(
            out["sha256"].as_str() == Some(expect(bytes).as_str()),
            "SHA-256 case computed {}, expected {}",
            out["sha256"],
            expect(bytes)
        ),
        Case::Source => ensure!(
            out["bytes"].as_u64() == Some(bytes),
            "source case read {}",
            out["bytes"]
        ),
        _ => {}
    }
    if case.uploads() {
        let (admin, sink) = (admin.expect("sink started"), sink.expect("sink started"));
        let head = rt
            .block_on(admin.head_object().bucket(BUCKET).key(&key).send())
            .with_context(|| format!("HeadObject {key} after the case"))?;
        ensure!(
            head.content_length() == Some(bytes as i64),
            "object {key} has {:?} bytes, expected {bytes}",
            head.content_length()
        );
        if case == Case::Ours {
            let want = expect(bytes);
            ensure!(
                out["sha256"].as_str() == Some(want.as_str()),
                "pipeline computed SHA-256 {}, the source's content has {want}",
                out["sha256"]
            );
            // The SHA-256 goes on the object as its tag, which s3s-fs does not implement; the stored bytes
            // are hashed instead.
            let stored = sha256_file(&sink.object_path(BUCKET, &key))?;
            ensure!(
                stored == want,
                "the bytes s3s-fs stored hash to {stored}, expected {want}"
            );
        }
        rt.block_on(admin.delete_object().bucket(BUCKET).key(&key).send())
            .with_context(|| format!("DeleteObject {key}"))?;
    }
    // Let the page cache write back before the next case, so it does not pay for this one.
    // SAFETY: plain syscall.
    unsafe { libc::sync() };
    std::thread::sleep(Duration::from_millis(500));
    let note = (case == Case::Ours).then(|| {
        format!(
            "{} at {}: {} parts of {}, {} in flight; the pipeline's own clock {:.1} s, of which {:.0} ms recording the SHA-256 on the object (PutObjectTagging)",
            case.label(),
            size(bytes),
            out["parts"],
            size(out["part_size"].as_u64().unwrap_or_default()),
            out["parts_in_flight"],
            out["elapsed_s"].as_f64().unwrap_or_default(),
            out["record_sha256_s"].as_f64().unwrap_or_default() * 1000.0,
        )
    });
    Ok(Row {
        case,
        bytes,
        usage: finished.usage,
        sink_cpu,
        note,
        runs: 1,
    })
}

fn progress(step: &str, bytes: u64) -> ProgressBar {
    let bar = ProgressBar::new(bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {elapsed:>4} [{bar:30}] {bytes}/{total_bytes} from the source",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(step.to_owned());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("256 MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1.5g"), Ok(3 << 29));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("2 parsecs").is_err());
    }
}
