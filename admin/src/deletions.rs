//! `archiver-admin deletions` and `audit`: what the deletion sweep would delete now and why, what waits and
//! until when, what is blocked and why (the dry run runs the sweep's own checks, [`Deleter::preview`], and
//! writes nothing); `--execute` runs one sweep now through the same code the scheduled function runs.

use deleter::handler::{Deleter, Preview};
use shared::batch::Invocation;
use shared::catalog::{CatalogReader, DeleterCatalog, DeletionStatus};
use shared::config::{Connection, DeletePlan, DeleteScope};
use shared::deletion::{AuditRecord, Settlement};
use shared::error::Error;
use shared::model::RecordingState;
use shared::ports::{ConnectionList, Queue, StoredObjects, VendorCopies};

/// A pending deletion that is not due yet (or is held by a sweep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub recording: String,
    pub topic: String,
    pub status: DeletionStatus,
    pub next: Option<chrono::DateTime<chrono::Utc>>,
    pub reason: Option<String>,
}

/// What `deletions` reports for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionDeletions {
    pub connection: Connection,
    /// Due now, with what the sweep would do.
    pub due: Vec<Preview>,
    /// Pending, not due yet (empty with `--due`).
    pub waiting: Vec<Waiting>,
    /// Refused or failed: nothing happens until an admin looks (empty with `--due`).
    pub blocked: Vec<Waiting>,
}

/// The plan in words.
pub fn describe_plan(plan: &DeletePlan) -> String {
    match plan {
        DeletePlan::Retain => "retain (vendor copies are kept)".into(),
        DeletePlan::DeleteAfter {
            days,
            hours,
            action,
            scope,
            late_file_hours,
        } => format!(
            "{} {days} d {hours} h after archiving, {}, waiting {late_file_hours} h for late files",
            match action {
                shared::config::DeleteAction::Trash => "trash",
                shared::config::DeleteAction::Delete => "delete (permanently)",
            },
            match scope {
                DeleteScope::Recording => "the whole recording once every file is archived",
                DeleteScope::File => "each archived file",
            }
        ),
    }
}

/// Looks at one connection's deletions.
pub async fn look<C, K, S, V, Q>(
    deleter: &Deleter<C, K, S, V, Q>,
    conn: &Connection,
    at: &Invocation,
    due_only: bool,
    limit: i32,
) -> Result<ConnectionDeletions, Error>
where
    C: ConnectionList,
    K: DeleterCatalog + CatalogReader,
    S: StoredObjects,
    V: VendorCopies,
    Q: Queue,
{
    let due = deleter.preview(conn, at).await?;
    let (mut waiting, mut blocked) = (vec![], vec![]);
    if !due_only {
        let far = at.now + chrono::Duration::days(365 * 100);
        for rec in deleter.catalog.due(&conn.id, far, limit).await? {
            let Some(d) = rec.deletion.clone() else {
                continue;
            };
            if !shared::deletion::is_due(&d, at.now) {
                waiting.push(Waiting {
                    recording: rec.key().to_string(),
                    topic: rec.topic.clone(),
                    status: d.status,
                    next: d.next_look(),
                    reason: d.reason.clone(),
                });
            }
        }
        let archived = deleter
            .catalog
            .list_by_state(&conn.tenant, RecordingState::Archived, limit)
            .await?;
        for rec in archived.into_iter().filter(|r| r.connection_id == conn.id) {
            if let Some(d) = &rec.deletion
                && matches!(d.status, DeletionStatus::Refused | DeletionStatus::Failed)
            {
                blocked.push(Waiting {
                    recording: rec.key().to_string(),
                    topic: rec.topic.clone(),
                    status: d.status,
                    next: None,
                    reason: d.reason.clone(),
                });
            }
        }
    }
    Ok(ConnectionDeletions {
        connection: conn.clone(),
        due,
        waiting,
        blocked,
    })
}

