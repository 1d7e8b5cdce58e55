//! Owner resolver: decides who owns a recording, records it (with the meeting's people where the vendor
//! lists them), and sends one download job per file.

use async_trait::async_trait;
use shared::batch::{Handler, Invocation, Outcome, require};
use shared::catalog::{OwnerCatalog, Placement, QuarantineHold, RecordingEntry};
use shared::config::Connection;
use shared::error::Class;
use shared::messages::{DownloadMessage, ResolveOwnerMessage};
use shared::model::FileState;
use shared::owner::{AttendeeSource, HostFacts, HostSource};
use shared::ports::{ConfigStore, DirectoryWriter, Queue, UserDirectory, send_json};
use shared::routing::{Route, route};

pub struct OwnerResolver<C, K, Q, A, H, W> {
    /// Connections and the user directory.
    pub config: C,
    /// Where a host becomes a directory user under `owner.unmatched: create`.
    pub directory: W,
    pub catalog: K,
    pub downloads: Q,
    /// The meeting's people at the vendor (Webex participants; Zoom's co-hosts, alternative hosts,
    /// participants and panelists as far as the connection's policy uses them): `shared::vendors::Vendors`.
    pub attendees: A,
    /// What the vendor says of the host (Zoom's `cms_user_id`, where the policy asks for it).
    pub hosts: H,
}

#[async_trait]
impl<C, K, Q, A, H, W> Handler for OwnerResolver<C, K, Q, A, H, W>
where
    C: ConfigStore + UserDirectory,
    K: OwnerCatalog,
    Q: Queue,
    A: AttendeeSource,
    H: HostSource,
    W: DirectoryWriter,
{
    type Input = ResolveOwnerMessage;
    /// How many download jobs were sent.
    type Output = Result<usize, Outcome>;

    async fn handle(&self, msg: ResolveOwnerMessage, at: &Invocation) -> Result<usize, Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let rec = require(
            self.catalog.get_recording(&msg.recording).await?,
            format!("recording {}", msg.recording),
        )?;
        let mut rec = rec;
        let placement = match Placement::recorded(&rec) {
            // Idempotent: moves a recording left in `pending_owner` on with what was decided.
            Some(p) => p,
            None => {
                self.load_attendees(&conn, &mut rec).await?;
                let facts = self.host_facts(&conn, &rec).await?;
                let mut route = route(&rec, &conn, &self.config, &facts).await?;
                self.create_owner(&conn, &mut route).await?;
                let trace = route.trace.join("; ");
                let Some(placement) = route.placement(&rec, &conn, at.now) else {
                    // No owner under `unmatched: skip`, an opt-out, not opted in: recorded with the reason,
                    // nothing is downloaded.
                    let reason = route.skip.unwrap_or_default();
                    let recorded = self
                        .catalog
                        .skip_at_owner(&msg.recording, route.rule, &reason, &route.trace)
                        .await?;
                    tracing::info!(recording = %msg.recording, rule = route.rule, recorded, trace, "not archived: skipped");
                    return Ok(0);
                };
                tracing::info!(recording = %msg.recording, owner = %placement.owner, rule = route.rule, trace, "owner resolved");
                if let Some(people) = &route.attendees {
                    self.catalog.set_attendees(&msg.recording, people).await?;
                }
                if let Some(until) = placement.quarantine_until {
                    // Listed first: a crash before the owner is stored leaves a hold the sweeper waits on, never
                    // a quarantine it cannot find.
                    self.catalog
                        .hold_quarantine(&QuarantineHold {
                            recording: msg.recording.clone(),
                            connection_id: conn.id.clone(),
                            until,
                        })
                        .await?;
                    tracing::info!(recording = %msg.recording, %until, "no owner found: archived in quarantine");
                }
                placement
            }
        };
        self.catalog.set_owner(&msg.recording, &placement).await?;
        let mut sent = 0;
        for file_id in &msg.file_ids {
            let Some(file) = self.catalog.get_file(&msg.recording, file_id).await? else {
                continue;
            };
            if file.state != FileState::Planned {
                continue;
            }
            // Send first, then mark: a crash in between repeats the job, which the downloader's lease absorbs;
            // the other order could lose it.
            send_json(
                &self.downloads,
                &DownloadMessage {
                    connection_id: conn.id.clone(),
                    recording: msg.recording.clone(),
                    file_id: file_id.clone(),
                    continuation: 0,
                },
            )
            .await?;
            let s3_key = file.key_in_folder(&placement.s3_prefix);
            self.catalog
                .mark_queued(&msg.recording, file_id, &s3_key)
                .await?;
            sent += 1;
        }
        Ok(sent)
    }
}

