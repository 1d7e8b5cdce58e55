//! The Webex scenarios: a `webex_sim::WebexSim` per scenario (its own org, webhooks and statistics), a tenant
//! whose Webex connection points at it, and the org webhooks registered with `archiver-admin webex-webhooks
//! ensure` against the local stack, so that the simulator's own signed deliveries drive the pipeline.

use super::{ExpectedFile, MIB, World, check};
use archiver_admin::{Cli, Command, WebhookAction};
use archiver_tests::{TestTenant, apply_webex_tenant, cohost_email, unique};
use chrono::{Duration as Days, Utc};
use futures_util::future::join_all;
use shared::catalog::CatalogReader;
use shared::ids::{AccountId, InstanceId, Vendor};
use shared::model::{RecordingKey, RecordingState};
use shared::ports::SecretStore;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use webex_sim::{LinkKind, MeetingSpec, SimMeeting, WebexSim, deliver, sign};

type Run<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// One scenario's Webex: the simulator, the tenant, and the webhook secret the org webhooks carry.
pub(super) struct Webex {
    pub(super) sim: WebexSim,
    pub(super) tenant: TestTenant,
    secret: String,
}

impl Webex {
    pub(super) fn key(&self, m: &SimMeeting) -> RecordingKey {
        RecordingKey {
            vendor: Vendor::Webex,
            account: AccountId::parse(self.sim.org_id()).unwrap(),
            instance: InstanceId::parse(&m.instance_id).unwrap(),
        }
    }

    pub(super) fn connection(&self) -> &str {
        &self.tenant.connection
    }

