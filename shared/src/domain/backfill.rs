//! Backfill and reconcile: which windows of a vendor's recording lists are walked, how a run remembers what it
//! finished, and what becomes of each recording found. Pure rules and the ports they need; the walk itself is
//! [`crate::backfill`], the listings are the vendor modules'.
//!
//! A run covers a date range for one connection. The range is cut into windows no longer than the vendor
//! allows (Zoom: one calendar month, dates inclusive; Webex: 30 days), and each window is listed per *scope*
//! (Zoom: every user of the account, deactivated ones included; Webex: every site). One scope of one window is
//! a *unit*: listed to its last page in one go (page tokens are never kept: Zoom's expire after 15 minutes),
//! then recorded as done, so that a rerun after a crash continues with the next unit.

use crate::catalog::RecordingEntry;
use crate::error::Error;
use crate::ids::ConnectionId;
use crate::messages::IngestMessage;
use crate::model::RecordingKey;
use async_trait::async_trait;
use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How long a vendor lets one list request reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRule {
    /// Zoom: `from`..=`to` within one calendar month (Jan 31 → Feb 28 at most).
    CalendarMonth,
    /// Webex: at most this many days (`from` inclusive, `to` exclusive at the next midnight).
    Days(u32),
}

/// Days of one list request, both ends included (UTC dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Window {
    /// `2026-01-01..2026-01-31`: how the window is named in a run's record and in progress lines.
    pub fn id(&self) -> String {
        format!("{}..{}", self.from, self.to)
    }

    /// How many days it spans.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

/// The dates a run covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("{field}: {value:?} is not a date (YYYY-MM-DD)")]
    NotADate { field: &'static str, value: String },
    #[error("--from {from} is after --to {to}")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("--{field} {date} is in the future (today is {today}, UTC)")]
    Future {
        field: &'static str,
        date: NaiveDate,
        today: NaiveDate,
    },
}

impl DateRange {
    /// `from` and an optional `to` (default: today), as the admin typed them; neither may lie after today.
    pub fn parse(from: &str, to: Option<&str>, today: NaiveDate) -> Result<Self, RangeError> {
        let date = |field: &'static str, v: &str| {
            NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| RangeError::NotADate {
                field,
                value: v.to_owned(),
            })
        };
        let from = date("from", from)?;
        let to = match to {
            Some(t) => date("to", t)?,
            None => today,
        };
        for (field, d) in [("from", from), ("to", to)] {
            if d > today {
                return Err(RangeError::Future {
                    field,
                    date: d,
                    today,
                });
            }
        }
        if from > to {
            return Err(RangeError::Reversed { from, to });
        }
        Ok(Self { from, to })
    }

    /// The last `days` days up to `today` (the reconcile sweep's look-back).
    pub fn last_days(days: u32, today: NaiveDate) -> Self {
        let from = today
            .checked_sub_days(Days::new(u64::from(days.max(1) - 1)))
            .unwrap_or(today);
        Self { from, to: today }
    }

    /// `2026-01-01..2026-04-30`: how a run is named.
    pub fn id(&self) -> String {
        format!("{}..{}", self.from, self.to)
    }

    /// The windows covering the range in order, none longer than `rule` allows; the last is cut at `to`.
    pub fn windows(&self, rule: WindowRule) -> Vec<Window> {
        let mut out = Vec::new();
        let mut from = self.from;
        while from <= self.to {
            let end = match rule {
                WindowRule::CalendarMonth => from
                    .checked_add_months(Months::new(1))
                    .and_then(|d| d.pred_opt()),
                WindowRule::Days(n) => from.checked_add_days(Days::new(u64::from(n.max(1) - 1))),
            }
            .unwrap_or(self.to)
            .min(self.to);
            out.push(Window { from, to: end });
            match end.succ_opt() {
                Some(next) => from = next,
                None => break,
            }
        }
        out
    }
}

/// Whether a window fits the vendor's limit (what a test asserts of every request sent).
pub fn fits(w: &Window, rule: WindowRule) -> bool {
    w.from <= w.to
        && match rule {
            WindowRule::CalendarMonth => w
                .from
                .checked_add_months(Months::new(1))
                .is_some_and(|limit| w.to < limit),
            WindowRule::Days(n) => w.days() <= i64::from(n),
        }
}

/// What a listing is walked for: everyone of an account, or one vendor site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// The vendor's id of the scope: a Zoom user id, a Webex site URL (`-` for the org's preferred site).
    pub id: String,
    /// What an admin reads (a Zoom user's e-mail and status, the site).
    pub label: String,
}

/// One unit of a run: a scope listed over a window. Its id is what the run's record keeps once it is done.
pub fn unit_id(scope: &Scope, window: &Window) -> String {
    format!("{}|{}", window.id(), scope.id)
}

/// One recording as a vendor's list shows it, ready for the same enqueue path as a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub key: RecordingKey,
    pub topic: String,
    /// The vendor's file ids as listed (Zoom: `recording_files[].id`; Webex: the segments' recording ids with
    /// the link kinds, as normalisation names them, when known here).
    pub file_ids: BTreeSet<String>,
    /// Bytes the vendor announces for its files.
    pub bytes: u64,
    /// What is queued for enqueue: a body it ingests like the vendor's webhook, with the same idempotency
    /// keys (the catalog's per-file keys), so an overlap with webhooks or a second run creates nothing twice.
    pub message: IngestMessage,
}

