//! Backfill and reconcile: which windows of a vendor's recording lists are walked, how a run remembers what it
//! finished, and what becomes of each recording found. Pure rules, the ports they need, and the walk over
//! those ports ([`walk`]); the listings are the vendor modules' (`zoom::backfill`, `webex::backfill`).
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
use chrono::{DateTime, Days, Months, NaiveDate, Utc};
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
    #[error("--{field} {value:?} is not a date (YYYY-MM-DD)")]
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
    /// The connection's filters excluded it (recorded with the reason): not queued again.
    Skipped,
}

/// Whether a listed recording must be queued, from its catalog entry (`None`: absent).
pub fn known(listed: &Listed, entry: Option<&RecordingEntry>) -> Known {
    match entry {
        None => Known::New,
        Some(e) if e.state == crate::model::RecordingState::Skipped => Known::Skipped,
        // Files left out on purpose (`filters.files`) are not missing.
        Some(e)
            if e.all_done()
                && listed
                    .file_ids
                    .iter()
                    .all(|f| e.done_ids.contains(f) || e.skipped_files.contains(f)) =>
        {
            Known::Archived
        }
        Some(_) => Known::Incomplete,
    }
}

/// What a run found and did, added up over its units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Units listed (a scope over a window).
    pub units: u64,
    /// Recordings the vendor listed.
    pub found: u64,
    /// Of those, already archived whole.
    pub archived: u64,
    /// Of those, skipped by the connection's filters before (with the reason on the entry).
    #[serde(default)]
    pub skipped: u64,
    /// Queued for enqueue (new, or with files still missing); on a dry run, what would be.
    pub queued: u64,
    /// Of the queued, those the catalog did not know at all: what no webhook brought.
    #[serde(default)]
    pub new: u64,
    /// Bytes the vendor announces for the queued recordings.
    pub bytes_queued: u64,
    /// Listed items that could not be read as recordings (see [`Page::unreadable`]).
    #[serde(default)]
    pub unreadable: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.units += other.units;
        self.found += other.found;
        self.archived += other.archived;
        self.skipped += other.skipped;
        self.queued += other.queued;
        self.new += other.new;
        self.bytes_queued += other.bytes_queued;
        self.unreadable += other.unreadable;
    }
}

/// A run's record: which units are done and what they counted. Kept per connection and range, so a rerun of
/// the same range continues where the last one stopped (and a finished one lists nothing again).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BackfillRun {
    pub done: BTreeSet<String>,
    pub counts: Counts,
    /// Units in all, as the last walk counted them (0: no walk began).
    #[serde(default)]
    pub units: u64,
    #[serde(default)]
    pub state: RunState,
    /// Why the run waits or stopped (no token or URL in it).
    #[serde(default)]
    pub reason: Option<String>,
}

impl BackfillRun {
    /// Units done of the units in all.
    pub fn progress(&self) -> (u64, u64) {
        (self.done.len() as u64, self.units)
    }
}

/// Where a run stands: what an admin watching it (`backfill --remote`) reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Asked for, no walk has begun yet (or nothing is recorded).
    #[default]
    Queued,
    /// A walk is listing it.
    Running,
    /// A walk failed in a way that heals (throttling, an outage); the deployment tries again by itself.
    Waiting,
    /// A walk failed in a way retrying cannot mend (the connection is gone or off, credentials refused):
    /// fix the cause and ask again; finished units stay recorded.
    Stopped,
    /// Every unit is done.
    Finished,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Waiting => "waiting",
            RunState::Stopped => "stopped",
            RunState::Finished => "finished",
        }
    }
    /// Nothing more happens to the run by itself.
    pub fn is_final(self) -> bool {
        matches!(self, RunState::Stopped | RunState::Finished)
    }
}

/// A change of a run's state; `units` when the walk counted them, `reason` for `Waiting` and `Stopped`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunUpdate {
    pub state: RunState,
    pub units: Option<u64>,
    pub reason: Option<String>,
}