    /// `GET /v1/recordings/{id}` requests the simulator answered for one recording.
    fn recording_gets(&self, recording_id: &str) -> usize {
        let prefix = format!("GET /v1/recordings/{recording_id}");
        self.sim
            .api_stats()
            .paths
            .iter()
            .filter(|p| {
                p.strip_prefix(&prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
            })
            .count()
    }
}

/// A host e-mail no other scenario uses (letters and digits before the `@`).
pub(super) fn host_email(dept: &str) -> String {
    format!("{}@{dept}.example.edu", unique("prof").replace('-', ""))
}

/// Percent-encoding of every byte but ASCII letters and digits (how the deletion plan writes `hostEmail`).
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The file id the catalog gives a recording's link.
fn file_id(recording_id: &str, kind: LinkKind) -> String {
    match kind {
        LinkKind::Recording => recording_id.to_owned(),
        LinkKind::Audio => format!("{recording_id}-audio"),
        LinkKind::Transcript => format!("{recording_id}-transcript"),
    }
}

/// Every CDN file of the meeting's recordings (not the `meetingTranscripts` transcript).
pub(super) fn media(m: &SimMeeting) -> Vec<ExpectedFile> {
    m.recordings
        .iter()
        .flat_map(|r| {
            r.files.iter().map(|f| ExpectedFile {
                id: file_id(&r.id, f.kind),
                size: f.size,
                sha256: f.sha256.clone(),
            })
        })
        .collect()
}

/// The CDN files of the meeting as (recording id, link kind).
fn cdn_files(m: &SimMeeting) -> Vec<(String, LinkKind)> {
    m.recordings
        .iter()
        .flat_map(|r| r.files.iter().map(|f| (r.id.clone(), f.kind)))
        .collect()
}

/// Starts a simulator, applies a tenant for it (the webhook secret left to `ensure` when `secret` is `None`),
/// and runs `archiver-admin webex-webhooks ensure` against the stack's `WebhookBaseUrl`. Checks the
/// simulator then has our two active org webhooks with the secret that is in Secrets Manager.
async fn setup(w: &World, host: &str, secret: Option<&str>) -> Result<Webex, String> {
    let plan = serde_json::json!({"mode": "delete_after", "days": 30, "action": "delete"});
    setup_with(w, host, secret, plan).await
}

/// [`setup`] with the connection's `delete_plan`.
pub(super) async fn setup_with(
    w: &World,
    host: &str,
    secret: Option<&str>,
    delete_plan: serde_json::Value,
) -> Result<Webex, String> {
    let sim = WebexSim::start().await.map_err(|e| e.to_string())?;
    let tenant = apply_webex_tenant(
        &w.conf,
        w.stack.physical("ConfigTable").unwrap(),
        &sim,
        host,
        secret,
        delete_plan,
    )
    .await
    .map_err(|e| format!("webex tenant: {e:#}"))?;
    let target = w.stack.webhook_url("webex", &tenant.connection);
    ensure(w, &tenant.connection).await?;
    let secret_ref = &tenant.config.connections[0].webhook_secret_ref;
    let stored =
        shared::aws::secrets::SecretsManager::new(aws_sdk_secretsmanager::Client::new(&w.conf))
            .secret(secret_ref)
            .await
            .map_err(|e| format!("webhook secret {secret_ref}: {e}"))?
            .expose()
            .to_owned();
    if let Some(given) = secret {
        check(
            stored == given,
            "ensure replaced the webhook secret the admin supplied",
        )?;
    }
    let hooks = sim.webhooks();
    check(
        hooks.len() == 2
            && hooks.iter().all(|h| {
                h.status == "active"
                    && h.target_url == target
                    && h.owned_by.as_deref() == Some("org")
                    && h.event == "created"
                    && h.secret.as_deref() == Some(stored.as_str())
            })
            && hooks
                .iter()
                .map(|h| h.resource.as_str())
                .collect::<BTreeSet<_>>()
                == BTreeSet::from(["meetingTranscripts", "recordings"]),
        format!(
            "webhooks after ensure: {:?}",
            hooks
                .iter()
                .map(|h| (&h.resource, &h.event, &h.status, &h.owned_by, &h.target_url))
                .collect::<Vec<_>>()
        ),
    )?;
    Ok(Webex {
        sim,
        tenant,
        secret: stored,
    })
}

/// `archiver-admin webex-webhooks ensure --connection <conn> --webhook-base-url <WebhookBaseUrl>`.
async fn ensure(w: &World, connection: &str) -> Result<(), String> {
    let target = w.stack.webhook_url("webex", connection);
    let base = target
        .strip_suffix(&format!("/webex/{connection}"))
        .ok_or(format!("unexpected webhook URL {target}"))?
        .to_owned();
    let code = archiver_admin::run(Cli {
        config_table: w.stack.physical("ConfigTable").unwrap().to_owned(),
        catalog_table: w.stack.physical("CatalogTable").unwrap().to_owned(),
        owner_queue_url: String::new(),
        media_bucket: String::new(),
        events_queue_url: String::new(),
        command: Command::WebexWebhooks {
            action: WebhookAction::Ensure {
                connection: connection.to_owned(),
                webhook_base_url: base,
            },
        },
    })
    .await
    .map_err(|e| format!("webex-webhooks ensure: {e:#}"))?;
    check(code == 0, format!("webex-webhooks ensure exited {code}"))
}

pub(super) fn all_ok(replies: &[(String, u16)], n: usize) -> Result<(), String> {
    check(
        replies.len() == n && replies.iter().all(|(_, s)| *s == 200),
        format!("expected {n} deliveries answered 200: {replies:?}"),
    )
}

pub(super) const LIMIT: Duration = Duration::from_secs(180);

/// A stop/start meeting (two recordings) becomes one entry with six files; the transcript that Webex
/// announces later joins it.
pub fn archive(w: &World) -> Run<'_> {
    Box::pin(async move {
        let host = host_email("bio");
        let x = setup(w, &host, None).await?;
        // Webex turns a webhook inactive after failed deliveries; ensure reactivates it and creates nothing.
        let before: Vec<String> = x.sim.webhooks().into_iter().map(|h| h.id).collect();
        x.sim.set_webhook_status(&before[0], "inactive");
        ensure(w, x.connection()).await?;
        let after = x.sim.webhooks();
        check(
            after.iter().map(|h| &h.id).eq(before.iter())
                && after.iter().all(|h| {
                    h.status == "active" && h.secret.as_deref() == Some(x.secret.as_str())
                }),
            format!("webhooks after a second ensure: {after:?}"),
        )?;
        let m = x.sim.add_meeting(
            MeetingSpec::realistic(
                "BIO 101 Lecture",
                &host,
                Utc::now() - Days::hours(3),
                3 * MIB,
            )
            .with_segments(2),
        );
        let key = x.key(&m);
        all_ok(&x.sim.publish_recordings(&m).await, 2)?;
        let want = media(&m);
        check(want.len() == 6, format!("{} media files", want.len()))?;
        let entry = w
            .wait_until(&key, RecordingState::Archived, want.len(), LIMIT)
            .await?;
        w.verify_stored(&key, &entry, &want).await?;
        check(
            w.entries_of(&x.tenant.tenant).await == 1,
            "one meeting, more than one catalog entry",
        )?;
        let files = w.catalog.list_files(&key).await.unwrap();
        let starts: BTreeSet<_> = files.iter().map(|f| f.segment_start).collect();
        check(starts.len() == 2, format!("segment starts {starts:?}"))?;
        let rec_ids: BTreeSet<String> = m.recordings.iter().map(|r| r.id.clone()).collect();
        check(
            entry.vendor_recording_ids == rec_ids,
            format!(
                "vendor_recording_ids {:?}, expected {rec_ids:?}",
                entry.vendor_recording_ids
            ),
        )?;
        for (rid, kind) in cdn_files(&m) {
            let s = x.sim.file_stats(&rid, kind);
            check(
                s.auth_leaks == 0,
                format!("{rid} {kind:?}: Authorization header reached the CDN"),
            )?;
            check(
                s.complete_bodies == 1,
                format!("{rid} {kind:?} downloaded {} times", s.complete_bodies),
            )?;
        }
        check(
            entry.owner.as_ref().map(|o| o.as_str()) == Some("host-user"),
            format!("owner {:?} by {:?}", entry.owner, entry.owner_rule),
        )?;
        let a = entry.attendees.clone().ok_or("no attendees recorded")?;
        check(
            a.host.as_ref().map(|e| e.as_str()) == Some(host.as_str())
                && a.co_hosts.len() == 2
                && a.participants.len() == 23
                && a.co_users.iter().map(|u| u.as_str()).collect::<Vec<_>>() == ["cohost-user"]
                // By default co-hosts co-publish: the directory's user, and the other as an e-mail.
                && a.co_owners.len() == 2
                && a.co_owners
                    .iter()
                    .all(|c| c.role == shared::config::CoRole::CoPublisher && c.from == "co_host")
                && a.co_owners
                    .iter()
                    .filter_map(|c| c.user.as_ref().map(|u| u.as_str()))
                    .eq(["cohost-user"]),
            format!(
                "attendees {a:?} (co-host {} is the directory's cohost-user)",
                cohost_email(&host)
            ),
        )?;
        let (e, d) = w.wait_deletion(&key).await?;
        check(
            d.status.as_str() == "scheduled"
                && d.due_at == e.archived_at.map(|t| t + Days::days(30))
                && d.vendor_calls.len() == 2
                && rec_ids
                    .iter()
                    .all(|id| d.vendor_calls.iter().any(|c| c.contains(id.as_str())))
                && d.vendor_calls.iter().all(|c| {
                    c.starts_with("DELETE ") && c.contains(&format!("hostEmail={}", enc(&host)))
                }),
            format!("deletion plan {d:?}"),
        )?;

        // The transcript, announced later through meetingTranscripts/created.
        let t = m
            .transcript
            .clone()
            .ok_or("the meeting has no transcript")?;
        all_ok(&x.sim.publish_transcript(&t).await, 1)?;
        let mut all = want;
        all.push(ExpectedFile {
            id: t.id.clone(),
            size: t.size,
            sha256: t.sha256.clone(),
        });
        let entry = w
            .wait_until(&key, RecordingState::Archived, all.len(), LIMIT)
            .await?;
        w.verify_stored(&key, &entry, &all).await?;
        let ts = x.sim.transcript_stats(&t.id);
        check(
            ts.complete_bodies == 1,
            format!("transcript downloaded {} times", ts.complete_bodies),
        )?;
        let total: u64 = all.iter().map(|f| f.size).sum();
        println!(
            "    archived {} files ({:.1} MiB) of 2 Webex recordings + the late transcript under {}",
            all.len(),
            total as f64 / MIB as f64,
            entry.s3_prefix
        );
        Ok(())
    })
}

