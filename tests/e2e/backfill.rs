//! `archiver-admin backfill --remote` through the local stack: the CLI hands the run to the deployment and
//! shows its record; the backfill function (the real binary, fed by its queue) walks one unit per invocation
//! on this stack ([`short_invocations`](super::invocations::short_invocations) gives it a timeout no longer
//! than its margin) and continues itself; the pipeline archives what it queued.

use super::webex::LIMIT;
use super::{MIB, World, check, key_of};
use archiver_tests::{apply_tenant_with_zoom_api, unique};
use chrono::{Duration as Days, Utc};
use shared::backfill::{BackfillStore, DateRange, RunState, WindowRule};
use shared::model::RecordingState;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use zoom_sim::{RecordingSpec, UserSpec, UserStatus};

type Run<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// Two users (one deactivated) with three recordings between 80 and 40 days ago, listed from 90 to 30 days ago,, imported by the deployment:
/// the CLI exits 0 once the run's record says finished, the function was invoked once per unit at least,
/// every recording is archived once, and asking again hands nothing over.
pub fn remote(w: &World) -> Run<'_> {
    Box::pin(async move {
        let conf = &w.conf;
        let config_table = w.stack.physical("ConfigTable").unwrap();
        w.sim.set_s2s_account(&unique("acct-backfill"));
        let plan = serde_json::json!({"mode": "retain"});
        let tenant = apply_tenant_with_zoom_api(conf, config_table, &w.sim, None, plan)
            .await
            .map_err(|e| format!("tenant: {e:#}"))?;
        let account = w.sim.s2s_app().account_id;
        let ann = w.sim.add_user(UserSpec::realistic(&unique("ann")));
        let bob = w
            .sim
            .add_user(UserSpec::realistic(&unique("bob")).with_status(UserStatus::Inactive));
        let mut recs = Vec::new();
        for (user, days_ago) in [(&ann, 80), (&bob, 55), (&ann, 40)] {
            let mut spec = RecordingSpec::single_mp4(&unique("remote"), MIB)
                .hosted_by(user)
                .starting_at(Utc::now() - Days::days(days_ago));
            spec.account_id = account.clone();
            recs.push(w.sim.add_recording(spec));
        }
        let day = |ago: i64| {
            (Utc::now() - Days::days(ago))
                .format("%Y-%m-%d")
                .to_string()
        };
        let (from, to) = (day(90), day(30));
        let cli = |command| archiver_admin::Cli {
            config_table: config_table.to_owned(),
            catalog_table: w.stack.physical("CatalogTable").unwrap().to_owned(),
            owner_queue_url: String::new(),
            media_bucket: w.bucket.clone(),
            events_queue_url: String::new(),
            command,
        };
        let remote = || {
            archiver_admin::Command::Backfill(archiver_admin::backfill::Options {
                remote: true,
                backfill_queue_url: w.stack.physical("BackfillQueue").unwrap().to_owned(),
                poll_secs: 0.2,
                ..archiver_admin::backfill::Options::new(&tenant.connection, &from, Some(&to))
            })
        };
        let before = w.stack.function_stats("backfiller").unwrap_or_default();
        let code =
            tokio::time::timeout(Duration::from_secs(240), archiver_admin::run(cli(remote())))
                .await
                .map_err(|_| "the remote run did not finish in 4 minutes".to_owned())?
                .map_err(|e| format!("backfill --remote: {e:#}"))?;
        check(code == 0, format!("backfill --remote exited {code}"))?;

        let id = shared::ids::ConnectionId::parse(&tenant.connection).unwrap();
        let range = DateRange::parse(&from, Some(&to), Utc::now().date_naive())
            .map_err(|e| e.to_string())?;
        let run = w
            .catalog
            .load(&id, &range)
            .await
            .map_err(|e| e.to_string())?;
        let units = 2 * range.windows(WindowRule::CalendarMonth).len() as u64;
        check(
            run.state == RunState::Finished && run.progress() == (units, units),
            format!("2 users over every month of the range: {run:?}"),
        )?;
        check(run.counts.queued == 3, format!("{:?}", run.counts))?;
        let after = w.stack.function_stats("backfiller").unwrap_or_default();
        let invocations = after.invocations - before.invocations;
        check(
            invocations >= run.units,
            format!(
                "{invocations} invocations for {} units: one unit each",
                run.units
            ),
        )?;

        for rec in &recs {
            let e = w
                .wait_for(rec, RecordingState::Archived, rec.files().len(), LIMIT)
                .await?;
            check(
                e.start_time.date_naive() >= range.from,
                format!("{}: {}", key_of(rec), e.start_time),
            )?;
            for f in rec.files() {
                let n = w.sim.stats(&f.id).complete_bodies;
                check(n == 1, format!("file {} downloaded {n} times", f.id))?;
            }
        }

        // Asked again: the run is finished, nothing is handed over.
        let code = archiver_admin::run(cli(remote()))
            .await
            .map_err(|e| format!("second backfill --remote: {e:#}"))?;
        check(code == 0, format!("second run exited {code}"))?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let last = w.stack.function_stats("backfiller").unwrap_or_default();
        check(
            last.invocations == after.invocations,
            "a finished run was handed over again",
        )
    })
}
