//! The quarantine (`owner.unmatched: quarantine`): a recording no owner rule found an owner for is archived
//! under the tenant's `quarantine/` folder, held by the connection's `default_owner`, its vendor copy kept,
//! until `until` (`owner.quarantine_hours` after the decision). Before then `archiver-admin assign-owner`
//! gives it its owner (the copy stays where it is, owned by them from then on); after, the sweeper removes our
//! copy, and only it, and records the recording as skipped (`quarantine_expired`) so that `archiver-admin
//! retry` archives it again from the vendor's copy. Pure rules; the sweeper applies them ([`next`]).
//!
//! Every step is safe to repeat. The owner stage lists the recording in the quarantine index before it
//! stores the quarantine; the sweeper expires the recording first (the one conditional write that decides
//! between an expiry and an assignment), then removes the objects, puts the files back to `planned`, and
//! drops the index entry last: a sweep that died half way is finished by the next.

use crate::catalog::{FileEntry, RecordingEntry};
use crate::model::{FileState, RecordingState};
use crate::routing::QUARANTINE_EXPIRED;
use chrono::{DateTime, Utc};

/// The rule of an owner assigned by an admin to a recording in quarantine.
pub const ASSIGNED: &str = "assigned";
/// The rule of a recording whose quarantine ran out when the vendor copy was already gone: ours is the only
/// copy, so it is kept, owned by its holder.
pub const QUARANTINE_KEPT: &str = "quarantine_kept";

/// What the sweeper does with a quarantine hold that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Leave it and look again on a later sweep (why).
    Wait(String),
    /// Expire it: the recording becomes skipped with this reason, then [`Next::Finish`].
    Expire { reason: String },
    /// The expiry is recorded: remove our objects, put the files back, drop the hold.
    Finish,
    /// The vendor copy is gone, ours is the only one: end the quarantine with its holder (this trace line).
    Keep { line: String },
    /// The hold is stale (an owner was assigned, the recording went through the owner stage again): drop it.
    Release,
}

/// What to do at `now` with a due quarantine hold, given its recording as stored now (`None`: absent).
pub fn next(rec: Option<&RecordingEntry>, now: DateTime<Utc>) -> Next {
    let Some(rec) = rec else {
        return Next::Release;
    };
    let Some(until) = rec.quarantine_until else {
        if rec.state == RecordingState::Skipped
            && rec.owner_rule.as_deref() == Some(QUARANTINE_EXPIRED)
        {
            return Next::Finish;
        }
        if rec.state == RecordingState::PendingOwner {
            // Listed by the owner stage, which has not stored its decision yet (or died before it did: the
            // message comes back and decides again).
            return Next::Wait("the owner stage has not stored its decision yet".into());
        }
        return Next::Release;
    };
    if until > now {
        return Next::Wait(format!("in quarantine until {until}"));
    }
    match rec.state {
        RecordingState::Archived | RecordingState::Failed => {}
        s => {
            return Next::Wait(format!(
                "the quarantine ran out at {until}, but the recording is still {} (files in transfer); it \
                 expires once they settle",
                s.as_str()
            ));
        }
    }
    let holder = rec.owner.as_ref().map_or("nobody", |o| o.as_str());
    if let Some(gone) = &rec.removed_at_vendor {
        return Next::Keep {
            line: format!(
                "{QUARANTINE_KEPT}: the quarantine ran out at {until}, but the vendor copy is gone ({} at {}): \
                 ours is the only copy, so it is kept, held by {holder}; archiver-admin assign-owner still \
                 gives it its owner",
                gone.event, gone.at
            ),
        };
    }
    Next::Expire {
        reason: format!(
            "quarantine expired at {until}: no owner was assigned in time; our copy was removed, the vendor's \
             is kept; add the host to the directory, then archiver-admin retry --instance archives it again"
        ),
    }
}