/// What the sweep would do, in words.
pub fn would(s: &Settlement) -> String {
    match s {
        Settlement::Deleted => "would delete".into(),
        Settlement::AlreadyGone => "already gone at the vendor (done without a call)".into(),
        Settlement::Refused { refusal } => format!("refused: {refusal}"),
        Settlement::Retry { reason, .. } => format!("would retry later: {reason}"),
        Settlement::CredentialsRefused { reason } => {
            format!("paused, credentials refused: {reason}")
        }
        Settlement::Failed { reason } => format!("blocked: {reason}"),
        Settlement::NowRetained => "kept: the plan is now retain".into(),
    }
}

/// The report, as printed.
pub fn lines(c: &ConnectionDeletions) -> Vec<String> {
    let conn = &c.connection;
    let mut out = vec![format!(
        "connection {} ({}, {}): {}",
        conn.id,
        conn.vendor,
        if conn.enabled { "enabled" } else { "disabled" },
        describe_plan(&conn.delete_plan)
    )];
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_owned(), |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
    };
    let paused = c.waiting.iter().any(|w| w.status == DeletionStatus::Paused)
        || c.due.iter().any(|p| p.status == DeletionStatus::Paused);
    if paused {
        out.push(
            "  the vendor refused our credentials at the last attempt: fix them; the paused deletions \
             resume by themselves (tried again hourly)"
                .into(),
        );
    }
    out.push(format!("  due now: {}", c.due.len()));
    for p in &c.due {
        out.push(format!(
            "    {}\t{}\t\"{}\"\tdue {}",
            would(&p.would),
            p.recording,
            p.topic,
            when(p.due_at)
        ));
        for call in &p.calls {
            out.push(format!("      {call}"));
        }
    }
    if !c.waiting.is_empty() {
        out.push(format!("  waiting: {}", c.waiting.len()));
        for w in &c.waiting {
            out.push(format!(
                "    {}\t{}\t{}\t\"{}\"{}",
                when(w.next),
                w.status.as_str(),
                w.recording,
                w.topic,
                w.reason
                    .as_ref()
                    .map(|r| format!("\t{r}"))
                    .unwrap_or_default()
            ));
        }
    }
    if !c.blocked.is_empty() {
        out.push(format!(
            "  blocked (an admin must look): {}",
            c.blocked.len()
        ));
        for b in &c.blocked {
            out.push(format!(
                "    {}\t{}\t\"{}\"\t{}",
                b.status.as_str(),
                b.recording,
                b.topic,
                b.reason.as_deref().unwrap_or("-")
            ));
        }
    }
    out
}

