//! Why a recording goes where it goes: the connection's rules replayed over a recording (what an event would
//! do now) or read back from its catalog entry (what was decided). `archiver-admin explain` prints these
//! lines; nothing here writes.

use crate::catalog::{FileEntry, RecordingEntry};
use crate::config::Connection;
use crate::error::Error;
use crate::model::Recording;
use crate::ports::UserDirectory;

/// What the connection's rules decide for `rec` now: the filters, the owner (every rule tried), the S3
/// folder and the files. The directory is read, nothing is written.
pub async fn replay(
    rec: &Recording,
    conn: &Connection,
    users: &dyn UserDirectory,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, Error> {
    let mut out = vec![format!(
        "recording {} \"{}\" ({}, {}) on connection {}",
        rec.instance,
        rec.topic,
        format!("{:?}", rec.kind).to_lowercase(),
        rec.filed_at().format("%Y-%m-%d %H:%M UTC"),
        conn.id
    )];
    if !conn.enabled {
        out.push(format!(
            "connection: {} is disabled: its webhooks are refused and nothing is archived",
            conn.id
        ));
    }
    match conn.filters.skip(rec) {
        Some(reason) => {
            out.push(format!("filters: skipped: {reason}"));
            out.push("nothing is archived; the entry records the skip with this reason".into());
            return Ok(out);
        }
        None => out.push("filters: archived (no filter excludes it)".into()),
    }
    let entry = RecordingEntry::new(rec, conn.tenant.clone(), conn.id.clone(), now);
    let r = crate::routing::route(&entry, conn, users, &crate::owner::HostFacts::default()).await?;
    match (&r.owner, &r.skip) {
        (Some(o), _) => out.push(format!("owner: {o} (rule {})", r.rule)),
        (None, reason) => out.push(format!(
            "not archived (rule {}): {}",
            r.rule,
            reason.as_deref().unwrap_or_default()
        )),
    }
    out.extend(r.trace.iter().map(|l| format!("  {l}")));
    let Some(placed) = r.placement(&entry, conn, now) else {
        out.push("nothing is archived; the entry records the skip with this reason".into());
        return Ok(out);
    };
    out.push(categories_line(&placed.categories));
    if let Some(titled) = &placed.titled {
        out.push(format!("title: {}", titled.title));
        out.push(format!("description: {}", titled.description));
    }
    out.push(format!(
        "folder: {} (layout {})",
        placed.s3_prefix, conn.layout
    ));
    if let Some(until) = placed.quarantine_until {
        out.push(format!(
            "quarantine: held by {} until {until} (archiver-admin assign-owner, or our copy is removed then; \
             the vendor copy is kept meanwhile)",
            placed.owner
        ));
    }
    for f in &rec.files {
        let size = f
            .expected_size
            .map_or_else(|| "size unknown".to_owned(), |b| format!("{b} bytes"));
        let fate = match conn.filters.files.skip(&f.kind) {
            Some(why) => format!("not archived: {why}"),
            None => "archived".to_owned(),
        };
        out.push(format!(
            "file {}: {} .{} ({}), {fate}",
            f.id,
            kind_name(&f.kind),
            f.extension,
            size
        ));
    }
    out.extend(rec.notes.iter().map(|n| format!("left out: {n}")));
    Ok(out)
}

/// What was decided for an archived (or skipped) recording, as its entry records it.
pub fn recorded(entry: &RecordingEntry, files: &[FileEntry]) -> Vec<String> {
    let mut out = vec![format!(
        "recording {} \"{}\" ({}, {}) on connection {}: {}",
        entry.instance_id,
        entry.topic,
        format!("{:?}", entry.kind).to_lowercase(),
        entry.start_time.format("%Y-%m-%d %H:%M UTC"),
        entry.connection_id,
        entry.state.as_str()
    )];
    match &entry.skip_reason {
        Some(reason) if entry.skipped_at_owner() => out.push(format!(
            "not archived (rule {}): {reason}",
            entry.owner_rule.as_deref().unwrap_or_default()
        )),
        Some(reason) => out.push(format!("filters: skipped: {reason}")),
        None => {}
    }
    match (&entry.owner, &entry.owner_rule) {
        (Some(o), rule) => out.push(format!(
            "owner: {o} (rule {})",
            rule.as_deref().unwrap_or("unknown")
        )),
        (None, _) if entry.skip_reason.is_none() => out.push("owner: not decided yet".into()),
        (None, _) => {}
    }
    if entry.owner.is_some() && entry.owner_trace.is_empty() {
        out.push("  (decided before decisions were traced)".into());
    }
    out.extend(entry.owner_trace.iter().map(|l| format!("  {l}")));
    if let Some(until) = entry.quarantine_until {
        out.push(format!(
            "quarantine: until {until}, under {} (archiver-admin assign-owner gives it its owner; otherwise \
             our copy is then removed and the vendor copy kept)",
            entry.s3_prefix
        ));
    }
    if let Some(people) = &entry.attendees {
        if !people.co_owners.is_empty() {
            let co: Vec<String> = people
                .co_owners
                .iter()
                .map(|c| match &c.user {
                    Some(u) => format!("{u} ({})", c.role.as_str()),
                    None => format!("{} ({}, not in the directory)", c.email, c.role.as_str()),
                })
                .collect();
            out.push(format!("co-owners: {}", co.join(", ")));
        } else if !people.co_users.is_empty() {
            let co: Vec<&str> = people.co_users.iter().map(|u| u.as_str()).collect();
            out.push(format!("co-users: {}", co.join(", ")));
        }
        // The vendor's lists it refused (a missing scope, the plan): co-owners from them are missing.
        out.extend(people.unread.iter().map(|u| format!("attendees: {u}")));
    }
    if entry.skip_reason.is_none() {
        if entry.owner.is_some() {
            out.push(categories_line(&entry.categories));
            out.push(format!("title: {}", entry.titled().title));
        }
        out.push(format!("folder: {}", entry.s3_prefix));
    }
    // What normalisation left out, and the files left out on purpose (`filters.files`).
    out.extend(entry.ingest_notes.iter().map(|n| format!("left out: {n}")));
    for f in files {
        let why = f
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        out.push(format!(
            "file {}: {} .{}, {}{why}",
            f.file_id,
            kind_name(&f.kind),
            f.extension,
            f.state.as_str()
        ));
    }
    out
}

fn categories_line(c: &[crate::ids::Category]) -> String {
    if c.is_empty() {
        "categories: none".into()
    } else {
        let names: Vec<&str> = c.iter().map(|c| c.as_str()).collect();
        format!("categories: {}", names.join(", "))
    }
}

/// `video (gallery_view)`, `transcript`, `other (TIMELINE_V2)`.
fn kind_name(k: &crate::model::FileKind) -> String {
    match k {
        crate::model::FileKind::Video { layout } => format!("video ({layout})"),
        crate::model::FileKind::Other { vendor_type } => format!("other ({vendor_type})"),
        other => other.slug().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{MemoryConfig, connection, user};
    use crate::ids::{Email, Vendor};

    fn zoom_recording() -> Recording {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        crate::zoom::event::normalise(raw).unwrap()
    }

    #[tokio::test]
    async fn a_replay_names_the_filters_the_owner_rule_with_its_trace_the_folder_and_each_file() {
        let mut rec = zoom_recording();
        rec.host.vendor_user_id = None;
        rec.host.email = Some(Email::parse("prof@uni.edu").unwrap());
        let dir = MemoryConfig {
            connections: vec![],
            users: vec![user("prof", "prof@uni.edu")],
        };
        let conn = connection(Vendor::Zoom);
        let lines = replay(&rec, &conn, &dir, chrono::Utc::now()).await.unwrap();
        assert!(lines[1].starts_with("filters: archived"), "{lines:#?}");
        assert_eq!(lines[2], "owner: prof (rule host_email)");
        assert!(
            lines
                .iter()
                .any(|l| l == "  host_email: host e-mail prof@uni.edu → prof (chosen)")
        );
        let files = lines.iter().filter(|l| l.starts_with("file ")).count();
        assert_eq!(files, rec.files.len());

        let mut skipping = conn.clone();
        skipping.filters.exclude_topics = vec![regex_lite::escape(&rec.topic)];
        let lines = replay(&rec, &skipping, &dir, chrono::Utc::now())
            .await
            .unwrap();
        assert!(
            lines[1].starts_with("filters: skipped: topic matches"),
            "{lines:#?}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("owner:")),
            "a skip decides nothing else"
        );

        // A stranger under `unmatched: quarantine`: held by the default owner, filed in quarantine, until when.
        rec.host.email = Some(Email::parse("visitor@else.org").unwrap());
        let mut strict = conn.clone();
        strict.owner.unmatched = crate::config::Unmatched::Quarantine;
        let now: chrono::DateTime<chrono::Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
        let lines = replay(&rec, &strict, &dir, now).await.unwrap();
        assert_eq!(lines[2], "owner: media (rule quarantine)", "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("folder: tenants/uni/quarantine/")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("quarantine: held by media until 2026-03-03 09:00:00 UTC")),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_recorded_decision_is_read_back_as_stored() {
        let rec = zoom_recording();
        let conn = connection(Vendor::Zoom);
        let mut entry = RecordingEntry::new(&rec, conn.tenant.clone(), conn.id, chrono::Utc::now());
        assert!(recorded(&entry, &[]).contains(&"owner: not decided yet".to_owned()));
        entry.owner = Some(crate::ids::UserId::parse("media").unwrap());
        entry.owner_rule = Some("default_owner".into());
        entry.owner_trace =
            vec!["default_owner: media (chosen: no rule above found an active user)".into()];
        let lines = recorded(&entry, &[]);
        assert!(
            lines.contains(&"owner: media (rule default_owner)".to_owned()),
            "{lines:#?}"
        );
        let mut unowned = entry.clone();
        (unowned.owner, unowned.owner_rule) = (None, Some(crate::owner::UNMATCHED_SKIP.into()));
        unowned.skip_reason = Some("no owner: …".into());
        unowned.state = crate::model::RecordingState::Skipped;
        assert_eq!(
            recorded(&unowned, &[])[1],
            "not archived (rule unmatched_skip): no owner: …"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("  default_owner: media"))
        );
        // A list the vendor refused is said so.
        entry.attendees = Some(crate::catalog::Attendees {
            unread: vec!["participants: not read: Zoom refused it (HTTP 400)".into()],
            ..Default::default()
        });
        assert!(
            recorded(&entry, &[]).contains(
                &"attendees: participants: not read: Zoom refused it (HTTP 400)".to_owned()
            )
        );
    }
}
