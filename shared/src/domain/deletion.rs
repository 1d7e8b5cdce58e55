//! The deletion plan for an archived recording: when the vendor copy may go and what it takes. Executing it
//! at the vendor (with verification against the archived copy) is a later stage. The exact vendor calls are
//! each vendor's own ([`crate::zoom`]/[`crate::webex`] `deletion::calls`); the plan only records them.

use crate::catalog::{DeletionEntry, DeletionStatus};
use crate::config::{DeleteAction, DeletePlan};
use chrono::{DateTime, Duration, Utc};

/// The calls the execution stage will make at the vendor, and what it must know or check first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorCalls {
    pub calls: Vec<String>,
    pub notes: Vec<String>,
}

/// Plans what to do with the vendor copy of a recording archived at `archived_at`. `calls` gives the vendor's
/// calls for the plan's action; it is asked only when something will be deleted.
pub fn plan(
    delete_plan: &DeletePlan,
    archived_at: DateTime<Utc>,
    now: DateTime<Utc>,
    calls: impl FnOnce(DeleteAction) -> VendorCalls,
) -> DeletionEntry {
    match delete_plan {
        DeletePlan::Retain => DeletionEntry {
            plan: delete_plan.clone(),
            status: DeletionStatus::Retained,
            due_at: None,
            planned_at: now,
            vendor_calls: vec![],
            notes: vec![],
        },
        DeletePlan::DeleteAfter { days, action } => {
            let VendorCalls { calls, notes } = calls(*action);
            DeletionEntry {
                plan: delete_plan.clone(),
                status: DeletionStatus::Scheduled,
                due_at: Some(archived_at + Duration::days(i64::from(*days))),
                planned_at: now,
                vendor_calls: calls,
                notes,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_keeps_the_vendor_copy_and_asks_for_no_calls() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let p = plan(&DeletePlan::Retain, at, at, |_| unreachable!("no calls"));
        assert_eq!((p.status, p.due_at), (DeletionStatus::Retained, None));
        assert!(p.vendor_calls.is_empty());
    }

    #[test]
    fn delete_after_is_due_days_after_archiving_with_the_vendor_calls() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let trash = DeletePlan::DeleteAfter {
            days: 30,
            action: DeleteAction::Trash,
        };
        let p = plan(&trash, at, at, |action| VendorCalls {
            calls: vec![format!("{action:?}")],
            notes: vec!["n".into()],
        });
        assert_eq!(p.status, DeletionStatus::Scheduled);
        assert_eq!(p.due_at, Some("2026-01-31T10:00:00Z".parse().unwrap()));
        assert_eq!(
            (p.vendor_calls, p.notes),
            (vec!["Trash".into()], vec!["n".into()])
        );
    }
}