impl RunUpdate {
    pub fn state(state: RunState, units: Option<u64>) -> Self {
        Self {
            state,
            units,
            reason: None,
        }
    }
    /// After a failed walk: `Waiting` when the error heals, else `Stopped`, with the error as the reason.
    pub fn failed(e: &Error) -> Self {
        let state = match e.class() {
            crate::error::Class::Retryable => RunState::Waiting,
            crate::error::Class::Permanent => RunState::Stopped,
        };
        Self {
            state,
            units: None,
            reason: Some(e.to_string()),
        }
    }
}

/// What to backfill, as the CLI hands it to the deployment (the backfill queue's message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillRequest {
    pub connection: ConnectionId,
    pub range: DateRange,
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
    /// Records where the run stands (its units in all when given; the reason, cleared when `None`).
    async fn update(
        &self,
        connection: &ConnectionId,
        range: &DateRange,
        update: &RunUpdate,
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
    async fn list(&self, scope: &Scope, window: &Window) -> Result<Page, Error>;
}

/// What one unit listed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub listed: Vec<Listed>,
    /// Items the vendor listed that could not be read as a recording, one line each (no tokens or URLs):
    /// counted and shown, never silently dropped.
    pub unreadable: Vec<String>,
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

/// What a walk reports as it goes (the CLI's progress bar, the reconcile sweep's log).
pub trait Observer: Send + Sync {
    /// The walk begins: `units` in all, `done` of them finished by an earlier run.
    fn begin(&self, units: u64, done: u64);
    /// A unit finished: what it counted, and the totals of this walk so far.
    fn unit(&self, unit: &str, counts: &Counts, totals: &Counts);
    /// Something an admin should read (an unreadable listing item).
    fn note(&self, line: &str);
}

/// An observer that says nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn begin(&self, _: u64, _: u64) {}
    fn unit(&self, _: &str, _: &Counts, _: &Counts) {}
    fn note(&self, _: &str) {}
}

/// What to walk, and how.
#[derive(Debug, Clone)]
pub struct Walk {
    pub connection: ConnectionId,
    pub range: DateRange,
    /// Count only: nothing is queued and nothing recorded (every unit is listed, done or not).
    pub dry_run: bool,
    /// Begin no unit after this (a function's deadline, less the time one unit may take); at least one unit
    /// is walked in every call, so that each call makes progress.
    pub until: Option<DateTime<Utc>>,
}

/// What a walk did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walked {
    /// This walk's counts.
    pub counts: Counts,
    /// Units in all, and of them done after this walk.
    pub units: u64,
    pub done: u64,
    /// Every unit is done (`false`: `until` came first; walk again to continue).
    pub finished: bool,
}