impl<C, K, Q, A, H, W> OwnerResolver<C, K, Q, A, H, W>
where
    C: ConfigStore + UserDirectory,
    K: OwnerCatalog,
    Q: Queue,
    A: AttendeeSource,
    H: HostSource,
    W: DirectoryWriter,
{
    /// Adds the host the route makes a user (`owner.unmatched: create`). A user id another person holds
    /// already is not taken: the recording goes to the default owner, and the trace says why.
    async fn create_owner(&self, conn: &Connection, route: &mut Route) -> Result<(), Outcome> {
        let Some(user) = route.create.take() else {
            return Ok(());
        };
        match self.directory.create_user(&user).await? {
            None => {
                tracing::info!(user = %user.id, "host added to the directory (owner.unmatched: create)");
            }
            Some(existing) if existing.email == user.email => {}
            Some(_) => {
                route.trace.push(format!(
                    "{}: user id {} is another person's already: default_owner {} (chosen)",
                    shared::owner::CREATED,
                    user.id,
                    conn.default_owner
                ));
                route.owner = Some(conn.default_owner.clone());
                route.rule = "default_owner";
            }
        }
        Ok(())
    }

    /// What the vendor says of the host. A refusal that cannot heal (no scope) is logged, and the owner rules
    /// go on without it; one that can is retried.
    async fn host_facts(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<HostFacts, Outcome> {
        match self.hosts.host_facts(conn, rec).await {
            Ok(f) => Ok(f),
            Err(e) if e.class() == Class::Permanent => {
                tracing::warn!(recording = %rec.key(), error = %e, "the host's profile is unavailable; resolving without it");
                Ok(HostFacts::default())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fetches the meeting's people once. A vendor refusal (no scope, personal room) is logged and skipped: the
    /// owner rules still work without it. (Zoom's source records a refused list on the attendees itself and
    /// keeps the others.)
    async fn load_attendees(
        &self,
        conn: &Connection,
        rec: &mut RecordingEntry,
    ) -> Result<(), Outcome> {
        if rec.attendees.is_some() {
            return Ok(());
        }
        match self.attendees.attendees(conn, rec).await {
            Ok(found) => rec.attendees = found,
            Err(e) if e.class() == Class::Permanent => {
                tracing::warn!(recording = %rec.key(), error = %e, "meeting participants unavailable; resolving without them");
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::catalog::Attendees;
    use shared::error::Error;
    use shared::fakes::contract::{sample_file, sample_key, sample_recording};
    use shared::fakes::{
        FakeZoom, MemoryCatalog, MemoryConfig, MemoryDirectory, MemoryQueue, connection, user,
    };
    use shared::ids::{FileId, Vendor};
    use shared::model::RecordingState;
    use shared::zoom::hosts::ZoomHosts;
    use std::sync::Mutex;

    /// Attendees that answer as configured, counting the calls.
    #[derive(Default)]
    struct People {
        answer: Mutex<Option<Result<Option<Attendees>, Error>>>,
        calls: Mutex<usize>,
    }

    #[async_trait]
    impl AttendeeSource for People {
        async fn attendees(
            &self,
            _: &Connection,
            _: &RecordingEntry,
        ) -> Result<Option<Attendees>, Error> {
            *self.calls.lock().unwrap() += 1;
            self.answer.lock().unwrap().take().unwrap_or(Ok(None))
        }
    }

    type TestResolver = OwnerResolver<
        MemoryConfig,
        MemoryCatalog,
        MemoryQueue,
        People,
        ZoomHosts<FakeZoom>,
        MemoryDirectory,
    >;

    fn resolver() -> TestResolver {
        OwnerResolver {
            config: MemoryConfig {
                connections: vec![connection(Vendor::Zoom), connection(Vendor::Webex)],
                users: vec![user("prof", "prof@uni.edu")],
            },
            directory: MemoryDirectory {
                existing: vec![user("prof", "prof@uni.edu")],
                ..Default::default()
            },
            catalog: MemoryCatalog::default(),
            downloads: MemoryQueue::default(),
            attendees: People::default(),
            hosts: ZoomHosts(FakeZoom::default()),
        }
    }

    /// A recording waiting for its owner with files `a` (planned) and `b` (already queued).
    fn waiting<A>(
        r: &OwnerResolver<
            MemoryConfig,
            MemoryCatalog,
            MemoryQueue,
            A,
            ZoomHosts<FakeZoom>,
            MemoryDirectory,
        >,
        host: &str,
    ) -> ResolveOwnerMessage {
        let key = sample_key("owner-1");
        let mut rec = sample_recording(&key, RecordingState::PendingOwner, &["a", "b"], false);
        rec.host_id = None;
        rec.host_email = Some(shared::ids::Email::parse(host).unwrap());
        r.catalog.put_recording(rec);
        r.catalog
            .put_file(&key, sample_file("a", FileState::Planned, None));
        r.catalog
            .put_file(&key, sample_file("b", FileState::Queued, None));
        ResolveOwnerMessage {
            connection_id: connection(Vendor::Zoom).id,
            recording: key,
            file_ids: vec![FileId::parse("a").unwrap(), FileId::parse("b").unwrap()],
        }
    }

    #[tokio::test]
    async fn the_owner_is_set_and_only_planned_files_are_sent_once() {
        let r = resolver();
        let msg = waiting(&r, "prof@uni.edu");
        assert_eq!(r.handle(msg.clone(), &Invocation::now()).await.unwrap(), 1);
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.owner.unwrap().as_str(), "prof");
        assert_eq!(rec.owner_rule.as_deref(), Some("host_email"));
        assert_eq!(rec.state, RecordingState::Archiving);
        let job: DownloadMessage = serde_json::from_str(&r.downloads.bodies()[0]).unwrap();
        assert_eq!(job.file_id.as_str(), "a");
        // Zoom's people are asked for too (this source lists none).
        assert_eq!(*r.attendees.calls.lock().unwrap(), 1);
        // A redelivery sends nothing again: `a` is queued now.
        assert_eq!(r.handle(msg, &Invocation::now()).await.unwrap(), 0);
        assert_eq!(r.downloads.bodies().len(), 1);
    }

    #[tokio::test]
    async fn an_opted_out_host_is_skipped_with_the_reason_and_archived_with_categories_once_they_leave()
     {
        use shared::ids::{Category, GroupId};
        use shared::routing::{Categories, OPT_OUT_GROUP, Routing};
        let mut r = resolver();
        let students = GroupId::parse("students").unwrap();
        let lectures = Category::parse("Lectures").unwrap();
        r.config.users[0].groups = vec![students.clone()];
        r.config.connections[0].routing = Routing {
            opt_out: vec![students],
            categories: Categories {
                meetings: vec![lectures.clone()],
                ..Categories::default()
            },
            ..Routing::default()
        };
        let msg = waiting(&r, "prof@uni.edu");
        assert_eq!(r.handle(msg.clone(), &Invocation::now()).await.unwrap(), 0);
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.state, rec.owner.as_ref()),
            (RecordingState::Skipped, None)
        );
        assert_eq!(rec.owner_rule.as_deref(), Some(OPT_OUT_GROUP));
        assert_eq!(
            rec.skip_reason.as_deref(),
            Some("prof (host) is in opt-out group students; recorded as skipped")
        );
        assert!(rec.skipped_at_owner(), "admin retry takes it back");
        assert!(r.downloads.bodies().is_empty(), "nothing downloaded");
        // They leave the group; the admin's retry sends it back, and it is archived and filed.
        r.config.users[0].groups.clear();
        assert!(
            shared::catalog::IngestCatalog::retry_owner(
                &r.catalog,
                &msg.recording,
                Invocation::now().now
            )
            .await
            .unwrap()
        );
        assert_eq!(r.handle(msg.clone(), &Invocation::now()).await.unwrap(), 1);
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.state, RecordingState::Archiving);
        assert_eq!(rec.owner.unwrap().as_str(), "prof");
        assert_eq!(rec.categories, [lectures]);
        assert!(
            rec.owner_trace
                .contains(&"categories.meetings: Lectures".to_owned())
        );
    }

    #[tokio::test]
    async fn the_connections_layout_files_the_recording_under_its_owner_before_anything_is_downloaded()
     {
        let mut r = resolver();
        r.config.connections[0].layout =
            shared::keys::FolderLayout::parse("{owner}/{yyyy}/{topic}_{instance_hash}").unwrap();
        let msg = waiting(&r, "prof@uni.edu");
        let before = r.catalog.entry(&msg.recording).unwrap().s3_prefix;
        assert_eq!(r.handle(msg.clone(), &Invocation::now()).await.unwrap(), 1);
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_ne!(rec.s3_prefix, before);
        assert!(
            rec.s3_prefix.starts_with("tenants/uni/prof/"),
            "{}",
            rec.s3_prefix
        );
        let files = r.catalog.files(&msg.recording);
        let a = files.iter().find(|f| f.file_id.as_str() == "a").unwrap();
        assert!(
            a.s3_key.starts_with(&rec.s3_prefix),
            "{} under {}",
            a.s3_key,
            rec.s3_prefix
        );
        // The file queued before (`b`) was not this call's to move.
        let b = files.iter().find(|f| f.file_id.as_str() == "b").unwrap();
        assert_eq!(b.state, FileState::Queued);
    }

    #[tokio::test]
    async fn with_name_from_cms_user_id_zoom_is_asked_and_its_answer_names_the_owner() {
        let mut r = resolver();
        r.config.connections[0].owner.name_from = shared::config::NameFrom::CmsUserId;
        r.config.users.push(user("k-4711", "someone.else@uni.edu"));
        r.hosts
            .0
            .users
            .lock()
            .unwrap()
            .push(shared::zoom::api::ZoomUser {
                id: "ZHOST".into(),
                email: Some("prof@uni.edu".into()),
                cms_user_id: Some("k-4711".into()),
                ..Default::default()
            });
        let msg = waiting(&r, "prof@uni.edu");
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.owner.unwrap().as_str(), rec.owner_rule.as_deref()),
            ("k-4711", Some("user_id")),
            "{:#?}",
            rec.owner_trace
        );
        assert!(
            rec.owner_trace
                .contains(&"cms_user_id: Zoom maps the host to k-4711".to_owned())
        );
        // Zoom refusing the lookup for good (no scope) leaves the e-mail rules.
        let mut r = resolver();
        r.config.connections[0].owner.name_from = shared::config::NameFrom::CmsUserId;
        *r.hosts.0.fail.lock().unwrap() = Some((
            shared::error::Class::Permanent,
            shared::error::Kind::Status(403),
        ));
        let msg = waiting(&r, "prof@uni.edu");
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.owner.unwrap().as_str(), "prof");
        // A throttled lookup is retried.
        let mut r = resolver();
        r.config.connections[0].owner.name_from = shared::config::NameFrom::CmsUserId;
        *r.hosts.0.fail.lock().unwrap() = Some((
            shared::error::Class::Retryable,
            shared::error::Kind::Status(429),
        ));
        let msg = waiting(&r, "prof@uni.edu");
        assert!(r.handle(msg, &Invocation::now()).await.is_err());
    }

    #[tokio::test]
    async fn a_stranger_goes_to_the_default_owner() {
        let r = resolver();
        let msg = waiting(&r, "visitor@else.org");
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.owner.unwrap().as_str(), rec.owner_rule.as_deref()),
            ("media", Some("default_owner"))
        );
        assert!(
            rec.owner_trace
                .iter()
                .any(|l| l == "host_email: host e-mail visitor@else.org → no directory user"),
            "{:#?}",
            rec.owner_trace
        );
    }

    #[tokio::test]
    async fn a_stranger_under_unmatched_quarantine_is_archived_in_quarantine_and_listed_for_the_sweeper()
     {
        let mut r = resolver();
        r.config.connections[0].owner.unmatched = shared::config::Unmatched::Quarantine;
        r.config.connections[0].owner.quarantine_hours = Some(48);
        let msg = waiting(&r, "visitor@else.org");
        let at = Invocation::now();
        assert!(r.handle(msg.clone(), &at).await.unwrap() > 0, "downloaded");
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.owner.unwrap().as_str(), rec.owner_rule.as_deref()),
            ("media", Some("quarantine"))
        );
        let until = at.now + r.config.connections[0].owner.quarantine_for();
        assert_eq!(
            r.config.connections[0].owner.quarantine_for().num_hours(),
            48
        );
        assert_eq!(rec.quarantine_until, Some(until));
        assert!(
            rec.s3_prefix.starts_with("tenants/uni/quarantine/"),
            "{}",
            rec.s3_prefix
        );
        let holds = r.catalog.quarantine_holds();
        assert_eq!(
            holds
                .iter()
                .map(|h| (&h.recording, h.until))
                .collect::<Vec<_>>(),
            [(&msg.recording, until)]
        );
        // The file it queued goes under the quarantine folder.
        let a = r.catalog.files(&msg.recording).remove(0);
        assert_eq!(a.state, FileState::Queued);
        assert!(a.s3_key.starts_with(&rec.s3_prefix), "{}", a.s3_key);
    }

    #[tokio::test]
    async fn a_stranger_under_unmatched_create_becomes_a_user_unless_the_id_is_someone_elses() {
        let mut r = resolver();
        r.config.connections[0].owner.unmatched = shared::config::Unmatched::Create;
        r.config.connections[0].owner.postfix = shared::config::Postfix::Remove("@uni.edu".into());
        let msg = waiting(&r, "New.Lecturer@uni.edu");
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.owner.unwrap().as_str(), rec.owner_rule.as_deref()),
            ("new-lecturer", Some("created"))
        );
        let created = r.directory.created.lock().unwrap().clone();
        assert_eq!(
            created
                .iter()
                .map(|u| (u.id.as_str(), u.email.as_str()))
                .collect::<Vec<_>>(),
            [("new-lecturer", "new.lecturer@uni.edu")]
        );
        assert!(
            rec.owner_trace.last().unwrap().starts_with("created: "),
            "{:?}",
            rec.owner_trace
        );

        // `prof@other.org` makes the id `prof`, which is the directory's prof (another e-mail): not taken.
        let r = {
            let mut r = resolver();
            r.config.connections[0].owner.unmatched = shared::config::Unmatched::Create;
            r.config.connections[0].owner.postfix =
                shared::config::Postfix::Remove("@other.org".into());
            r.config.users.clear();
            r
        };
        let msg = waiting(&r, "prof@other.org");
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.owner.unwrap().as_str(), rec.owner_rule.as_deref()),
            ("media", Some("default_owner"))
        );
        assert!(
            rec.owner_trace
                .last()
                .unwrap()
                .contains("another person's already"),
            "{:?}",
            rec.owner_trace
        );
        assert!(r.directory.created.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_stranger_under_unmatched_skip_is_recorded_as_skipped_and_nothing_is_downloaded() {
        let mut r = resolver();
        r.config.connections[0].owner.unmatched = shared::config::Unmatched::Skip;
        let msg = waiting(&r, "visitor@else.org");
        assert_eq!(r.handle(msg.clone(), &Invocation::now()).await.unwrap(), 0);
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!((rec.state, rec.owner), (RecordingState::Skipped, None));
        assert!(rec.skip_reason.unwrap().contains("owner.unmatched: skip"));
        assert_eq!(
            rec.owner_rule.as_deref(),
            Some(shared::owner::UNMATCHED_SKIP)
        );
        assert!(r.downloads.bodies().is_empty());
        let a = r.catalog.files(&msg.recording)[0].clone();
        assert_eq!(
            a.state,
            FileState::Planned,
            "kept for a retry once the host is known"
        );
        // A redelivery of the same message changes nothing.
        assert_eq!(r.handle(msg, &Invocation::now()).await.unwrap(), 0);
        assert!(r.downloads.bodies().is_empty());
    }

    #[tokio::test]
    async fn the_connections_owner_policy_decides_and_the_decision_is_stored_with_its_trace() {
        let mut r = resolver();
        r.config.connections[0].owner.postfix = shared::config::Postfix::Remove("@uni.edu".into());
        // The directory knows prof by id only: another e-mail on file.
        r.config.users = vec![user("prof", "p.rofessor@uni.edu")];
        let msg = waiting(&r, "prof@uni.edu");
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let rec = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (rec.owner.unwrap().as_str(), rec.owner_rule.as_deref()),
            ("prof", Some("user_id"))
        );
        assert_eq!(
            rec.owner_trace.last().unwrap(),
            "user_id: host e-mail prof@uni.edu with @uni.edu removed: prof, as user id → prof (chosen)"
        );
    }

    #[tokio::test]
    async fn a_queue_outage_retries_and_leaves_the_file_planned() {
        let r = resolver();
        let msg = waiting(&r, "prof@uni.edu");
        *r.downloads.fail.lock().unwrap() = true;
        assert!(matches!(
            r.handle(msg.clone(), &Invocation::now()).await,
            Err(Outcome::Retry(_))
        ));
        // Send first, then mark: the file is still planned, so the retry sends it.
        let a = r.catalog.files(&msg.recording)[0].clone();
        assert_eq!(a.state, FileState::Planned);
        *r.downloads.fail.lock().unwrap() = false;
        assert_eq!(r.handle(msg, &Invocation::now()).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn webex_participants_are_read_once_and_a_refusal_does_not_block_the_owner() {
        let r = resolver();
        let mut msg = waiting(&r, "nobody@uni.edu");
        let mut rec = r.catalog.recordings()[0].clone();
        rec.vendor = Vendor::Webex;
        r.catalog.put_recording(rec.clone());
        msg.recording = rec.key();
        msg.connection_id = connection(Vendor::Webex).id;
        for f in r.catalog.files(&sample_key("owner-1")) {
            r.catalog.put_file(&rec.key(), f);
        }
        *r.attendees.answer.lock().unwrap() = Some(Ok(Some(Attendees {
            host: Some(shared::ids::Email::parse("prof@uni.edu").unwrap()),
            ..Default::default()
        })));
        r.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let got = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(
            (got.owner.unwrap().as_str(), got.owner_rule.as_deref()),
            ("prof", Some("participant_host"))
        );
        assert!(got.attendees.is_some());
        assert_eq!(*r.attendees.calls.lock().unwrap(), 1);

        // A permanent refusal (no scope) is logged; the owner rules still decide.
        let r = resolver();
        let mut msg2 = waiting(&r, "prof@uni.edu");
        let mut rec = r.catalog.recordings()[0].clone();
        rec.vendor = Vendor::Webex;
        r.catalog.put_recording(rec.clone());
        msg2.recording = rec.key();
        *r.attendees.answer.lock().unwrap() = Some(Err(Error::permanent("no scope")));
        r.handle(msg2.clone(), &Invocation::now()).await.unwrap();
        let got = r.catalog.entry(&msg2.recording).unwrap();
        assert_eq!(got.owner.unwrap().as_str(), "prof");
        // A transient one retries the message.
        let r = resolver();
        let mut msg3 = waiting(&r, "prof@uni.edu");
        let mut rec = r.catalog.recordings()[0].clone();
        rec.vendor = Vendor::Webex;
        r.catalog.put_recording(rec.clone());
        msg3.recording = rec.key();
        *r.attendees.answer.lock().unwrap() = Some(Err(Error::transient("429")));
        assert!(matches!(
            r.handle(msg3, &Invocation::now()).await,
            Err(Outcome::Retry(_))
        ));
    }

    #[tokio::test]
    async fn a_zoom_recordings_people_are_read_from_zoom_as_the_policy_asks_and_become_co_owners() {
        use shared::catalog::CoOwner;
        use shared::config::CoRole;
        use shared::fakes::{FakePeople, FakeWebex};
        use shared::ids::{Email, UserId};
        use shared::zoom::api::ZoomParticipant;
        let zoom = FakeZoom::default();
        let mut r = OwnerResolver {
            config: MemoryConfig {
                connections: vec![connection(Vendor::Zoom), connection(Vendor::Webex)],
                users: vec![user("prof", "prof@uni.edu"), user("ann", "ann@uni.edu")],
            },
            directory: MemoryDirectory::default(),
            catalog: MemoryCatalog::default(),
            downloads: MemoryQueue::default(),
            attendees: shared::vendors::Vendors {
                zoom: zoom.clone(),
                webex: FakeWebex::default(),
            },
            hosts: ZoomHosts(zoom.clone()),
        };
        r.config.connections[0].co_owners.alternative_hosts = CoRole::CoEditor;
        let msg = waiting(&r, "prof@uni.edu");
        let rec = r.catalog.entry(&msg.recording).unwrap();
        let row = |email: &str, role: &str| ZoomParticipant {
            email: Some(email.into()),
            role: Some(role.into()),
        };
        zoom.people.lock().unwrap().insert(
            rec.instance_id.to_string(),
            FakePeople {
                metrics: vec![
                    row("prof@uni.edu", "host"),
                    row("Ann@uni.edu", "cohost"),
                    row("student@uni.edu", "attendee"),
                ],
                alternative_hosts: "guest@else.org".into(),
                ..FakePeople::default()
            },
        );
        assert_eq!(r.handle(msg.clone(), &Invocation::now()).await.unwrap(), 1);
        let got = r.catalog.entry(&msg.recording).unwrap();
        assert_eq!(got.owner.unwrap().as_str(), "prof");
        let people = got.attendees.expect("Zoom's people are recorded");
        let ann = Email::parse("ann@uni.edu").unwrap();
        assert_eq!(people.co_hosts, std::slice::from_ref(&ann));
        assert_eq!(people.co_users, [UserId::parse("ann").unwrap()]);
        assert_eq!(
            people.co_owners,
            [
                CoOwner {
                    role: CoRole::CoPublisher,
                    from: "co_host".into(),
                    email: ann,
                    user: Some(UserId::parse("ann").unwrap()),
                },
                CoOwner {
                    role: CoRole::CoEditor,
                    from: "alternative_host".into(),
                    email: Email::parse("guest@else.org").unwrap(),
                    user: None,
                },
            ]
        );
        // Only what the policy uses was asked (no participant report), and a redelivery asks nothing again.
        let asked = zoom.people_calls.lock().unwrap().clone();
        assert_eq!(
            asked,
            [
                format!("metrics {}", rec.instance_id),
                format!("meeting {}", rec.meeting_id)
            ]
        );
        r.handle(msg, &Invocation::now()).await.unwrap();
        assert_eq!(zoom.people_calls.lock().unwrap().len(), 2);
    }
}
