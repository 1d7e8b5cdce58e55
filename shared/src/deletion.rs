//! The deletion plan for an archived recording. Executing it at the vendor (with verification against the
//! archived copy) is a later stage; here the plan is computed and recorded.

use crate::catalog::DeletionEntry;
use crate::config::DeletePlan;
use chrono::{DateTime, Duration, Utc};

/// Plans what to do with the vendor copy of a recording archived at `archived_at`.
pub fn plan(
    delete_plan: &DeletePlan,
    archived_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DeletionEntry {
    match delete_plan {
        DeletePlan::Retain => DeletionEntry {
            plan: delete_plan.clone(),
            status: "retained".into(),
            due_at: None,
            planned_at: now,
        },
        DeletePlan::DeleteAfter { days, .. } => DeletionEntry {
            plan: delete_plan.clone(),
            status: "scheduled".into(),
            due_at: Some(archived_at + Duration::days(i64::from(*days))),
            planned_at: now,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeleteAction;

    #[test]
    fn plans() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let p = plan(&DeletePlan::Retain, at, at);
        assert_eq!((p.status.as_str(), p.due_at), ("retained", None));
        let p = plan(
            &DeletePlan::DeleteAfter {
                days: 30,
                action: DeleteAction::Trash,
            },
            at,
            at,
        );
        assert_eq!(p.status, "scheduled");
        assert_eq!(p.due_at, Some("2026-01-31T10:00:00Z".parse().unwrap()));
    }
}