/// The same topic a week apart is two meetings (the closed incumbent dedupes on topic and loses one).
pub fn same_topic_other_days(w: &World) -> Run<'_> {
    Box::pin(async move {
        let host = host_email("staff");
        let x = setup(w, &host, None).await?;
        let now = Utc::now();
        let topic = "Weekly Staff Meeting";
        let meetings = [
            x.sim.add_meeting(MeetingSpec::realistic(
                topic,
                &host,
                now - Days::days(8),
                512 * 1024,
            )),
            x.sim.add_meeting(MeetingSpec::realistic(
                topic,
                &host,
                now - Days::days(1),
                512 * 1024,
            )),
        ];
        for m in &meetings {
            all_ok(&x.sim.publish_recordings(m).await, 1)?;
        }
        let mut prefixes = BTreeSet::new();
        for m in &meetings {
            let key = x.key(m);
            let want = media(m);
            let entry = w
                .wait_until(&key, RecordingState::Archived, want.len(), LIMIT)
                .await?;
            w.verify_stored(&key, &entry, &want).await?;
            check(entry.topic == topic, format!("topic {:?}", entry.topic))?;
            prefixes.insert(entry.s3_prefix);
        }
        check(
            prefixes.len() == 2,
            format!("both meetings under one prefix: {prefixes:?}"),
        )?;
        let n = w.entries_of(&x.tenant.tenant).await;
        check(n == 2, format!("{n} catalog entries for two meetings"))
    })
}