/// The S3 keys of our copy of a recording whose quarantine expired: every archived object of its files (and
/// every earlier version), but only under the tenant's quarantine folder, so that nothing filed elsewhere is
/// ever removed. The second list: objects outside it, kept (and reported).
pub fn objects_to_remove(rec: &RecordingEntry, files: &[FileEntry]) -> (Vec<String>, Vec<String>) {
    let folder = format!("{}/", crate::keys::quarantine_prefix(&rec.tenant));
    let mut keys: Vec<String> = Vec::new();
    for f in files {
        if f.state == FileState::Archived {
            keys.push(
                f.stored
                    .as_ref()
                    .map_or_else(|| f.s3_key.clone(), |s| s.key.clone()),
            );
        }
        keys.extend(f.superseded.iter().map(|s| s.key.clone()));
    }
    keys.sort();
    keys.dedup();
    keys.into_iter().partition(|k| k.starts_with(&folder))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::VendorRemoval;
    use crate::fakes::contract::{sample_file, sample_key, sample_recording};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn quarantined(state: RecordingState) -> RecordingEntry {
        let mut r = sample_recording(&sample_key("q1"), state, &["a"], true);
        r.owner = Some(crate::ids::UserId::parse("media").unwrap());
        r.owner_rule = Some(crate::owner::QUARANTINE.into());
        r.quarantine_until = Some(at("2026-03-02T09:00:00Z"));
        r
    }

    #[test]
    fn a_hold_expires_only_once_due_and_settled_and_never_takes_the_only_copy() {
        let before = at("2026-03-02T08:59:59Z");
        let after = at("2026-03-02T09:00:01Z");
        let archived = quarantined(RecordingState::Archived);
        assert!(matches!(next(Some(&archived), before), Next::Wait(_)));
        let Next::Expire { reason } = next(Some(&archived), after) else {
            panic!("expires");
        };
        assert!(reason.contains("retry --instance"), "{reason}");
        assert!(matches!(
            next(Some(&quarantined(RecordingState::Failed)), after),
            Next::Expire { .. }
        ));
        // Still in transfer: waits for the files to settle.
        let Next::Wait(why) = next(Some(&quarantined(RecordingState::Archiving)), after) else {
            panic!("waits");
        };
        assert!(why.contains("archiving"), "{why}");
        // The vendor copy is gone: ours is kept.
        let mut only = archived.clone();
        only.removed_at_vendor = Some(VendorRemoval {
            event: "recording.deleted".into(),
            operator: None,
            at: before,
            archived_before: true,
        });
        assert!(matches!(next(Some(&only), after), Next::Keep { .. }));
    }

    #[test]
    fn a_hold_left_by_a_sweep_or_an_assignment_is_finished_or_released() {
        let now = at("2026-03-03T00:00:00Z");
        assert_eq!(next(None, now), Next::Release);
        let mut expired = quarantined(RecordingState::Skipped);
        expired.quarantine_until = None;
        expired.owner_rule = Some(QUARANTINE_EXPIRED.into());
        assert_eq!(next(Some(&expired), now), Next::Finish);
        let mut assigned = quarantined(RecordingState::Archived);
        assigned.quarantine_until = None;
        assigned.owner_rule = Some(ASSIGNED.into());
        assert_eq!(next(Some(&assigned), now), Next::Release);
        let mut deciding = quarantined(RecordingState::PendingOwner);
        deciding.quarantine_until = None;
        assert!(matches!(next(Some(&deciding), now), Next::Wait(_)));
    }

    #[test]
    fn only_objects_under_the_quarantine_folder_are_removed() {
        let rec = quarantined(RecordingState::Archived);
        let mut inside = sample_file("a", FileState::Archived, None);
        inside.s3_key = "tenants/uni/quarantine/zoom/x/a.mp4".into();
        let mut old = inside.clone();
        old.s3_key = "tenants/uni/quarantine/zoom/x/a.v1.mp4".into();
        let mut outside = sample_file("b", FileState::Archived, None);
        outside.s3_key = "tenants/uni/zoom/x/b.mp4".into();
        let planned = sample_file("c", FileState::Planned, None);
        inside.superseded = vec![crate::catalog::StoredObject {
            key: old.s3_key.clone(),
            ..crate::fakes::contract::stored()
        }];
        let (remove, keep) = objects_to_remove(&rec, &[inside, outside, planned]);
        assert_eq!(
            remove,
            [
                "tenants/uni/quarantine/zoom/x/a.mp4",
                "tenants/uni/quarantine/zoom/x/a.v1.mp4"
            ]
        );
        assert_eq!(keep, ["tenants/uni/zoom/x/b.mp4"]);
    }
}
