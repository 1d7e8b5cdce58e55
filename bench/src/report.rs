//! The Markdown report: one row per case, then the targets with PASS/MISS.

use crate::Case;
use crate::proc::Usage;
use std::fmt::Write;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = MIB * 1024.0;

/// One measured run.
#[derive(Debug, Clone)]
pub struct Row {
    pub case: Case,
    pub bytes: u64,
    pub usage: Usage,
    /// CPU s3s-fs used during the case (not part of the case's CPU).
    pub sink_cpu: Option<std::time::Duration>,
    /// Printed under the table.
    pub note: Option<String>,
    /// How many runs are merged into this row.
    pub runs: usize,
}

impl Row {
    /// Folds another run of the same case in: the fastest wall time (with that run's note), the lowest CPU,
    /// the highest peak RSS, the sink's lowest CPU.
    pub fn merge(&mut self, other: Row) {
        if other.usage.wall < self.usage.wall {
            self.usage.wall = other.usage.wall;
            self.note = other.note;
        }
        if other.usage.cpu < self.usage.cpu {
            self.usage.cpu = other.usage.cpu;
            self.usage.sys = other.usage.sys;
        }
        self.usage.max_rss_kib = self.usage.max_rss_kib.max(other.usage.max_rss_kib);
        self.sink_cpu = match (self.sink_cpu, other.sink_cpu) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.runs += 1;
    }

    pub fn mib_s(&self) -> f64 {
        self.bytes as f64 / MIB / self.usage.wall.as_secs_f64()
    }
    pub fn cpu_per_gib(&self) -> f64 {
        self.usage.cpu.as_secs_f64() / (self.bytes as f64 / GIB)
    }
    pub fn sys_per_gib(&self) -> f64 {
        self.usage.sys.as_secs_f64() / (self.bytes as f64 / GIB)
    }
    pub fn sink_cpu_per_gib(&self) -> Option<f64> {
        Some(self.sink_cpu?.as_secs_f64() / (self.bytes as f64 / GIB))
    }
    pub fn rss_mib(&self) -> f64 {
        self.usage.max_rss_kib as f64 / 1024.0
    }
}

/// `2 GiB`, `256 MiB`, or bytes.
pub fn size(n: u64) -> String {
    for (unit, f) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= f && n.is_multiple_of(f) {
            return format!("{} {unit}", n / f);
        }
    }
    if n >= 1 << 30 {
        return format!("{:.2} GiB", n as f64 / GIB);
    }
    format!("{n} B")
}

pub struct Report<'a> {
    pub rows: &'a [Row],
    /// Ours at the small and the large size, for the flatness line.
    pub flat: &'a [Row],
    pub failed: &'a [(Case, String)],
}

fn find(rows: &[Row], c: Case) -> Option<&Row> {
    rows.iter().find(|r| r.case == c)
}

/// A table cell: `|` escaped.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