/// What the catalog already knows of a listed recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Not in the catalog: queued.
    New,
    /// In the catalog but not every listed file is archived (new files, or still copying): queued; enqueue
    /// adds only what is missing.
    Incomplete,
    /// Every listed file is archived: nothing to do.
    Archived,
}

/// Whether a listed recording must be queued, from its catalog entry (`None`: absent).
pub fn known(listed: &Listed, entry: Option<&RecordingEntry>) -> Known {
    match entry {
        None => Known::New,
        Some(e) if e.all_done() && listed.file_ids.is_subset(&e.done_ids) => Known::Archived,
        Some(_) => Known::Incomplete,
    }
}

/// What a run found and did, added up over its units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Units listed (a scope over a window).
    pub units: u64,
    /// Recordings the vendor listed.
    pub found: u64,
    /// Of those, already archived whole.
    pub archived: u64,
    /// Queued for enqueue (new, or with files still missing); on a dry run, what would be.
    pub queued: u64,
    /// Bytes the vendor announces for the queued recordings.
    pub bytes_queued: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.units += other.units;
        self.found += other.found;
        self.archived += other.archived;
        self.queued += other.queued;
        self.bytes_queued += other.bytes_queued;
    }
}

/// A run's record: which units are done and what they counted. Kept per connection and range, so a rerun of
/// the same range continues where the last one stopped (and a finished one lists nothing again).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BackfillRun {
    pub done: BTreeSet<String>,
    pub counts: Counts,
}

/// Where runs are remembered.
#[async_trait]
pub trait BackfillStore: Send + Sync {
    /// The record of `connection`'s run over `range` (empty if none began).
    async fn load(
        &self,
        connection: &ConnectionId,
        range: &DateRange,
    ) -> Result<BackfillRun, Error>;
    /// Marks `unit` done with what it counted (idempotent: a unit already done adds nothing).
    async fn unit_done(
        &self,
        connection: &ConnectionId,
        range: &DateRange,
        unit: &str,
        counts: &Counts,
    ) -> Result<(), Error>;
}

/// A vendor's recording lists for one connection.
#[async_trait]
pub trait RecordingLister: Send + Sync {
    /// How long one request may reach.
    fn rule(&self) -> WindowRule;
    /// Every scope a window is listed for (Zoom: the account's users, every status, all pages).
    async fn scopes(&self) -> Result<Vec<Scope>, Error>;
    /// Every recording of `scope` in `window`, all pages.
    async fn list(&self, scope: &Scope, window: &Window) -> Result<Vec<Listed>, Error>;
}

/// Groups what a unit listed by recording: a stop/start meeting listed as several items (Webex segments)
/// is one recording, its files and bytes added up.
pub fn by_recording(listed: Vec<Listed>) -> Vec<Listed> {
    let mut out: BTreeMap<String, Listed> = BTreeMap::new();
    for l in listed {
        match out.get_mut(&l.key.partition_key()) {
            Some(seen) => {
                if !l.file_ids.is_subset(&seen.file_ids) {
                    seen.bytes += l.bytes;
                    seen.file_ids.extend(l.file_ids);
                }
            }
            None => {
                out.insert(l.key.partition_key(), l);
            }
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_are_parsed_with_clear_errors() {
        let today = d("2026-12-01");
        let r = DateRange::parse("2026-08-15", None, today).unwrap();
        assert_eq!((r.from, r.to), (d("2026-08-15"), today));
        assert!(matches!(
            DateRange::parse("2026-13-01", None, today),
            Err(RangeError::NotADate { field: "from", .. })
        ));
        assert!(matches!(
            DateRange::parse("2026-10-01", Some("2026-09-01"), today),
            Err(RangeError::Reversed { .. })
        ));
        let e = DateRange::parse("2026-10-01", Some("2027-01-01"), today).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--to 2027-01-01 is in the future (today is 2026-12-01, UTC)"
        );
        assert_eq!(
            DateRange::last_days(3, today),
            DateRange {
                from: d("2026-11-29"),
                to: today
            }
        );
    }

    #[test]
    fn windows_cover_the_range_once_and_never_exceed_the_vendors_limit() {
        let r = DateRange {
            from: d("2026-01-31"),
            to: d("2026-06-02"),
        };
        for rule in [WindowRule::CalendarMonth, WindowRule::Days(30)] {
            let ws = r.windows(rule);
            assert_eq!(ws.first().unwrap().from, r.from);
            assert_eq!(ws.last().unwrap().to, r.to);
            for pair in ws.windows(2) {
                assert_eq!(
                    pair[0].to.succ_opt().unwrap(),
                    pair[1].from,
                    "no gap, no overlap"
                );
            }
            assert!(ws.iter().all(|w| fits(w, rule)), "{rule:?}: {ws:?}");
        }
        let months = r.windows(WindowRule::CalendarMonth);
        assert_eq!(
            months[0],
            Window {
                from: d("2026-01-31"),
                to: d("2026-02-27")
            },
            "Jan 31 + one month is Feb 28: the window ends the day before"
        );
        assert_eq!(r.windows(WindowRule::Days(30))[0].days(), 30);
        assert!(!fits(
            &Window {
                from: d("2026-01-01"),
                to: d("2026-02-01")
            },
            WindowRule::CalendarMonth
        ));
        let one_day = DateRange {
            from: d("2026-03-01"),
            to: d("2026-03-01"),
        };
        assert_eq!(one_day.windows(WindowRule::CalendarMonth).len(), 1);
    }
}
