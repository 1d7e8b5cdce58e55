//! `archiver-admin assign-owner`: gives a recording in quarantine (`owner.unmatched: quarantine`) its owner
//! before the quarantine runs out. The copy stays where it is (under the quarantine folder) and is kept from
//! then on, its objects' `owner` tag set to the new owner (their metadata, written at upload, keeps the
//! holder); the vendor copy's deletion, held while in quarantine, goes ahead as the connection plans. The
//! decision is appended to the entry's trace (`explain` and `show` print it).

use shared::catalog::{Assignment, CatalogReader, QuarantineCatalog};
use shared::config::{Connection, UserStatus};
use shared::error::Error;
use shared::ids::UserId;
use shared::model::{FileState, RecordingKey};
use shared::ports::{RetagObjects, UserDirectory};

/// Assigns `owner` to the recording `key` of `conn` at `now`, and tags its objects with them.
/// `Ok(Ok(lines))`: done, what was recorded (then how the objects were tagged); `Ok(Err(why))`: refused,
/// nothing written (not in quarantine, no such active user).
pub async fn assign_owner<K, D>(
    catalog: &K,
    users: &D,
    objects: &dyn RetagObjects,
    conn: &Connection,
    key: &RecordingKey,
    owner: &UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Result<Vec<String>, String>, Error>
where
    K: CatalogReader + QuarantineCatalog,
    D: UserDirectory,
{
    let Some(rec) = catalog.get_recording(key).await? else {
        return Ok(Err(format!("no recording {key} in the catalog")));
    };
    let Some(until) = rec.quarantine_until else {
        return Ok(Err(match rec.owner_rule.as_deref() {
            Some(shared::routing::QUARANTINE_EXPIRED) => format!(
                "{key} is no longer in quarantine: it expired and our copy was removed ({}); add {owner} as \
                     the host's user (users import, or apply), then archiver-admin retry --instance archives it \
                     again",
                rec.skip_reason.as_deref().unwrap_or("no reason recorded")
            ),
            _ => format!(
                "{key} is not in quarantine (owner {}, rule {})",
                rec.owner.as_ref().map_or("none", |o| o.as_str()),
                rec.owner_rule.as_deref().unwrap_or("none")
            ),
        }));
    };
    match users.by_id(&conn.tenant, owner).await? {
        None => {
            return Ok(Err(format!(
                "no user {owner} in tenant {}'s directory (users list shows them)",
                conn.tenant
            )));
        }
        Some(u) if u.status == UserStatus::Blocked => {
            return Ok(Err(format!("{owner} is blocked: choose an active user")));
        }
        Some(_) => {}
    }
    let holder = rec
        .owner
        .as_ref()
        .map_or("nobody", |o| o.as_str())
        .to_owned();
    let line = format!(
        "{}: {owner} by archiver-admin assign-owner at {now} (held by {holder} in quarantine until {until}); \
         the copy stays in {}",
        shared::quarantine::ASSIGNED,
        rec.s3_prefix
    );
    let assignment = Assignment {
        owner: owner.clone(),
        rule: shared::quarantine::ASSIGNED.into(),
        line: line.clone(),
        titled: Some(conn.titles.render(&rec, Some(owner), &rec.categories)),
    };
    if !catalog.end_quarantine(key, &assignment, now).await? {
        return Ok(Err(format!(
            "{key} left the quarantine meanwhile (expired or assigned); nothing written"
        )));
    }
    catalog.release_quarantine(key).await?;
    let mut out = vec![line];
    let (mut tagged, mut untagged) = (0, Vec::new());
    for f in catalog.list_files(key).await? {
        if f.state != FileState::Archived {
            continue;
        }
        match objects.set_tag(&f.s3_key, "owner", owner.as_str()).await {
            Ok(()) => tagged += 1,
            Err(e) => untagged.push(format!("{}: {e}", f.s3_key)),
        }
    }
    out.push(format!("owner tag set on {tagged} object(s)"));
    out.extend(
        untagged
            .into_iter()
            .map(|u| format!("owner tag NOT set (the catalog is the record): {u}")),
    );
    Ok(Ok(out))
}

/// The connection's recordings in quarantine, soonest end first (at most `limit`), one line each: when it
/// ends, the instance (for `assign-owner --instance`), its holder, topic and folder.
pub async fn list<K>(
    catalog: &K,
    conn: &Connection,
    limit: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, Error>
where
    K: CatalogReader + QuarantineCatalog,
{
    // Every hold ends before this.
    let far = now + chrono::Duration::days(3650);
    let mut out = Vec::new();
    for hold in catalog.quarantine_due(&conn.id, far, limit).await? {
        let Some(rec) = catalog.get_recording(&hold.recording).await? else {
            continue;
        };
        let left = hold.until - now;
        let when = if left <= chrono::Duration::zero() {
            "ended: the next sweep expires it".to_owned()
        } else {
            format!(
                "{} h {} min left",
                left.num_hours(),
                left.num_minutes() % 60
            )
        };
        out.push(format!(
            "{}\t{}\t{}\theld by {}\t\"{}\"\t{}",
            hold.until.to_rfc3339(),
            when,
            rec.instance_id,
            rec.owner.as_ref().map_or("nobody", |o| o.as_str()),
            rec.topic,
            rec.s3_prefix
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::catalog::{OwnerCatalog, QuarantineHold};
    use shared::fakes::contract::{sample_key, sample_recording};
    use shared::fakes::{MemoryCatalog, MemoryConfig, connection, user};
    use shared::ids::Vendor;
    use shared::model::RecordingState;
    use std::sync::Mutex;

    /// Tags set, by key.
    #[derive(Default)]
    struct Tags(Mutex<Vec<(String, String, String)>>);

    #[async_trait::async_trait]
    impl RetagObjects for Tags {
        async fn set_tag(&self, key: &str, name: &str, value: &str) -> Result<(), Error> {
            self.0
                .lock()
                .unwrap()
                .push((key.into(), name.into(), value.into()));
            Ok(())
        }
    }

    async fn quarantined(catalog: &MemoryCatalog) -> RecordingKey {
        let key = sample_key("assign-1");
        let mut rec = sample_recording(&key, RecordingState::Archived, &["a"], true);
        let mut a = shared::fakes::contract::sample_file("a", FileState::Archived, None);
        a.s3_key = "tenants/uni/quarantine/zoom/a.mp4".into();
        catalog.put_file(&key, a);
        rec.owner = Some(UserId::parse("media").unwrap());
        rec.owner_rule = Some(shared::owner::QUARANTINE.into());
        rec.quarantine_until = Some(chrono::Utc::now() + chrono::Duration::hours(3));
        catalog.put_recording(rec.clone());
        catalog
            .hold_quarantine(&QuarantineHold {
                recording: key.clone(),
                connection_id: connection(Vendor::Zoom).id,
                until: rec.quarantine_until.unwrap(),
            })
            .await
            .unwrap();
        key
    }

    #[tokio::test]
    async fn an_owner_is_assigned_once_to_a_recording_in_quarantine_and_bad_asks_write_nothing() {
        let catalog = MemoryCatalog::default();
        let key = quarantined(&catalog).await;
        let mut blocked = user("gone", "gone@uni.edu");
        blocked.status = UserStatus::Blocked;
        let users = MemoryConfig {
            connections: vec![],
            users: vec![user("prof", "prof@uni.edu"), blocked],
        };
        let conn = connection(Vendor::Zoom);
        let now = chrono::Utc::now();
        let id = |s: &str| UserId::parse(s).unwrap();
        let tags = Tags::default();
        for (who, why) in [("nobody", "no user nobody"), ("gone", "blocked")] {
            let refused = assign_owner(&catalog, &users, &tags, &conn, &key, &id(who), now)
                .await
                .unwrap()
                .unwrap_err();
            assert!(refused.contains(why), "{refused}");
        }
        assert_eq!(catalog.quarantine_holds().len(), 1, "nothing written");

        let lines = assign_owner(&catalog, &users, &tags, &conn, &key, &id("prof"), now)
            .await
            .unwrap()
            .unwrap();
        let line = &lines[0];
        assert!(line.starts_with("assigned: prof"), "{line}");
        assert_eq!(lines[1], "owner tag set on 1 object(s)");
        assert_eq!(
            *tags.0.lock().unwrap(),
            [(
                "tenants/uni/quarantine/zoom/a.mp4".to_owned(),
                "owner".to_owned(),
                "prof".to_owned()
            )]
        );
        let rec = catalog.entry(&key).unwrap();
        assert_eq!(
            (
                rec.owner.unwrap().as_str(),
                rec.owner_rule.as_deref(),
                rec.quarantine_until
            ),
            ("prof", Some("assigned"), None)
        );
        assert_eq!(rec.owner_trace.last(), Some(line));
        assert!(rec.titled.is_some(), "titles rendered with the new owner");
        assert!(
            catalog.quarantine_holds().is_empty(),
            "the sweeper has nothing left to expire"
        );
        let again = assign_owner(&catalog, &users, &tags, &conn, &key, &id("prof"), now)
            .await
            .unwrap()
            .unwrap_err();
        assert!(again.contains("not in quarantine"), "{again}");
    }

    #[tokio::test]
    async fn the_quarantine_is_listed_with_what_is_left_of_it() {
        let catalog = MemoryCatalog::default();
        let key = quarantined(&catalog).await;
        let lines = list(&catalog, &connection(Vendor::Zoom), 10, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains(key.instance.as_str()) && lines[0].contains("held by media"),
            "{lines:?}"
        );
        assert!(lines[0].contains(" h "), "{lines:?}");
    }

    #[tokio::test]
    async fn an_expired_quarantine_says_how_to_archive_it_again() {
        let catalog = MemoryCatalog::default();
        let key = quarantined(&catalog).await;
        let until = catalog.entry(&key).unwrap().quarantine_until.unwrap();
        assert!(
            catalog
                .expire_quarantine(&key, until, "quarantine expired", chrono::Utc::now())
                .await
                .unwrap()
        );
        let users = MemoryConfig {
            connections: vec![],
            users: vec![user("prof", "prof@uni.edu")],
        };
        let refused = assign_owner(
            &catalog,
            &users,
            &Tags::default(),
            &connection(Vendor::Zoom),
            &key,
            &UserId::parse("prof").unwrap(),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .unwrap_err();
        assert!(refused.contains("retry --instance"), "{refused}");
    }
}