impl Report<'_> {
    pub fn sink_limit(&self) -> Option<&Row> {
        [Case::SinkSdk, Case::SinkSdkSigned, Case::SinkCli]
            .into_iter()
            .filter_map(|c| find(self.rows, c))
            .max_by(|a, b| a.mib_s().total_cmp(&b.mib_s()))
    }

    /// Source alone + one SHA-256 pass + the cheapest way to send the bytes (the SDK from memory).
    pub fn floor(&self) -> Option<(f64, f64, f64)> {
        Some((
            find(self.rows, Case::Source)?.cpu_per_gib(),
            find(self.rows, Case::Sha256)?.cpu_per_gib(),
            find(self.rows, Case::SinkSdk)?.cpu_per_gib(),
        ))
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        let limit = self.sink_limit();
        let _ = writeln!(
            s,
            "| case | s | MiB/s | CPU s/GiB | of which sys | peak RSS MiB | × sink limit | s3s-fs CPU s/GiB |"
        );
        let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|--:|");
        for r in self.rows.iter().chain(self.flat) {
            let name = if self.flat.iter().any(|f| std::ptr::eq(f, r)) {
                format!("{} at {}", md(r.case.label()), size(r.bytes))
            } else {
                md(r.case.label())
            };
            let vs = limit.map_or("–".into(), |l| format!("{:.2}", r.mib_s() / l.mib_s()));
            let _ = writeln!(
                s,
                "| {name} | {:.1} | {:.0} | {:.2} | {:.2} | {:.0} | {vs} | {} |",
                r.usage.wall.as_secs_f64(),
                r.mib_s(),
                r.cpu_per_gib(),
                r.sys_per_gib(),
                r.rss_mib(),
                r.sink_cpu_per_gib()
                    .filter(|_| r.case.uploads())
                    .map_or("–".into(), |c| format!("{c:.2}")),
            );
        }
        for (c, e) in self.failed {
            let first = e.lines().next().unwrap_or_default();
            let _ = writeln!(
                s,
                "| {} | FAILED: {} | | | | | | |",
                md(c.label()),
                md(first)
            );
        }

        let _ = writeln!(s);
        let _ = writeln!(s, "| target | measured | goal | |");
        let _ = writeln!(s, "|---|--:|--:|---|");
        let ours = find(self.rows, Case::Ours);
        let na = |s: &mut String, what: &str, goal: &str| {
            let _ = writeln!(s, "| {what} | n/a | {goal} | – |");
        };
        match (ours, limit) {
            (Some(o), Some(l)) => {
                let x = o.mib_s() / l.mib_s();
                let _ = writeln!(
                    s,
                    "| throughput: ours / sink limit ({}: {:.0} MiB/s) | {x:.2} × | ≥ 0.9 × | {} |",
                    md(l.case.label()),
                    l.mib_s(),
                    verdict(x >= 0.9)
                );
            }
            _ => na(&mut s, "throughput: ours / sink limit", "≥ 0.9 ×"),
        }
        match (ours, find(self.rows, Case::CliPipe)) {
            (Some(o), Some(p)) => {
                let x = o.mib_s() / p.mib_s();
                let _ = writeln!(
                    s,
                    "| throughput: ours / aws-cli pipe ({:.0} MiB/s) | {x:.2} × | ≥ 1.5 × | {} |",
                    p.mib_s(),
                    verdict(x >= 1.5)
                );
            }
            _ => na(&mut s, "throughput: ours / aws-cli pipe", "≥ 1.5 ×"),
        }
        match ours {
            Some(o) => {
                let c = o.cpu_per_gib();
                let _ = writeln!(
                    s,
                    "| CPU: ours, user+sys s per GiB (SHA-256 included) | {c:.2} | ≤ 1.5 | {} |",
                    verdict(c <= 1.5)
                );
            }
            None => na(&mut s, "CPU: ours, s per GiB", "≤ 1.5"),
        }
        match (ours, self.floor()) {
            (Some(o), Some((src, sha, sink))) => {
                let floor = src + sha + sink;
                let _ = writeln!(
                    s,
                    "| CPU: ours / floor (source {src:.2} + SHA-256 {sha:.2} + SDK sink {sink:.2} = {floor:.2} s/GiB) | {:.2} × | (as low as possible) | |",
                    o.cpu_per_gib() / floor
                );
            }
            _ => na(&mut s, "CPU: ours / floor", "(as low as possible)"),
        }
        match ours {
            Some(o) => {
                let _ = writeln!(
                    s,
                    "| peak RSS: ours | {:.0} MiB | ≤ 96 MiB | {} |",
                    o.rss_mib(),
                    verdict(o.rss_mib() <= 96.0)
                );
            }
            None => na(&mut s, "peak RSS: ours", "≤ 96 MiB"),
        }
        match self.flat {
            [small, large] => {
                let x = large.rss_mib() / small.rss_mib();
                let _ = writeln!(
                    s,
                    "| RSS flat: ours at {} / at {} ({:.0} / {:.0} MiB) | {x:.2} | ≤ 1.1 | {} |",
                    size(large.bytes),
                    size(small.bytes),
                    large.rss_mib(),
                    small.rss_mib(),
                    verdict(x <= 1.1)
                );
            }
            _ => na(&mut s, "RSS flat: ours large / small", "≤ 1.1"),
        }
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::size(2 << 30), "2 GiB");
        assert_eq!(super::size(256 << 20), "256 MiB");
        assert_eq!(super::size(1000), "1000 B");
    }
}