/// The links Webex hands out can be expired, or refused by the CDN although in date: the downloader asks
/// again and still stores the right bytes.
pub fn expired_link(w: &World) -> Run<'_> {
    Box::pin(async move {
        let host = host_email("chem");
        let x = setup(w, &host, None).await?;
        let now = Utc::now();
        let control = x.sim.add_meeting(MeetingSpec::realistic(
            "CHEM 210 Lab",
            &host,
            now - Days::hours(3),
            MIB,
        ));
        let m = x.sim.add_meeting(MeetingSpec::realistic(
            "CHEM 210 Lab, section B",
            &host,
            now - Days::hours(2),
            MIB,
        ));
        let refused = x.sim.add_meeting(MeetingSpec::realistic(
            "CHEM 210 Lab, section C",
            &host,
            now - Days::hours(1),
            MIB,
        ));
        let rid = m.recordings[0].id.clone();
        // Enqueue reads the recording once (metadata; its links are never used) and takes the first set;
        // the second goes to the first download.
        x.sim.expire_next_links(&rid, 2);
        // In-date links the CDN refuses anyway (403 + "link expired" page): one fresh set, then the bytes.
        let refused_id = refused.recordings[0].id.clone();
        x.sim.refuse_next_downloads(&refused_id, 1);
        for meeting in [&control, &m, &refused] {
            all_ok(&x.sim.publish_recordings(meeting).await, 1)?;
        }
        for meeting in [&control, &m, &refused] {
            let key = x.key(meeting);
            let want = media(meeting);
            let entry = w
                .wait_until(&key, RecordingState::Archived, want.len(), LIMIT)
                .await?;
            w.verify_stored(&key, &entry, &want).await?;
        }
        let (gets, control_gets) = (
            x.recording_gets(&rid),
            x.recording_gets(&control.recordings[0].id),
        );
        check(
            gets > control_gets,
            format!(
                "the expired links were not fetched again: {gets} GETs of the recording, {control_gets} for the control"
            ),
        )?;
        let mut expired_hits = 0;
        for (r, kind) in cdn_files(&m) {
            let s = x.sim.file_stats(&r, kind);
            expired_hits += s.expired_link_hits;
            check(
                s.complete_bodies == 1
                    && s.html_responses == s.expired_link_hits
                    && s.auth_leaks == 0,
                format!("{kind:?}: {s:?}"),
            )?;
        }
        let refusals: u64 = cdn_files(&refused)
            .into_iter()
            .map(|(r, kind)| x.sim.file_stats(&r, kind).expired_link_hits)
            .sum();
        let refused_gets = x.recording_gets(&refused_id);
        check(
            refusals == 1 && refused_gets > control_gets,
            format!(
                "refused link: {refusals} CDN refusals, {refused_gets} GETs (control {control_gets})"
            ),
        )?;
        println!(
            "    {gets} link sets for the recording with expired links, {control_gets} for the control, \
             {refused_gets} after a CDN refusal; {expired_hits} CDN requests with an expired link; \
             {} link sets in all",
            x.sim.api_stats().link_sets_issued
        );
        Ok(())
    })
}