/// One audit record, as `audit` prints it.
pub fn audit_lines(r: &AuditRecord) -> Vec<String> {
    let mut out = vec![format!(
        "{}  attempt {}  by {}  → {}",
        r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        r.attempt,
        r.by,
        r.status.as_str()
    )];
    out.push(format!("  plan: {}", describe_plan(&r.plan)));
    for e in &r.evidence {
        let stored = e.stored.as_ref();
        out.push(format!(
            "  file {}: catalog {} B sha256 {}; S3 {} B sha256 {}; vendor {} B",
            e.file_id,
            e.catalog_bytes.map_or("-".into(), |b| b.to_string()),
            e.catalog_sha256
                .as_deref()
                .map_or("-", |s| &s[..s.len().min(12)]),
            stored.map_or("missing".into(), |s| s.bytes.to_string()),
            stored
                .and_then(|s| s.sha256.as_deref())
                .map_or("-", |s| &s[..s.len().min(12)]),
            e.vendor_bytes.map_or("-".into(), |b| b.to_string()),
        ));
    }
    match &r.vendor {
        Some(shared::deletion::VendorListing::Listed(files)) => {
            out.push(format!("  vendor listed {} file(s)", files.len()))
        }
        Some(shared::deletion::VendorListing::Gone) => {
            out.push("  vendor: gone (nothing listed)".into())
        }
        None => out.push("  vendor: not read".into()),
    }
    for c in &r.calls {
        out.push(format!(
            "  call {} → {}{}",
            c.request,
            c.status.map_or("no answer".into(), |s| format!("HTTP {s}")),
            c.detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
    }
    out.push(format!(
        "  outcome: {}",
        serde_json::to_string(&r.settlement).unwrap_or_default()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::deletion::{CallResult, FileEvidence, Refusal, StoredEvidence, VendorListing};
    use shared::ids::Vendor;

    #[test]
    fn the_report_says_what_would_happen_what_waits_and_what_is_blocked() {
        let mut conn = shared::fakes::connection(Vendor::Zoom);
        conn.delete_plan = DeletePlan::after_days(30, shared::config::DeleteAction::Trash);
        let refused = Settlement::Refused {
            refusal: Refusal::SizeMismatch {
                file_id: "f1".into(),
                catalog: 10,
                stored: 9,
            },
        };
        let c = ConnectionDeletions {
            connection: conn,
            due: vec![
                Preview {
                    recording: "zoom:a:u1".into(),
                    topic: "Lecture".into(),
                    status: DeletionStatus::Scheduled,
                    due_at: None,
                    would: Settlement::Deleted,
                    files: vec!["f0".into()],
                    calls: vec![
                        "DELETE https://api.zoom.us/v2/meetings/u1/recordings?action=trash".into(),
                    ],
                },
                Preview {
                    recording: "zoom:a:u2".into(),
                    topic: "Seminar".into(),
                    status: DeletionStatus::Scheduled,
                    due_at: None,
                    would: refused,
                    files: vec![],
                    calls: vec![],
                },
            ],
            waiting: vec![Waiting {
                recording: "zoom:a:u3".into(),
                topic: "Later".into(),
                status: DeletionStatus::Paused,
                next: Some("2027-01-01T00:00:00Z".parse().unwrap()),
                reason: Some("HTTP 401".into()),
            }],
            blocked: vec![],
        };
        let text = lines(&c).join("\n");
        assert!(text.contains("trash 30 d 0 h after archiving"), "{text}");
        assert!(text.contains("would delete\tzoom:a:u1"), "{text}");
        assert!(text.contains("action=trash"), "{text}");
        assert!(
            text.contains("refused: the object of file f1 has 9 bytes, the catalog 10"),
            "{text}"
        );
        assert!(
            text.contains("2027-01-01T00:00:00Z\tpaused\tzoom:a:u3"),
            "{text}"
        );
        assert!(text.contains("refused our credentials"), "{text}");
    }

    #[test]
    fn an_audit_record_prints_every_value_compared_and_each_answer() {
        let r = AuditRecord {
            recording: shared::fakes::contract::sample_key("u1"),
            tenant: shared::ids::TenantId::parse("uni").unwrap(),
            connection_id: shared::ids::ConnectionId::parse("zoom-main").unwrap(),
            at: "2026-12-01T10:00:00Z".parse().unwrap(),
            attempt: 2,
            by: "deletion sweep".into(),
            plan: DeletePlan::after_days(1, shared::config::DeleteAction::Delete),
            evidence: vec![FileEvidence {
                file_id: "f1".into(),
                s3_key: "k".into(),
                catalog_bytes: Some(10),
                catalog_sha256: Some("ab".repeat(32)),
                stored: Some(StoredEvidence {
                    bytes: 10,
                    sha256: Some("ab".repeat(32)),
                }),
                vendor_bytes: Some(10),
            }],
            vendor: Some(VendorListing::Listed(vec![])),
            calls: vec![CallResult::of(
                "DELETE /meetings/u1/recordings?action=delete",
                Ok(204),
            )],
            settlement: Settlement::Deleted,
            status: DeletionStatus::Deleted,
        };
        let text = audit_lines(&r).join("\n");
        assert!(
            text.contains("attempt 2  by deletion sweep  → deleted"),
            "{text}"
        );
        assert!(text.contains("delete (permanently) 1 d"), "{text}");
        assert!(text.contains("file f1: catalog 10 B sha256 abababababab; S3 10 B sha256 abababababab; vendor 10 B"), "{text}");
        assert!(text.contains("→ HTTP 204"), "{text}");
    }
}
