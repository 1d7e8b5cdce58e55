//! The demo's back-catalogue scene: a simulated Zoom account with recordings from the past months (one of a
//! deactivated user) that no webhook will ever announce. `archiver-admin backfill --dry-run` counts them,
//! `backfill --remote` hands the import to the deployment (the backfill function queues them, the CLI shows
//! the run's progress) and the pipeline archives them; `explain` shows why the deactivated user's one waits in
//! quarantine, and `assign-owner` gives it its owner; a
//! second run finds nothing new, and the reconcile sweep (invoked once) counts what the vendor lists against
//! the catalog.

use super::{admin_cli, entry, invoke, key_of, wait_archived};
use anyhow::{Context, Result};
use archiver_tests::{apply_tenant_with_zoom_api_shaped, unique};
use chrono::{Duration as Days, Utc};
use local_stack::LocalStack;
use shared::aws::catalog::DynamoCatalog;
use zoom_sim::{RecordingSpec, UserSpec, UserStatus, ZoomSim};

/// Runs the scene; `Ok(false)` if it did not show what it should.
pub async fn run(
    stack: &LocalStack,
    catalog: &DynamoCatalog,
    conf: &aws_config::SdkConfig,
) -> Result<bool> {
    println!("\n――― Importing the back catalogue: recordings no webhook will announce ―――\n");
    // A Zoom account of its own (one account belongs to one tenant).
    let sim = ZoomSim::start().await?;
    let ann = sim.add_user(UserSpec::realistic(&unique("ann.lee")));
    let bob =
        sim.add_user(UserSpec::realistic(&unique("bob.ross")).with_status(UserStatus::Inactive));
    let stu = sim.add_user(UserSpec::realistic(&unique("sam.student")));
    // The directory: Ann is staff, Sam a student; students' own meetings are not archived (an opt-out
    // group), lectures are filed under Lectures, chemistry ones also under Chemistry.
    let tenant = apply_tenant_with_zoom_api_shaped(
        conf,
        stack.physical("ConfigTable").context("no ConfigTable")?,
        &sim,
        None,
        serde_json::json!({"mode": "retain"}),
        |f| {
            f["tenant"]["groups"] = serde_json::json!(["staff", "students"]);
            f["tenant"]["categories"] = serde_json::json!(["Lectures", "Chemistry"]);
            let users = f["users"].as_array_mut().expect("users");
            users.push(serde_json::json!({"id": "ann", "email": ann.email, "groups": ["staff"]}));
            users.push(serde_json::json!({"id": "sam", "email": stu.email, "groups": ["students"]}));
            // A host nobody in the directory matches waits a day in quarantine for an owner.
            f["connections"][0]["owner"] =
                serde_json::json!({"unmatched": "quarantine", "quarantine_hours": 24});
            f["connections"][0]["routing"] = serde_json::json!({
                "opt_out": ["students"],
                "categories": {"meetings": ["Lectures"], "rules": [{"topic": "^CHEM", "add": ["Chemistry"]}]}
            });
        },
    )
    .await?;
    println!(
        "Routing: group students opted out; meetings filed under Lectures, topics ^CHEM also under Chemistry;\n\
         a host nobody in the directory matches: in quarantine for 24 h, held by the default owner."
    );
    let mut recs = Vec::new();
    for (user, days_ago, topic) in [
        (&ann, 80, "CHEM 101 Lecture 1"),
        (&ann, 45, "CHEM 101 Lecture 6"),
        (&bob, 30, "Faculty meeting (host since deactivated)"),
        (&ann, 1, "CHEM 101 Lecture 12"),
        (&stu, 20, "Student club social"),
    ] {
        let mut spec = RecordingSpec::single_mp4(&unique("past"), 2 * 1024 * 1024)
            .hosted_by(user)
            .starting_at(Utc::now() - Days::days(days_ago));
        spec.account_id = sim.s2s_app().account_id;
        spec.topic = topic.into();
        let rec = sim.add_recording(spec);
        println!(
            "In the Zoom cloud: \"{}\" of {} ({}), {}",
            rec.topic,
            user.email,
            user.status.as_str(),
            rec.start_time.format("%Y-%m-%d")
        );
        recs.push(rec);
    }
    let from = (Utc::now() - Days::days(100))
        .format("%Y-%m-%d")
        .to_string();
    let backfill = |dry_run: bool| {
        archiver_admin::Command::Backfill(archiver_admin::backfill::Options {
            dry_run,
            max_rate: Some(10.0),
            ..archiver_admin::backfill::Options::new(&tenant.connection, &from, None)
        })
    };
    let connection = &tenant.connection;
    println!("\n$ archiver-admin backfill --connection {connection} --from {from} --dry-run");
    archiver_admin::run(admin_cli(stack, backfill(true))?).await?;
    println!(
        "\nHanded to the deployment (for large imports: the backfill function walks it, the CLI only shows \
         its record):\n$ archiver-admin backfill --connection {connection} --from {from} --remote"
    );
    let remote = archiver_admin::Command::Backfill(archiver_admin::backfill::Options {
        remote: true,
        backfill_queue_url: stack
            .physical("BackfillQueue")
            .context("no BackfillQueue")?
            .to_owned(),
        poll_secs: 0.5,
        ..archiver_admin::backfill::Options::new(&tenant.connection, &from, None)
    });
    let code = archiver_admin::run(admin_cli(stack, remote)?).await?;
    let mut ok = code == 0;

    println!("\nThe pipeline archives what the backfill queued:");
    let student = recs.pop().context("the student's recording")?;
    for rec in &recs {
        wait_archived(catalog, &key_of(rec)?, rec.files().len()).await?;
    }
    for rec in &recs {
        let e = entry(catalog, &key_of(rec)?).await?.context("no entry")?;
        println!(
            "  {:?}  {}  \"{}\"  → {}",
            e.state,
            e.start_time.format("%Y-%m-%d"),
            e.topic,
            e.s3_prefix
        );
        ok &= e.state == shared::model::RecordingState::Archived;
    }

    let faculty = &recs[2];
    println!(
        "\nWhy is the faculty meeting in quarantine? (the decision is stored with every rule tried)\n\
         $ archiver-admin explain --account {} --instance '{}'",
        faculty.account_id, faculty.uuid
    );
    let explain = archiver_admin::Command::Explain {
        event: None,
        connection: None,
        vendor: "zoom".into(),
        account: Some(faculty.account_id.clone()),
        instance: Some(faculty.uuid.clone()),
    };
    ok &= archiver_admin::run(admin_cli(stack, explain)?).await? == 0;
    let explained = entry(catalog, &key_of(faculty)?)
        .await?
        .context("no entry")?;
    ok &= !explained.owner_trace.is_empty();
    ok &= explained.quarantine_until.is_some() && explained.s3_prefix.contains("/quarantine/");

    println!(
        "\nWhat waits in quarantine:\n$ archiver-admin quarantine --connection {}",
        tenant.connection
    );
    let listing = archiver_admin::Command::Quarantine {
        connection: tenant.connection.clone(),
        limit: 20,
    };
    ok &= archiver_admin::run(admin_cli(stack, listing)?).await? == 0;
    println!(
        "\nAnn chaired it: an admin assigns her as its owner before the quarantine runs out (otherwise our copy\n\
         would be removed then, and the vendor's kept for a retry):\n\
         $ archiver-admin assign-owner --connection {} --instance '{}' --owner ann",
        tenant.connection, faculty.uuid
    );
    let assign = archiver_admin::Command::AssignOwner {
        connection: tenant.connection.clone(),
        instance: faculty.uuid.clone(),
        owner: "ann".into(),
    };
    ok &= archiver_admin::run(admin_cli(stack, assign)?).await? == 0;
    let assigned = entry(catalog, &key_of(faculty)?)
        .await?
        .context("no entry")?;
    ok &= assigned.owner.as_ref().map(|o| o.as_str()) == Some("ann")
        && assigned.owner_rule.as_deref() == Some(shared::quarantine::ASSIGNED)
        && assigned.quarantine_until.is_none();

    println!(
        "\nAnd why was the student's recording not archived? (nothing of it was downloaded)\n\
         $ archiver-admin explain --account {} --instance '{}'",
        student.account_id, student.uuid
    );
    let skipped = wait_skipped(catalog, &key_of(&student)?).await?;
    let explain = archiver_admin::Command::Explain {
        event: None,
        connection: None,
        vendor: "zoom".into(),
        account: Some(student.account_id.clone()),
        instance: Some(student.uuid.clone()),
    };
    ok &= archiver_admin::run(admin_cli(stack, explain)?).await? == 0;
    ok &= skipped.owner_rule.as_deref() == Some(shared::routing::OPT_OUT_GROUP);
    ok &= student
        .files()
        .iter()
        .all(|f| sim.stats(&f.id).complete_bodies == 0);
    let lecture = entry(catalog, &key_of(&recs[0])?)
        .await?
        .context("no entry")?;
    let filed: Vec<&str> = lecture.categories.iter().map(|c| c.as_str()).collect();
    ok &= filed == ["Lectures", "Chemistry"];

    println!(
        "\nRun again, from the CLI this time (as after a Ctrl-C): the run's record is the same, finished windows \
         are not listed again and nothing is queued twice."
    );
    println!("$ archiver-admin backfill --connection {connection} --from {from} --max-rate 10");
    let before = sim.list_requests().len();
    archiver_admin::run(admin_cli(stack, backfill(false))?).await?;
    let listed_again = sim.list_requests()[before..]
        .iter()
        .filter(|r| r.endpoint == zoom_sim::ListEndpoint::UserRecordings)
        .count();
    ok &= listed_again == 0;

    println!(
        "\nThe reconcile sweep (every 6 hours; invoked once here) lists the last 3 days against the catalog:"
    );
    let report = invoke(
        &reqwest::Client::new(),
        stack,
        "reconciler",
        serde_json::json!({ "connection": connection }),
    )
    .await?;
    let c = &report["connections"][0];
    println!(
        "  found {}, already archived {}, missed by the webhooks {}",
        c["counts"]["found"], c["counts"]["archived"], c["counts"]["new"]
    );
    ok &= c["counts"]["found"] == 1 && c["counts"]["archived"] == 1 && c["counts"]["new"] == 0;
    println!(
        "\nEvery past recording archived once, nothing listed twice: {}",
        if ok { "yes" } else { "NO" }
    );
    Ok(ok)
}

/// Waits until the recording is recorded as skipped (by the owner stage's routing, here).
async fn wait_skipped(
    catalog: &DynamoCatalog,
    key: &shared::model::RecordingKey,
) -> Result<shared::catalog::RecordingEntry> {
    let start = std::time::Instant::now();
    loop {
        if let Some(e) = entry(catalog, key).await?
            && e.state == shared::model::RecordingState::Skipped
        {
            return Ok(e);
        }
        anyhow::ensure!(
            start.elapsed() < std::time::Duration::from_secs(900),
            "not skipped after 15 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