/// Forged, unsigned and tampered notifications are refused and reach nothing; the same notification ten
/// times at once, plus the simulator's own delivery, archives each file once.
pub fn rejections_and_duplicates(w: &World) -> Run<'_> {
    Box::pin(async move {
        let host = host_email("phys");
        let given = format!("whsec-{}", unique("webex"));
        let x = setup(w, &host, Some(&given)).await?;
        let org = x.sim.org_id();
        let now = Utc::now();
        let refused = x.sim.add_meeting(MeetingSpec::realistic(
            "PHYS 150 Review",
            &host,
            now - Days::hours(3),
            256 * 1024,
        ));
        let m = x.sim.add_meeting(MeetingSpec::realistic(
            "PHYS 150 Lecture",
            &host,
            now - Days::hours(2),
            MIB,
        ));
        let url = w.stack.webhook_url("webex", x.connection());
        let body = refused.recording_created_body(0, &org);
        let post = |url: String, secret: Option<String>, body: String| async move {
            deliver(&w.http, &url, secret.as_deref(), &body)
                .await
                .map_err(|e| e.to_string())
        };
        let forged = post(url.clone(), Some("not-the-secret".into()), body.clone()).await?;
        check(forged.0 == 401, format!("forged: {forged:?}"))?;
        let unsigned = post(url.clone(), None, body.clone()).await?;
        check(unsigned.0 == 401, format!("unsigned: {unsigned:?}"))?;
        // Signed, then changed on the way.
        let tampered = w
            .http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-spark-signature", sign(&x.secret, body.as_bytes()))
            .body(body.replace("PHYS 150 Review", "PHYS 150 Revue"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status()
            .as_u16();
        check(tampered == 401, format!("tampered: {tampered}"))?;
        let unknown = post(
            w.stack.webhook_url("webex", "no-such-connection"),
            Some(x.secret.clone()),
            body.clone(),
        )
        .await?;
        check(unknown.0 == 404, format!("unknown connection: {unknown:?}"))?;
        let refused_at = Instant::now();

        let good = m.recording_created_body(0, &org);
        let (replies, published) = tokio::join!(
            join_all((0..10).map(|_| post(url.clone(), Some(given.clone()), good.clone()))),
            x.sim.publish_recordings(&m)
        );
        let statuses: Vec<u16> = replies
            .into_iter()
            .map(|r| r.map(|(s, _)| s))
            .collect::<Result<_, _>>()?;
        check(
            statuses.iter().all(|s| *s == 200),
            format!("duplicates: {statuses:?}"),
        )?;
        all_ok(&published, 1)?;
        let key = x.key(&m);
        let want = media(&m);
        let entry = w
            .wait_until(&key, RecordingState::Archived, want.len(), LIMIT)
            .await?;
        w.verify_stored(&key, &entry, &want).await?;

        // Give the pipeline time to act on anything that slipped through, and the duplicates to settle.
        let settle = Duration::from_secs(5);
        if let Some(left) = settle.checked_sub(refused_at.elapsed()) {
            tokio::time::sleep(left).await;
        }
        check(
            w.entry_at(&x.key(&refused)).await.is_none(),
            "a refused notification reached the catalog",
        )?;
        let asked: Vec<String> = x
            .sim
            .api_stats()
            .paths
            .into_iter()
            .filter(|p| p.contains(&refused.instance_id) || p.contains(&refused.recordings[0].id))
            .collect();
        check(
            asked.is_empty(),
            format!("the API was asked about the refused meeting: {asked:?}"),
        )?;
        let n = w.entries_of(&x.tenant.tenant).await;
        check(n == 1, format!("{n} catalog entries for one meeting"))?;
        check(
            w.objects_under(&entry.s3_prefix).await.len() == want.len(),
            "an object was written twice",
        )?;
        for (r, kind) in cdn_files(&m) {
            let s = x.sim.file_stats(&r, kind);
            check(
                s.complete_bodies == 1,
                format!("{kind:?} downloaded {} times ({s:?})", s.complete_bodies),
            )?;
        }
        Ok(())
    })
}
