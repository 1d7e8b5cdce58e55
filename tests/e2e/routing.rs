//! Routing through the local stack: a tenant with groups and categories, a connection that opts a group
//! out, files its recordings by kind and host group in a folder layout of its own, and leaves chat,
//! timeline and transcripts at Zoom.

use super::{MIB, World, check, key_of};
use archiver_tests::{apply_tenant_shaped, unique};
use shared::model::RecordingState;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use zoom_sim::RecordingSpec;

type Run<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// A staff member's recording is archived without the kinds switched off, filed under the meeting default
/// and the staff rule's category, its objects tagged with owner and categories; a student's recording (an
/// opt-out group) is recorded as skipped with the rule, and none of its bytes are fetched.
pub fn opt_out_kinds_and_categories(w: &World) -> Run<'_> {
    Box::pin(async move {
        let staff = w
            .sim
            .add_recording(RecordingSpec::realistic(&unique("route"), MIB));
        let mut spec = RecordingSpec::realistic(&unique("route-stu"), MIB);
        spec.account_id = staff.account_id.clone();
        spec.host_id = unique("stu-id");
        spec.host_email = format!("{}@example.edu", unique("stu"));
        let student = w.sim.add_recording(spec.clone());
        let t = apply_tenant_shaped(
            &w.conf,
            w.stack.physical("ConfigTable").unwrap(),
            &staff.account_id,
            Some((&staff.host_id, &staff.host_email)),
            serde_json::json!({"mode": "retain"}),
            |f| {
                f["tenant"]["groups"] = serde_json::json!(["staff", "students"]);
                f["tenant"]["categories"] = serde_json::json!(["Lectures", "Staff/Teaching"]);
                f["users"][1]["groups"] = serde_json::json!(["staff"]);
                f["users"].as_array_mut().unwrap().push(serde_json::json!({
                    "id": "stu", "email": spec.host_email, "zoom_user_ids": [spec.host_id],
                    "groups": ["students"]
                }));
                f["connections"][0]["routing"] = serde_json::json!({
                    "opt_out": ["students"],
                    "categories": {"meetings": ["Lectures"],
                        "rules": [{"host_group": "staff", "add": ["Staff/Teaching"]}]}
                });
                f["connections"][0]["layout"] =
                    "{category}/{owner}/{yyyy}-{mm}-{dd}_{topic}_{instance_hash}".into();
                f["connections"][0]["filters"] =
                    serde_json::json!({"files": {"chat": false, "timeline": false, "transcripts": false}});
            },
        )
        .await
        .map_err(|e| format!("apply: {e}"))?;
        for rec in [&staff, &student] {
            let (status, body) = w.post(&t, &rec.recording_completed_body()).await;
            check(status == 200, format!("delivery: {status} {body}"))?;
        }
        let kept: Vec<String> = staff
            .media_files()
            .iter()
            .filter(|f| matches!(f.file_type.as_str(), "MP4" | "M4A"))
            .map(|f| f.id.clone())
            .collect();
        let left: Vec<String> = staff
            .media_files()
            .iter()
            .filter(|f| !kept.contains(&f.id))
            .map(|f| f.id.clone())
            .collect();
        check(
            !left.is_empty(),
            "the recording has chat and timeline files",
        )?;
        let entry = w
            .wait_for(
                &staff,
                RecordingState::Archived,
                kept.len(),
                Duration::from_secs(300),
            )
            .await?;
        w.verify_archived(&staff, &entry, &kept).await?;
        let names: Vec<&str> = entry.categories.iter().map(|c| c.as_str()).collect();
        check(
            names == ["Lectures", "Staff/Teaching"],
            format!("categories {names:?}"),
        )?;
        // Filed by the connection's layout: category, owner, date and topic, no percent-encoding.
        let folder = format!("tenants/{}/Lectures/host-user/", t.tenant);
        check(
            entry.s3_prefix.starts_with(&folder) && !entry.s3_prefix.contains('%'),
            format!("folder {} (wanted under {folder})", entry.s3_prefix),
        )?;
        check(
            left.iter().all(|id| entry.skipped_files.contains(id)),
            format!("skipped files {:?}", entry.skipped_files),
        )?;
        for id in &left {
            let n = w.sim.stats(id).complete_bodies;
            check(n == 0, format!("left-out file {id} downloaded {n} times"))?;
        }
        // Owner and categories are on every object, as tags and as metadata.
        for key in w.objects_under(&entry.s3_prefix).await {
            let tags = w.tags(&key).await?;
            check(
                tags.get("owner").map(String::as_str) == Some("host-user")
                    && tags.get("categories").map(String::as_str)
                        == Some("Lectures + Staff/Teaching"),
                format!("{key}: tags {tags:?}"),
            )?;
            let head =
                w.s3.head_object()
                    .bucket(&w.bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| format!("{key}: {e}"))?;
            let meta = head.metadata.unwrap_or_default();
            check(
                meta.get("owner").map(String::as_str) == Some("host-user"),
                format!("{key}: metadata {meta:?}"),
            )?;
        }
        // The late transcript is a kind switched off: recorded on the entry, nothing reopens.
        let (status, _) = w.post(&t, &staff.transcript_completed_body()).await;
        check(status == 200, format!("transcript delivery: {status}"))?;
        let transcript = staff.transcript_file().map(|f| f.id.clone()).unwrap();
        let e = w
            .poll(
                &key_of(&staff),
                Duration::from_secs(60),
                "the transcript was never recorded as left out",
                |e| e.skipped_files.contains(&transcript).then(|| e.clone()),
            )
            .await?;
        check(
            e.state == RecordingState::Archived && e.file_ids.len() == kept.len(),
            format!(
                "after the transcript: {:?} with {} files",
                e.state,
                e.file_ids.len()
            ),
        )?;

        // The student's recording: skipped by the opt-out group, with the reason; nothing fetched.
        let skipped = w
            .poll(
                &key_of(&student),
                Duration::from_secs(120),
                "the student's recording was never skipped",
                |e| (e.state == RecordingState::Skipped).then(|| e.clone()),
            )
            .await?;
        check(
            skipped.owner_rule.as_deref() == Some(shared::routing::OPT_OUT_GROUP)
                && skipped.owner.is_none()
                && skipped
                    .skip_reason
                    .as_deref()
                    .is_some_and(|r| r.contains("opt-out group students")),
            format!(
                "{:?} {:?} {:?}",
                skipped.owner_rule, skipped.owner, skipped.skip_reason
            ),
        )?;
        check(
            w.objects_under(&skipped.s3_prefix).await.is_empty(),
            "nothing of the student's recording in S3",
        )?;
        for f in student.files() {
            let n = w.sim.stats(&f.id).complete_bodies;
            check(
                n == 0,
                format!("student file {} downloaded {n} times", f.id),
            )?;
        }
        println!(
            "    archived {} of {} files under {} filed as {names:?}; the student's recording skipped: {}",
            kept.len(),
            staff.files().len(),
            entry.s3_prefix,
            skipped.skip_reason.unwrap_or_default()
        );
        Ok(())
    })
}