/// Walks every unit of the range that is not done yet: lists it to its last page, queues what the catalog
/// lacks (the same message a webhook would bring, so a recording already queued or archived is not created
/// twice), and records the unit as done in `store`. A failure stops the walk with everything before it
/// recorded: a rerun continues at the unit that failed. Without a store (the reconcile sweep, which looks again
/// each time) nothing is recorded. Past `walk.until` it stops between two units, with `finished` false.
pub async fn walk(
    lister: &dyn RecordingLister,
    catalog: &dyn crate::catalog::CatalogReader,
    store: Option<&dyn BackfillStore>,
    queue: &dyn crate::ports::Queue,
    walk: &Walk,
    observer: &dyn Observer,
) -> Result<Walked, Error> {
    let store = store.filter(|_| !walk.dry_run);
    let record = match store {
        Some(st) => st.load(&walk.connection, &walk.range).await?,
        None => BackfillRun::default(),
    };
    let scopes = lister.scopes().await?;
    let windows = walk.range.windows(lister.rule());
    let units: Vec<(Window, &Scope)> = windows
        .iter()
        .flat_map(|w| scopes.iter().map(move |s| (*w, s)))
        .collect();
    let done = units
        .iter()
        .filter(|(w, s)| record.done.contains(&unit_id(s, w)))
        .count();
    let total = units.len() as u64;
    if let Some(st) = store {
        let update = RunUpdate::state(RunState::Running, Some(total));
        st.update(&walk.connection, &walk.range, &update).await?;
    }
    observer.begin(total, done as u64);
    let mut out = Walked {
        units: total,
        done: done as u64,
        ..Walked::default()
    };
    for (window, scope) in units {
        let unit = unit_id(scope, &window);
        if record.done.contains(&unit) {
            continue;
        }
        if out.counts.units > 0 && walk.until.is_some_and(|t| Utc::now() >= t) {
            return Ok(out);
        }
        let page = lister.list(scope, &window).await?;
        let mut counts = Counts {
            units: 1,
            unreadable: page.unreadable.len() as u64,
            ..Counts::default()
        };
        for line in &page.unreadable {
            observer.note(line);
        }
        for l in by_recording(page.listed) {
            counts.found += 1;
            let k = known(&l, catalog.get_recording(&l.key).await?.as_ref());
            counts.new += u64::from(k == Known::New);
            match k {
                Known::Archived => counts.archived += 1,
                Known::Skipped => counts.skipped += 1,
                Known::New | Known::Incomplete => {
                    counts.queued += 1;
                    counts.bytes_queued += l.bytes;
                    if !walk.dry_run {
                        crate::ports::send_json(queue, &l.message).await?;
                    }
                }
            }
        }
        if let Some(st) = store {
            st.unit_done(&walk.connection, &walk.range, &unit, &counts)
                .await?;
        }
        out.counts.add(&counts);
        out.done += 1;
        observer.unit(&unit, &counts, &out.counts);
    }
    out.finished = true;
    if let Some(st) = store {
        let update = RunUpdate::state(RunState::Finished, Some(total));
        st.update(&walk.connection, &walk.range, &update).await?;
    }
    Ok(out)
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

    /// A vendor in memory: recordings (by scope and start date) and a log of what was listed; the `fail_at`-th
    /// list call fails (retryable), as a vendor outage would.
    struct Lister {
        scopes: Vec<Scope>,
        recordings: Vec<(String, NaiveDate, &'static str, u64)>,
        listed: std::sync::Mutex<Vec<String>>,
        fail_at: std::sync::Mutex<Option<usize>>,
    }

    fn lister() -> Lister {
        let scope = |id: &str| Scope {
            id: id.into(),
            label: id.into(),
        };
        Lister {
            scopes: vec![scope("ann"), scope("bob")],
            recordings: vec![
                ("ann".into(), d("2026-01-05"), "r1", 100),
                ("ann".into(), d("2026-02-20"), "r2", 200),
                ("bob".into(), d("2026-02-20"), "r3", 300),
                ("bob".into(), d("2026-03-31"), "r4", 400),
            ],
            listed: Default::default(),
            fail_at: Default::default(),
        }
    }

    #[test]
    fn a_file_left_out_on_purpose_is_not_missing() {
        let mut l = listed("r9", 10);
        l.file_ids.insert("r9-transcript".into());
        let key = l.key.clone();
        let mut e = crate::fakes::contract::sample_recording(
            &key,
            crate::model::RecordingState::Archived,
            &["r9-f"],
            false,
        );
        e.done_ids = ["r9-f".to_owned()].into();
        assert_eq!(
            known(&l, Some(&e)),
            Known::Incomplete,
            "the transcript is missing"
        );
        e.skipped_files.insert("r9-transcript".into());
        assert_eq!(
            known(&l, Some(&e)),
            Known::Archived,
            "switched off, so not missing"
        );
        assert_eq!(known(&l, None), Known::New);
    }

    fn listed(instance: &str, bytes: u64) -> Listed {
        let key = RecordingKey {
            vendor: crate::ids::Vendor::Zoom,
            account: crate::ids::AccountId::parse("acct").unwrap(),
            instance: crate::ids::InstanceId::parse(instance).unwrap(),
        };
        Listed {
            key,
            topic: instance.into(),
            file_ids: [format!("{instance}-f")].into(),
            bytes,
            message: IngestMessage {
                vendor: crate::ids::Vendor::Zoom,
                connection_id: ConnectionId::parse("zoom-main").unwrap(),
                event: "archiver.api_recording".into(),
                received_at_ms: 0,
                body: instance.into(),
            },
        }
    }

    #[async_trait]
    impl RecordingLister for Lister {
        fn rule(&self) -> WindowRule {
            WindowRule::CalendarMonth
        }
        async fn scopes(&self) -> Result<Vec<Scope>, Error> {
            Ok(self.scopes.clone())
        }
        async fn list(&self, scope: &Scope, window: &Window) -> Result<Page, Error> {
            let mut log = self.listed.lock().unwrap();
            log.push(unit_id(scope, window));
            if *self.fail_at.lock().unwrap() == Some(log.len()) {
                return Err(Error::transient("vendor outage"));
            }
            assert!(fits(window, self.rule()), "{window} is too long");
            Ok(Page {
                listed: self
                    .recordings
                    .iter()
                    .filter(|(s, at, _, _)| {
                        *s == scope.id && (window.from..=window.to).contains(at)
                    })
                    .map(|(_, _, id, bytes)| listed(id, *bytes))
                    .collect(),
                unreadable: vec![],
            })
        }
    }

    fn spring() -> Walk {
        Walk {
            connection: ConnectionId::parse("zoom-main").unwrap(),
            range: DateRange {
                from: d("2026-01-01"),
                to: d("2026-03-31"),
            },
            dry_run: false,
            until: None,
        }
    }

    #[tokio::test]
    async fn a_walk_queues_each_recording_once_and_a_rerun_lists_nothing_again() {
        let (v, catalog, store, queue) = (
            lister(),
            crate::fakes::MemoryCatalog::default(),
            crate::fakes::MemoryBackfill::default(),
            crate::fakes::MemoryQueue::default(),
        );
        let c = walk(&v, &catalog, Some(&store), &queue, &spring(), &Quiet)
            .await
            .unwrap()
            .counts;
        assert_eq!(
            (c.units, c.found, c.queued, c.bytes_queued),
            (6, 4, 4, 1000)
        );
        let mut bodies = queue.bodies();
        bodies.sort();
        let want: Vec<String> = ["r1", "r2", "r3", "r4"]
            .iter()
            .map(|b| format!("{:?}", b))
            .collect();
        let got: Vec<String> = bodies
            .iter()
            .map(|b| serde_json::from_str::<IngestMessage>(b).unwrap().body)
            .map(|b| format!("{b:?}"))
            .collect();
        assert_eq!(got, want);
        let again = walk(&v, &catalog, Some(&store), &queue, &spring(), &Quiet)
            .await
            .unwrap()
            .counts;
        assert_eq!(again, Counts::default(), "every unit was done");
        assert_eq!(v.listed.lock().unwrap().len(), 6, "nothing listed twice");
        assert_eq!(queue.bodies().len(), 4);
    }

    #[tokio::test]
    async fn an_interrupted_walk_continues_where_it_stopped() {
        let (v, catalog, store, queue) = (
            lister(),
            crate::fakes::MemoryCatalog::default(),
            crate::fakes::MemoryBackfill::default(),
            crate::fakes::MemoryQueue::default(),
        );
        *v.fail_at.lock().unwrap() = Some(4);
        let e = walk(&v, &catalog, Some(&store), &queue, &spring(), &Quiet)
            .await
            .unwrap_err();
        assert_eq!(e.class(), crate::error::Class::Retryable);
        *v.fail_at.lock().unwrap() = None;
        let c = walk(&v, &catalog, Some(&store), &queue, &spring(), &Quiet)
            .await
            .unwrap()
            .counts;
        assert_eq!(c.units, 3, "the failed unit and the two after it");
        let log = v.listed.lock().unwrap().clone();
        assert_eq!(
            log.len(),
            7,
            "three done, the failed one, then three: {log:?}"
        );
        assert_eq!(log[3], log[4], "the failed unit is listed again, first");
        let mut queued: Vec<String> = queue
            .bodies()
            .iter()
            .map(|b| serde_json::from_str::<IngestMessage>(b).unwrap().body)
            .collect();
        queued.sort();
        assert_eq!(queued, ["r1", "r2", "r3", "r4"]);
        let run = store
            .load(&spring().connection, &spring().range)
            .await
            .unwrap();
        assert_eq!((run.done.len(), run.counts.found), (6, 4));
    }

    #[tokio::test]
    async fn a_dry_run_counts_and_leaves_nothing_behind_and_archived_recordings_are_not_queued() {
        let (v, catalog, store, queue) = (
            lister(),
            crate::fakes::MemoryCatalog::default(),
            crate::fakes::MemoryBackfill::default(),
            crate::fakes::MemoryQueue::default(),
        );
        // r2 is archived whole already.
        let r2 = listed("r2", 0);
        let mut entry = crate::fakes::contract::sample_recording(
            &r2.key,
            crate::model::RecordingState::Archived,
            &["r2-f"],
            true,
        );
        (entry.vendor, entry.account_id) = (r2.key.vendor, r2.key.account.clone());
        catalog.put_recording(entry);
        let dry = Walk {
            dry_run: true,
            ..spring()
        };
        let c = walk(&v, &catalog, Some(&store), &queue, &dry, &Quiet)
            .await
            .unwrap()
            .counts;
        assert_eq!(
            (c.found, c.archived, c.queued, c.bytes_queued),
            (4, 1, 3, 800)
        );
        assert!(queue.bodies().is_empty(), "a dry run queues nothing");
        let run = store.load(&dry.connection, &dry.range).await.unwrap();
        assert!(run.done.is_empty(), "and records nothing");
        let c = walk(&v, &catalog, Some(&store), &queue, &spring(), &Quiet)
            .await
            .unwrap()
            .counts;
        assert_eq!((c.archived, c.queued), (1, 3));
    }

    #[tokio::test]
    async fn a_walk_past_its_deadline_stops_between_units_and_the_record_tells_where_the_run_stands()
     {
        let (v, catalog, store, queue) = (
            lister(),
            crate::fakes::MemoryCatalog::default(),
            crate::fakes::MemoryBackfill::default(),
            crate::fakes::MemoryQueue::default(),
        );
        let (conn, range) = (spring().connection, spring().range);
        assert_eq!(
            store.load(&conn, &range).await.unwrap().state,
            RunState::Queued
        );
        // A deadline passed already: each call walks one unit, then hands back.
        let hurried = Walk {
            until: Some(Utc::now() - chrono::Duration::seconds(1)),
            ..spring()
        };
        let mut calls = 0;
        loop {
            calls += 1;
            let w = walk(&v, &catalog, Some(&store), &queue, &hurried, &Quiet)
                .await
                .unwrap();
            assert_eq!((w.units, w.done), (6, calls));
            if w.finished {
                break;
            }
            assert_eq!(w.counts.units, 1);
            let run = store.load(&conn, &range).await.unwrap();
            assert_eq!((run.state, run.progress()), (RunState::Running, (calls, 6)));
        }
        assert_eq!(calls, 6);
        assert_eq!(v.listed.lock().unwrap().len(), 6, "no unit listed twice");
        assert_eq!(queue.bodies().len(), 4);
        let run = store.load(&conn, &range).await.unwrap();
        assert_eq!((run.state, run.counts.queued), (RunState::Finished, 4));
        assert!(run.state.is_final());

        // A failure is told apart by whether it heals.
        let e = Error::transient("Zoom answered 429");
        assert_eq!(RunUpdate::failed(&e).state, RunState::Waiting);
        let e = Error::permanent("no connection zoom-main");
        let u = RunUpdate::failed(&e);
        assert_eq!(u.state, RunState::Stopped);
        assert!(u.reason.unwrap().contains("no connection zoom-main"));
    }
}
