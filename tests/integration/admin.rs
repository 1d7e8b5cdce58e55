//! The admin CLI against moto: validation errors change nothing, apply writes secrets and records, show
//! answers "not found" with exit code 1.

use archiver_admin::{Cli, Command, run};
use archiver_tests::{provision, unique};
use shared::ids::ConnectionId;
use shared::ports::{ConfigStore, SecretStore};

/// A stack of its own and an empty folder for the test's files.
async fn scratch(
    name: &str,
) -> (
    aws_config::SdkConfig,
    std::collections::BTreeMap<String, String>,
    std::path::PathBuf,
) {
    let (conf, res) = provision(&unique(name)).await.unwrap();
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    (conf, res, dir)
}

/// The CLI against a provisioned stack: its tables, queues and bucket.
fn cli_on(res: &std::collections::BTreeMap<String, String>, command: Command) -> Cli {
    Cli {
        config_table: res["ConfigTable"].clone(),
        catalog_table: res["CatalogTable"].clone(),
        owner_queue_url: res["OwnerQueue"].clone(),
        media_bucket: res["MediaBucket"].clone(),
        events_queue_url: res["EventsQueue"].clone(),
        command,
    }
}

#[tokio::test]
async fn apply_validates_then_writes_secrets_and_config() {
    let (conf, res, dir) = scratch("adm").await;
    let var = format!("ADMIN_TEST_SECRET_{}", std::process::id());
    let tenant = unique("uni");
    let file = dir.join("tenant.yaml");
    let yaml = format!(
        "tenant: {{id: {tenant}, name: Test}}\nconnections:\n  - {{id: {tenant}-zoom, vendor: zoom, account_id: ACC1, webhook_secret_env: {var}, default_owner: media}}\nusers:\n  - {{id: media, email: media@example.edu}}\n"
    );
    std::fs::write(&file, &yaml).unwrap();
    let cli = |command| cli_on(&res, command);
    let apply = |dry_run| Command::Apply {
        file: file.clone(),
        secrets_prefix: "archiver/".into(),
        dry_run,
        prune: false,
    };
    // The secret's variable is not set yet: invalid, exit 2, nothing written.
    assert_eq!(run(cli(apply(false))).await.unwrap(), 2);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let conn_id = ConnectionId::parse(format!("{tenant}-zoom")).unwrap();
    assert!(store.connection(&conn_id).await.unwrap().is_none());

    // SAFETY: this test binary sets this uniquely named variable once and reads it only here.
    unsafe { std::env::set_var(&var, "zoom-secret-token-123") };
    assert_eq!(run(cli(apply(true))).await.unwrap(), 0);
    assert!(
        store.connection(&conn_id).await.unwrap().is_none(),
        "a dry run writes nothing"
    );
    assert_eq!(run(cli(apply(false))).await.unwrap(), 0);
    let conn = store
        .connection(&conn_id)
        .await
        .unwrap()
        .expect("connection stored");
    assert_eq!(
        conn.webhook_secret_ref,
        format!("archiver/{tenant}/{tenant}-zoom/webhook-secret")
    );
    let secrets =
        shared::aws::secrets::SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    assert_eq!(
        secrets
            .secret(&conn.webhook_secret_ref)
            .await
            .unwrap()
            .expose(),
        "zoom-secret-token-123"
    );
    // Applying again is harmless (the secret gets a new version).
    assert_eq!(run(cli(apply(false))).await.unwrap(), 0);

    let show = Command::Show {
        recording: archiver_admin::RecordingArgs {
            vendor: "zoom".into(),
            account: "ACC1".into(),
            instance: "/none//x==".into(),
        },
    };
    assert_eq!(run(cli(show)).await.unwrap(), 1);
    let list = Command::List {
        tenant: tenant.clone(),
        state: "bogus".into(),
        limit: 5,
    };
    assert_eq!(run(cli(list)).await.unwrap(), 2);
}

#[tokio::test]
async fn disconnect_turns_a_webex_connection_off_removes_its_webhooks_revokes_and_reconnect_restores()
 {
    let (conf, res) = provision(&unique("disc")).await.unwrap();
    let sim = webex_sim::WebexSim::start().await.unwrap();
    let t = archiver_tests::apply_webex_tenant(
        &conf,
        &res["ConfigTable"],
        &sim,
        "prof@uni.example.edu",
        None,
        serde_json::json!({"mode": "delete_after", "days": 1}),
    )
    .await
    .unwrap();
    let cli = |command| cli_on(&res, command);
    let ensure = || Command::WebexWebhooks {
        action: archiver_admin::WebhookAction::Ensure {
            connection: t.connection.clone(),
            webhook_base_url: "https://hooks.example.test/webhooks".into(),
        },
    };
    assert_eq!(run(cli(ensure())).await.unwrap(), 0);
    assert_eq!(sim.webhooks().len(), 2);
    // Somebody else's webhook in the org stays.
    let api = shared::webex::WebexConnections::api(
        &shared::aws::webex_connections(&conf),
        &t.config.connections[0],
    )
    .await
    .unwrap();
    api.create_webhook(&shared::webex::api::WebhookRequest {
        name: "other".into(),
        target_url: "https://other.example.test/hook".into(),
        resource: Some("meetings".into()),
        event: Some("ended".into()),
        secret: "s".into(),
        owned_by: None,
        status: None,
    })
    .await
    .unwrap();

    let disconnect = Command::Disconnect {
        connection: t.connection.clone(),
        recovery_days: 7,
    };
    assert_eq!(run(cli(disconnect)).await.unwrap(), 0);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let id = ConnectionId::parse(&t.connection).unwrap();
    assert!(!store.connection(&id).await.unwrap().unwrap().enabled);
    let left: Vec<String> = sim.webhooks().into_iter().map(|h| h.target_url).collect();
    assert_eq!(
        left,
        ["https://other.example.test/hook"],
        "only ours removed"
    );
    let revoked = sim.revocations();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].status, 204);
    assert!(revoked[0].tokens_revoked > 0);
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let conn = &t.config.connections[0];
    for id in [
        &conn.webhook_secret_ref,
        conn.credentials_ref.as_ref().unwrap(),
    ] {
        let d = sm.describe_secret().secret_id(id).send().await.unwrap();
        assert!(d.deleted_date.is_some(), "{id} scheduled for deletion");
    }

    // Reconnect: apply the same tenant again (new credentials, as an admin would after a revocation).
    let secrets = shared::aws::secrets::SecretsManager::new(sm.clone());
    for s in &t.config.secrets {
        let value = if Some(&s.secret_id) == conn.credentials_ref.as_ref() {
            archiver_tests::webex_credentials_json(&sim)
        } else {
            s.value.clone()
        };
        secrets.put(&s.secret_id, &value).await.unwrap();
    }
    store.apply(&t.config).await.unwrap();
    assert!(store.connection(&id).await.unwrap().unwrap().enabled);
    let d = sm
        .describe_secret()
        .secret_id(conn.credentials_ref.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert!(d.deleted_date.is_none(), "restored");
    assert!(
        secrets
            .secret(conn.credentials_ref.as_ref().unwrap())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_tenants_retention_becomes_its_own_lifecycle_rule_and_keeps_the_others() {
    let stack = unique("ret");
    let (conf, res) = provision(&stack).await.unwrap();
    let dir = std::env::temp_dir().join(unique("retention"));
    std::fs::create_dir_all(&dir).unwrap();
    let var = format!("RETENTION_TEST_SECRET_{}", std::process::id());
    // SAFETY: this test binary sets this uniquely named variable once and reads it only here.
    unsafe { std::env::set_var(&var, "zoom-secret-token-456") };
    let tenant = unique("uni");
    let file = dir.join("tenant.yaml");
    let write = |retention: &str| {
        std::fs::write(
            &file,
            format!(
                "tenant: {{id: {tenant}, name: Test{retention}}}\nconnections:\n  - {{id: {tenant}-zoom, vendor: zoom, account_id: {tenant}-acc, webhook_secret_env: {var}, default_owner: media}}\nusers:\n  - {{id: media, email: media@example.edu}}\n"
            ),
        )
        .unwrap();
    };
    let cli = |bucket: &str| Cli {
        config_table: res["ConfigTable"].clone(),
        catalog_table: res["CatalogTable"].clone(),
        owner_queue_url: String::new(),
        media_bucket: bucket.to_owned(),
        events_queue_url: String::new(),
        command: Command::Apply {
            file: file.clone(),
            secrets_prefix: "archiver/".into(),
            dry_run: false,
            prune: false,
        },
    };
    let s3 = shared::aws::s3_client(&conf);
    let bucket = res["MediaBucket"].clone();
    let rules = || async {
        s3.get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .rules()
            .iter()
            .map(|r| {
                let prefix = r
                    .filter()
                    .and_then(|f| f.prefix())
                    .unwrap_or_default()
                    .to_owned();
                let t = r
                    .transitions()
                    .first()
                    .map(|t| {
                        format!(
                            "{:?}",
                            (t.storage_class().map(|c| c.as_str().to_owned()), t.days())
                        )
                    })
                    .unwrap_or_default();
                (
                    r.id().unwrap_or_default().to_owned(),
                    prefix,
                    t,
                    r.expiration().and_then(|e| e.days()),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = rules().await;
    assert!(
        before
            .iter()
            .any(|r| r.0 == "abort-incomplete-multipart-uploads")
    );

    write(
        ", retention: {transition_after_days: 90, storage_class: DEEP_ARCHIVE, expire_after_days: 3650}",
    );
    // Without the bucket, nothing is written.
    assert_eq!(run(cli("")).await.unwrap(), 2);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let conn_id = ConnectionId::parse(format!("{tenant}-zoom")).unwrap();
    assert!(store.connection(&conn_id).await.unwrap().is_none());
    assert_eq!(run(cli(&bucket)).await.unwrap(), 0);
    let with = rules().await;
    let mine = with
        .iter()
        .find(|r| r.0 == format!("tenant-{tenant}"))
        .expect("the tenant's rule");
    assert_eq!(mine.1, format!("tenants/{tenant}/"));
    assert_eq!(mine.2, r#"(Some("DEEP_ARCHIVE"), Some(90))"#);
    assert_eq!(mine.3, Some(3650));
    for r in &before {
        assert!(with.contains(r), "the template's rule {} kept", r.0);
    }
    let stored = store
        .tenant(&shared::ids::TenantId::parse(&tenant).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.retention.and_then(|r| r.expire_after_days),
        Some(3650)
    );

    // A deploy that rewrites the bucket's lifecycle (here: provisioning the template again) drops the
    // tenant's rule; `retention-sync` writes it back.
    let text = std::fs::read_to_string(archiver_tests::repo_root().join("template.yaml")).unwrap();
    let mut plan = local_stack::template::Template::parse(&text)
        .unwrap()
        .plan(&stack, "us-east-1")
        .unwrap();
    local_stack::provision::provision(&local_stack::provision::Clients::new(&conf), &mut plan)
        .await
        .unwrap();
    assert_eq!(rules().await, before, "overwritten by the template");
    let sync = Cli {
        command: Command::RetentionSync,
        ..cli(&bucket)
    };
    assert_eq!(run(sync).await.unwrap(), 0);
    assert_eq!(rules().await, with);

    // Without retention in the file, the tenant's rule goes and the others stay.
    write("");
    assert_eq!(run(cli(&bucket)).await.unwrap(), 0);
    assert_eq!(rules().await, before);
}

#[tokio::test]
async fn apply_shows_its_diff_keeps_what_the_file_leaves_out_unless_pruned_and_of_two_concurrent_applies_one_wins()
 {
    use shared::changes::{Change, plan};
    use shared::ports::UserDirectory;
    let (conf, res, dir) = scratch("cfg").await;
    let tenant = unique("uni");
    let yaml = |owner: &str, users: &[(&str, &str)], zoom: bool| {
        let mut y = format!("tenant: {{id: {tenant}, name: Test}}\nconnections:\n");
        if zoom {
            y.push_str(&format!(
                "  - {{id: {tenant}-zoom, vendor: zoom, account_id: {tenant}-ACC, webhook_secret_ref: archiver/z, default_owner: {owner}}}\n"
            ));
        }
        y.push_str(&format!(
            "  - {{id: {tenant}-webex, vendor: webex, account_id: {tenant}-ORG, webhook_secret_ref: archiver/w, credentials_ref: archiver/w/credentials, default_owner: {owner}}}\nusers:\n"
        ));
        for (id, email) in users {
            y.push_str(&format!("  - {{id: {id}, email: {email}}}\n"));
        }
        y
    };
    let write = |name: &str, text: String| {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        f
    };
    let cli = |file: &std::path::Path, dry_run, prune| Cli {
        config_table: res["ConfigTable"].clone(),
        catalog_table: String::new(),
        owner_queue_url: String::new(),
        media_bucket: String::new(),
        events_queue_url: String::new(),
        command: Command::Apply {
            file: file.to_owned(),
            secrets_prefix: "archiver/".into(),
            dry_run,
            prune,
        },
    };
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let tid = shared::ids::TenantId::parse(&tenant).unwrap();
    let zoom = ConnectionId::parse(format!("{tenant}-zoom")).unwrap();
    let email = |e: &str| shared::ids::Email::parse(e).unwrap();
    let both = [("media", "media@uni.edu"), ("ann", "ann@uni.edu")];
    let v1 = write("v1.yaml", yaml("media", &both, true));
    assert_eq!(run(cli(&v1, false, false)).await.unwrap(), 0);

    // The dry run compares with what is stored and writes nothing.
    let v2 = write("v2.yaml", yaml("ann", &both, true));
    let cfg2 = archiver_admin::load(&v2, "archiver/").unwrap().unwrap();
    let p = plan(&store.snapshot(&tid).await.unwrap(), &cfg2);
    assert_eq!(
        (p.connections.len(), p.users.len(), p.unchanged),
        (2, 0, 3),
        "{p:?}"
    );
    assert!(
        p.lines(false)
            .contains(&"    default_owner: \"media\" → \"ann\"".to_owned()),
        "{:?}",
        p.lines(false)
    );
    assert_eq!(run(cli(&v2, true, false)).await.unwrap(), 0);
    let stored = store.connection(&zoom).await.unwrap().unwrap();
    assert_eq!(
        stored.default_owner.as_str(),
        "media",
        "a dry run writes nothing"
    );

    // Two admins apply at once from the same stored state: one goes through, the other is told and writes
    // nothing (its other change is not stored either).
    let mut other = yaml("media", &both, true);
    other = other.replace("name: Test", "name: Other name");
    let v3 = write("v3.yaml", other);
    let cfg3 = archiver_admin::load(&v3, "archiver/").unwrap().unwrap();
    let snap = store.snapshot(&tid).await.unwrap();
    let (p2, p3) = (plan(&snap, &cfg2), plan(&snap, &cfg3));
    let (a, b) = tokio::join!(
        store.apply_plan(&cfg2, &p2, false),
        store.apply_plan(&cfg3, &p3, false)
    );
    let (won, lost) = match (a, b) {
        (Ok(w), Err(l)) => ("v2", (w, l)),
        (Err(l), Ok(w)) => ("v3", (w, l)),
        other => panic!("exactly one apply goes through: {other:?}"),
    };
    let (applied, refused) = lost;
    assert_eq!(refused.kind(), shared::error::Kind::Conflict);
    assert!(
        refused.to_string().contains("changed by another apply")
            && refused.to_string().contains("nothing was"),
        "{refused}"
    );
    assert_eq!(applied.rev, snap.tenant.as_ref().unwrap().rev + 1);
    let now = store.snapshot(&tid).await.unwrap();
    let t = &now.tenant.as_ref().unwrap().value;
    let c = store.connection(&zoom).await.unwrap().unwrap();
    match won {
        "v2" => assert_eq!((t.name.as_str(), c.default_owner.as_str()), ("Test", "ann")),
        _ => assert_eq!(
            (t.name.as_str(), c.default_owner.as_str()),
            ("Other name", "media")
        ),
    }

    // A disconnect between an apply's read and its write is not written over: the record is refused.
    let snap = store.snapshot(&tid).await.unwrap();
    let owner = if c.default_owner.as_str() == "ann" {
        "media"
    } else {
        "ann"
    };
    let v4 = write("v4.yaml", yaml(owner, &both, true));
    let cfg4 = archiver_admin::load(&v4, "archiver/").unwrap().unwrap();
    let p4 = plan(&snap, &cfg4);
    assert!(
        p4.connections
            .iter()
            .any(|c| matches!(c, Change::Changed { .. })),
        "{p4:?}"
    );
    assert!(
        shared::ports::ConnectionSwitch::set_enabled(&store, &zoom, false)
            .await
            .unwrap()
    );
    let e = store.apply_plan(&cfg4, &p4, false).await.unwrap_err();
    assert_eq!(e.kind(), shared::error::Kind::Conflict, "{e}");
    assert!(e.to_string().contains(&format!("connection {zoom}")), "{e}");
    assert!(
        !store.connection(&zoom).await.unwrap().unwrap().enabled,
        "the disconnect stands"
    );

    // A user left out of the file is kept (and shown); with --prune it goes, and its e-mail finds nobody.
    // An e-mail changed in the file no longer finds the user under the old one.
    let v5 = write(
        "v5.yaml",
        yaml("media", &[("media", "media-team@uni.edu")], true),
    );
    assert_eq!(run(cli(&v5, false, false)).await.unwrap(), 0);
    assert!(
        store
            .by_email(&tid, &email("ann@uni.edu"))
            .await
            .unwrap()
            .is_some(),
        "kept"
    );
    assert!(
        store
            .by_email(&tid, &email("media@uni.edu"))
            .await
            .unwrap()
            .is_none(),
        "old e-mail"
    );
    assert!(
        store
            .by_email(&tid, &email("media-team@uni.edu"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(run(cli(&v5, false, true)).await.unwrap(), 0);
    assert!(
        store
            .by_email(&tid, &email("ann@uni.edu"))
            .await
            .unwrap()
            .is_none(),
        "pruned"
    );
    let users = store.snapshot(&tid).await.unwrap().users;
    assert_eq!(users.len(), 1);

    // Pruning an enabled connection is refused, and nothing is written.
    let v6 = write(
        "v6.yaml",
        yaml("media", &[("media", "media-team@uni.edu")], false),
    );
    let cfg6 = archiver_admin::load(&v6, "archiver/").unwrap().unwrap();
    let p6 = plan(&store.snapshot(&tid).await.unwrap(), &cfg6);
    assert_eq!(p6.prune_problems().len(), 1, "{p6:?}");
    let webex = ConnectionId::parse(format!("{tenant}-webex")).unwrap();
    let before = store.snapshot(&tid).await.unwrap();
    assert_eq!(run(cli(&v6, false, true)).await.unwrap(), 2);
    assert_eq!(
        store.snapshot(&tid).await.unwrap(),
        before,
        "nothing written"
    );
    // Once disconnected, the Zoom connection may go; the Webex one is changed.
    assert!(
        shared::ports::ConnectionSwitch::set_enabled(&store, &zoom, false)
            .await
            .unwrap()
    );
    let v7 = v6;
    assert_eq!(run(cli(&v7, false, false)).await.unwrap(), 0);
    assert!(
        store.connection(&zoom).await.unwrap().is_some(),
        "kept without --prune"
    );
    let mut zoom_off = store.snapshot(&tid).await.unwrap();
    zoom_off.connections.retain(|c| c.value.id == zoom);
    assert!(!zoom_off.connections[0].value.enabled);
    assert_eq!(run(cli(&v7, false, true)).await.unwrap(), 0);
    assert!(store.connection(&zoom).await.unwrap().is_none(), "pruned");
    // Its account is free again.
    let claim = aws_sdk_dynamodb::Client::new(&conf)
        .get_item()
        .table_name(&res["ConfigTable"])
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ACCOUNT#zoom#{tenant}-ACC")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ACCOUNT".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(claim.item.is_none(), "the account claim is released");
    assert_eq!(
        store
            .connection(&webex)
            .await
            .unwrap()
            .unwrap()
            .default_owner
            .as_str(),
        "media"
    );
}

#[tokio::test]
async fn explain_replays_a_connections_owner_policy_over_the_stored_directory_and_reads_back_decisions()
 {
    use shared::ports::UserDirectory;
    let (conf, res, dir) = scratch("expl").await;
    let tenant = unique("uni");
    let file = dir.join("tenant.yaml");
    let lines = [
        format!("tenant: {{id: {tenant}, name: Test}}"),
        "connections:".into(),
        format!(
            "  - {{id: {tenant}-zoom, vendor: zoom, account_id: {tenant}-ACC, webhook_secret_ref: archiver/z, \
             default_owner: media, owner: {{postfix: {{remove: '@uni.edu'}}, lookup: external_id}}}}"
        ),
        "users:".into(),
        "  - {id: media, email: media@uni.edu}".into(),
        "  - {id: jdoe, email: john.doe@uni.edu}".into(),
        "  - {id: carl, email: carl@uni.edu, status: blocked}".into(),
        "  - {id: dana, email: dana@uni.edu, external_id: dk42}".into(),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let cli = |command| cli_on(&res, command);
    let apply = Command::Apply {
        file: file.clone(),
        secrets_prefix: "archiver/".into(),
        dry_run: false,
        prune: false,
    };
    assert_eq!(run(cli(apply)).await.unwrap(), 0);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let tid = shared::ids::TenantId::parse(&tenant).unwrap();
    let dana = store.by_external_id(&tid, "dk42").await.unwrap().unwrap();
    assert_eq!(dana.id.as_str(), "dana");
    let conn_id = ConnectionId::parse(format!("{tenant}-zoom")).unwrap();
    let conn = store.connection(&conn_id).await.unwrap().unwrap();

    // Host e-mails through the stored policy: the postfix removed gives a user id; an external id; a
    // blocked user passed over.
    let raw = include_str!("../../events/zoom/recording.completed.json");
    let event = |host: &str| {
        let mut v: serde_json::Value = serde_json::from_str(raw).unwrap();
        v["payload"]["object"]["host_email"] = host.into();
        v["payload"]["object"]["host_id"] = "not-in-the-directory".into();
        v["payload"]["account_id"] = format!("{tenant}-ACC").into();
        v["payload"]["object"]["account_id"] = format!("{tenant}-ACC").into();
        v.to_string()
    };
    for (host, owner, rule) in [
        ("jdoe@uni.edu", "jdoe", "user_id"),
        ("dk42@uni.edu", "dana", "external_id"),
        ("carl@uni.edu", "media", "default_owner"),
    ] {
        let rec = shared::zoom::ingest::recording(event(host).as_bytes()).unwrap();
        let lines = shared::explain::replay(&rec, &conn, &store, chrono::Utc::now())
            .await
            .unwrap();
        assert!(
            lines.contains(&format!("owner: {owner} (rule {rule})")),
            "{host}: {lines:#?}"
        );
        if host.starts_with("carl") {
            assert!(
                lines
                    .iter()
                    .any(|l| l.ends_with("carl is blocked: counts as not found")),
                "{lines:#?}"
            );
        }
    }

    // The CLI: an event file (0), a file that is no event (2), an unknown connection (1), a recording not
    // in the catalog (1).
    let good = dir.join("event.json");
    std::fs::write(&good, event("jdoe@uni.edu")).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"event\": \"recording.completed\"}").unwrap();
    let explain = |event: Option<&std::path::Path>, connection: &str| Command::Explain {
        event: event.map(|p| p.to_owned()),
        connection: Some(connection.to_owned()),
        vendor: "zoom".into(),
        account: None,
        instance: None,
    };
    assert_eq!(
        run(cli(explain(Some(&good), conn_id.as_str())))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        run(cli(explain(Some(&bad), conn_id.as_str())))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        run(cli(explain(Some(&good), "zoom-nowhere")))
            .await
            .unwrap(),
        1
    );
    let stored = Command::Explain {
        event: None,
        connection: None,
        vendor: "zoom".into(),
        account: Some(format!("{tenant}-ACC")),
        instance: Some("/none//x==".into()),
    };
    assert_eq!(run(cli(stored)).await.unwrap(), 1);

    // The directory as the owner rules see it.
    let list = |tenant: &str| Command::Users {
        action: archiver_admin::UsersAction::List {
            tenant: tenant.to_owned(),
        },
    };
    assert_eq!(run(cli(list(&tenant))).await.unwrap(), 0);
    assert_eq!(run(cli(list("no-such-tenant"))).await.unwrap(), 1);
    let carl = store
        .by_email(&tid, &shared::ids::Email::parse("carl@uni.edu").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        archiver_admin::user_line(&carl),
        "carl  carl@uni.edu  BLOCKED (owns no new recordings)"
    );
    assert!(archiver_admin::user_line(&dana).ends_with("external_id=dk42"));
}

#[tokio::test]
async fn routing_round_trips_explain_replays_it_and_each_class_of_bad_routing_is_refused_writing_nothing()
 {
    let (conf, res, dir) = scratch("route").await;
    let tenant = unique("uni");
    let file = dir.join("tenant.yaml");
    let write = |groups: &str, routing: &str, stu_groups: &str| {
        let lines = [
            format!(
                "tenant: {{id: {tenant}, name: Test, groups: {groups}, \
                 categories: [Lectures, Events, Staff]}}"
            ),
            "connections:".into(),
            format!(
                "  - {{id: {tenant}-zoom, vendor: zoom, account_id: {tenant}-ACC, webhook_secret_ref: archiver/z, \
                 default_owner: media, filters: {{files: {{chat: false}}}}, routing: {routing}}}"
            ),
            "users:".into(),
            "  - {id: media, email: media@uni.edu}".into(),
            "  - {id: prof, email: prof@uni.edu, groups: [staff]}".into(),
            format!("  - {{id: stu, email: stu@uni.edu, groups: {stu_groups}}}"),
            "  - {id: shy, email: shy@uni.edu, opt_out: true}".into(),
        ];
        std::fs::write(&file, lines.join("\n")).unwrap();
    };
    let good = "{opt_out: [students], categories: {meetings: [Lectures], webinars: [Events], \
                rules: [{host_group: staff, add: [Staff]}]}}";
    let groups = "[staff, students]";
    let stu = "[students]";
    write(groups, good, stu);
    let cli = |command| cli_on(&res, command);
    let apply = || Command::Apply {
        file: file.clone(),
        secrets_prefix: "archiver/".into(),
        dry_run: false,
        prune: false,
    };
    assert_eq!(run(cli(apply())).await.unwrap(), 0);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let conn_id = ConnectionId::parse(format!("{tenant}-zoom")).unwrap();
    let conn = store.connection(&conn_id).await.unwrap().unwrap();
    let names = |v: &[shared::ids::GroupId]| v.iter().map(|g| g.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&conn.routing.opt_out), ["students"]);
    assert_eq!(conn.routing.categories.rules[0].add[0].as_str(), "Staff");
    assert!(!conn.filters.files.chat && conn.filters.files.transcripts);
    let tid = shared::ids::TenantId::parse(&tenant).unwrap();
    let by = |e: &str| {
        let store = store.clone();
        let tid = tid.clone();
        let e = shared::ids::Email::parse(e).unwrap();
        async move {
            shared::ports::UserDirectory::by_email(&store, &tid, &e)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(names(&by("prof@uni.edu").await.groups), ["staff"]);
    assert!(by("shy@uni.edu").await.opt_out);
    assert!(
        archiver_admin::user_line(&by("shy@uni.edu").await).contains("OPTED OUT"),
        "users list says so"
    );

    // The rules replayed over the stored directory: each host's fate with its rule.
    let raw = include_str!("../../events/zoom/recording.completed.json");
    let event = |host: &str| {
        let mut v: serde_json::Value = serde_json::from_str(raw).unwrap();
        v["payload"]["object"]["host_email"] = host.into();
        v["payload"]["object"]["host_id"] = "not-in-the-directory".into();
        v["payload"]["account_id"] = format!("{tenant}-ACC").into();
        v["payload"]["object"]["account_id"] = format!("{tenant}-ACC").into();
        shared::zoom::ingest::recording(v.to_string().as_bytes()).unwrap()
    };
    let replay = |host: &'static str| {
        let conn = conn.clone();
        let store = store.clone();
        let rec = event(host);
        async move {
            shared::explain::replay(&rec, &conn, &store, chrono::Utc::now())
                .await
                .unwrap()
        }
    };
    let prof = replay("prof@uni.edu").await;
    assert!(
        prof.contains(&"owner: prof (rule host_email)".to_owned()),
        "{prof:#?}"
    );
    assert!(
        prof.contains(&"categories: Lectures, Staff".to_owned()),
        "{prof:#?}"
    );
    assert!(
        prof.iter()
            .any(|l| l.starts_with("file ")
                && l.ends_with("not archived: filters.files.chat is off")),
        "{prof:#?}"
    );
    for (host, rule) in [
        ("stu@uni.edu", "opt_out_group"),
        ("shy@uni.edu", "user_opt_out"),
    ] {
        let lines = replay(host).await;
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("not archived (rule {rule}): "))),
            "{host}: {lines:#?}"
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("folder:")),
            "{lines:#?}"
        );
    }
    // A stranger goes to the default owner, who is in no group: archived under opt-out, filed by kind only.
    let stranger = replay("visitor@else.org").await;
    assert!(
        stranger.contains(&"categories: Lectures".to_owned()),
        "{stranger:#?}"
    );

    // Each class of bad routing is refused with its field (exit 2) and nothing is written.
    let classes = [
        (
            groups,
            "{opt_in: [staf]}",
            stu,
            "connections[0].routing.opt_in[0]",
        ),
        (
            groups,
            "{categories: {meetings: [Lecture]}}",
            stu,
            "connections[0].routing.categories.meetings[0]",
        ),
        (
            groups,
            "{categories: {rules: [{add: [Staff]}]}}",
            stu,
            "connections[0].routing.categories.rules[0]",
        ),
        (
            groups,
            "{categories: {rules: [{topic: '(', add: [Staff]}]}}",
            stu,
            "connections[0].routing.categories.rules[0].topic",
        ),
        (
            groups,
            "{opt_in: [staff], opt_out: [staff]}",
            stu,
            "connections[0].routing.opt_out[0]",
        ),
        (groups, good, "[students, alumni]", "users[2].groups[1]"),
        (
            "[staff, students, Staff Members]",
            good,
            stu,
            "tenant.groups[2]",
        ),
    ];
    for (groups, routing, stu_groups, field) in classes {
        write(groups, routing, stu_groups);
        let problems = archiver_admin::load(&file, "archiver/")
            .unwrap()
            .unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.field == field && !p.reason.is_empty()),
            "{routing}: {problems:?}"
        );
        assert_eq!(run(cli(apply())).await.unwrap(), 2, "{routing}");
        assert_eq!(
            store.connection(&conn_id).await.unwrap().unwrap(),
            conn,
            "{routing}: nothing written"
        );
    }
}

#[tokio::test]
async fn users_import_adds_and_updates_from_csv_keeps_the_rest_unless_pruned_and_refuses_bad_rows_writing_nothing()
 {
    use shared::ports::UserDirectory;
    let (conf, res, dir) = scratch("imp").await;
    let tenant = unique("uni");
    let file = dir.join("tenant.yaml");
    std::fs::write(
        &file,
        format!(
            "tenant: {{id: {tenant}, name: Test, groups: [staff, students]}}\nconnections:\n  - {{id: {tenant}-zoom, \
             vendor: zoom, account_id: {tenant}-ACC, webhook_secret_ref: archiver/z, default_owner: media}}\n\
             users:\n  - {{id: media, email: media@uni.edu}}\n  - {{id: old, email: old@uni.edu}}\n"
        ),
    )
    .unwrap();
    let cli = |command| cli_on(&res, command);
    let apply = Command::Apply {
        file,
        secrets_prefix: "archiver/".into(),
        dry_run: false,
        prune: false,
    };
    assert_eq!(run(cli(apply)).await.unwrap(), 0);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let tid = shared::ids::TenantId::parse(&tenant).unwrap();
    let csv = dir.join("users.csv");
    let import = |dry_run, prune| Command::Users {
        action: archiver_admin::UsersAction::Import {
            tenant: tenant.clone(),
            file: csv.clone(),
            dry_run,
            prune,
        },
    };
    let ids = || async {
        let mut v: Vec<String> = store
            .snapshot(&tid)
            .await
            .unwrap()
            .users
            .into_iter()
            .map(|u| u.value.id.to_string())
            .collect();
        v.sort();
        v
    };
    std::fs::write(
        &csv,
        "id,email,name,groups,opt_out,zoom_user_ids,external_id\n\
         prof,prof@uni.edu,Prof Essor,staff,,ZOOMprof,E100\n\
         stu,stu@uni.edu,Stu Dent,students;staff,yes,,\n\
         media,media@uni.edu,Media team,,,,\n",
    )
    .unwrap();
    // A dry run shows the diff and writes nothing.
    assert_eq!(run(cli(import(true, false))).await.unwrap(), 0);
    assert_eq!(ids().await, ["media", "old"]);
    assert_eq!(run(cli(import(false, false))).await.unwrap(), 0);
    assert_eq!(ids().await, ["media", "old", "prof", "stu"], "old is kept");
    let prof = store
        .by_vendor_id(&tid, shared::ids::Vendor::Zoom, "ZOOMprof")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prof.id.as_str(), "prof");
    assert_eq!(
        store
            .by_external_id(&tid, "E100")
            .await
            .unwrap()
            .unwrap()
            .id,
        prof.id
    );
    let stu = store
        .by_id(&tid, &shared::ids::UserId::parse("stu").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stu.opt_out);
    assert_eq!(stu.groups.len(), 2);
    // Importing the same file again changes nothing.
    assert_eq!(run(cli(import(false, false))).await.unwrap(), 0);

    // Bad rows: every problem named by its line, exit 2, nothing written.
    for bad in [
        "id,email,groups\nann,ann@uni.edu,alumni\n",
        "id,email\nann,not-an-email\n",
        "id,email,phone\nann,ann@uni.edu,123\n",
        "id,email,status\nann,ann@uni.edu,gone\n",
        "id,email\nann,ann@uni.edu\nann,other@uni.edu\n",
    ] {
        std::fs::write(&csv, bad).unwrap();
        assert_eq!(run(cli(import(false, false))).await.unwrap(), 2, "{bad}");
        assert_eq!(ids().await, ["media", "old", "prof", "stu"], "{bad}");
    }
    // --prune makes the file the whole directory, but never removes a connection's default owner.
    std::fs::write(&csv, "id,email\nprof,prof@uni.edu\n").unwrap();
    assert_eq!(run(cli(import(false, true))).await.unwrap(), 2);
    assert_eq!(ids().await, ["media", "old", "prof", "stu"]);
    std::fs::write(&csv, "id,email\nprof,prof@uni.edu\nmedia,media@uni.edu\n").unwrap();
    assert_eq!(run(cli(import(false, true))).await.unwrap(), 0);
    assert_eq!(ids().await, ["media", "prof"]);
    assert!(
        store
            .by_email(&tid, &shared::ids::Email::parse("old@uni.edu").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a pruned user's e-mail finds nobody"
    );
    // An unknown tenant.
    let nowhere = Command::Users {
        action: archiver_admin::UsersAction::Import {
            tenant: "no-such-tenant".into(),
            file: csv.clone(),
            dry_run: false,
            prune: false,
        },
    };
    assert_eq!(run(cli(nowhere)).await.unwrap(), 1);
}

#[tokio::test]
async fn users_sync_brings_zoom_users_in_blocks_deactivated_ones_keeps_the_admins_fields_and_cms_ids_are_read()
 {
    use shared::ports::UserDirectory;
    use zoom_sim::{UserSpec, UserStatus, ZoomSim};
    let sim = ZoomSim::start().await.unwrap();
    sim.set_s2s_account(&unique("SYNCACCT"));
    let (conf, res) = provision(&unique("sync")).await.unwrap();
    // Zoom's groups: "Chemistry Faculty" is a tenant group (`chemistry-faculty`), "Admins" is not.
    let host = sim.add_user(
        UserSpec::realistic(&unique("ann.lee")).in_groups(&["Chemistry Faculty", "Admins"]),
    );
    let gone =
        sim.add_user(UserSpec::realistic(&unique("bob.ross")).with_status(UserStatus::Inactive));
    let new =
        sim.add_user(UserSpec::realistic(&unique("cy.new")).in_groups(&["Chemistry Faculty"]));
    let tenant = archiver_tests::apply_tenant_with_zoom_api_shaped(
        &conf,
        &res["ConfigTable"],
        &sim,
        Some((&host.id, &host.email)),
        serde_json::json!({"mode": "retain"}),
        |f| {
            f["tenant"]["groups"] = serde_json::json!(["staff", "chemistry-faculty"]);
            f["users"][1]["groups"] = serde_json::json!(["staff"]);
        },
    )
    .await
    .unwrap();
    let cli = |command| cli_on(&res, command);
    let sync = |dry_run| Command::Users {
        action: archiver_admin::UsersAction::Sync {
            connection: tenant.connection.clone(),
            dry_run,
        },
    };
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let tid = shared::ids::TenantId::parse(&tenant.tenant).unwrap();
    let count = || async { store.snapshot(&tid).await.unwrap().users.len() };
    assert_eq!(count().await, 2, "media-team and host-user");
    assert_eq!(run(cli(sync(true))).await.unwrap(), 0);
    assert_eq!(count().await, 2, "a dry run writes nothing");
    assert_eq!(run(cli(sync(false))).await.unwrap(), 0);
    assert_eq!(count().await, 4);
    // The host was matched by Zoom id: id and groups kept.
    let h = store
        .by_vendor_id(&tid, shared::ids::Vendor::Zoom, &host.id)
        .await
        .unwrap()
        .unwrap();
    // … and is in Zoom's group too, which the tenant has; the admin's own group stays.
    let groups: Vec<&str> = h.groups.iter().map(|g| g.as_str()).collect();
    assert_eq!(
        (h.id.as_str(), groups),
        ("host-user", vec!["staff", "chemistry-faculty"])
    );
    // The deactivated user is blocked; the new one active, found by Zoom id and e-mail, named by Zoom.
    let b = store
        .by_vendor_id(&tid, shared::ids::Vendor::Zoom, &gone.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.status, shared::config::UserStatus::Blocked);
    let c = store
        .by_email(&tid, &shared::ids::Email::parse(&new.email).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, shared::config::UserStatus::Active);
    assert_eq!(c.name, format!("{} {}", new.first_name, new.last_name));
    assert_eq!(c.vendor_ids[0].id, new.id);
    assert_eq!(
        c.groups.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        ["chemistry-faculty"]
    );
    // Reactivated at Zoom: active again. A second sync otherwise changes nothing.
    sim.set_user_status(&gone.id, UserStatus::Active);
    assert_eq!(run(cli(sync(false))).await.unwrap(), 0);
    let b = store.by_id(&tid, &b.id).await.unwrap().unwrap();
    assert_eq!(b.status, shared::config::UserStatus::Active);
    assert_eq!(count().await, 4);
    // The owner stage's question to Zoom: the host's SAML-mapped cms_user_id (GET /users/{id}).
    use shared::owner::HostSource;
    let mapped = sim.add_user(UserSpec::realistic(&unique("dee.saml")).with_cms_user_id("k-900"));
    let id = ConnectionId::parse(&tenant.connection).unwrap();
    let mut conn = store.connection(&id).await.unwrap().unwrap();
    conn.owner.name_from = shared::config::NameFrom::CmsUserId;
    let hosts = shared::zoom::hosts::ZoomHosts(shared::aws::zoom_connections(&conf));
    let key = shared::fakes::contract::sample_key(&unique("cms"));
    let mut rec = shared::fakes::contract::sample_recording(
        &key,
        shared::model::RecordingState::PendingOwner,
        &[],
        false,
    );
    rec.host_id = Some(mapped.id.clone());
    let facts = hosts.host_facts(&conn, &rec).await.unwrap();
    assert_eq!(
        (facts.cms_user_id.as_deref(), facts.asked),
        (Some("k-900"), true)
    );
    rec.host_id = Some(host.id.clone());
    let facts = hosts.host_facts(&conn, &rec).await.unwrap();
    assert_eq!(
        (facts.cms_user_id, facts.asked),
        (None, true),
        "a user without one"
    );
    rec.host_id = Some("not-at-zoom".into());
    let facts = hosts.host_facts(&conn, &rec).await.unwrap();
    assert_eq!(
        (facts.cms_user_id, facts.asked),
        (None, true),
        "an unknown user (404)"
    );

    // Not a connection.
    let nowhere = Command::Users {
        action: archiver_admin::UsersAction::Sync {
            connection: "zoom-nowhere".into(),
            dry_run: false,
        },
    };
    assert_eq!(run(cli(nowhere)).await.unwrap(), 1);
}

/// `users sync` on a Webex connection: the org's people (every page of `GET /people`) come in; a host already
/// in the directory gains their person id and keeps their fields; a person who cannot sign in is blocked; a
/// bot is left out.
#[tokio::test]
async fn users_sync_brings_webex_people_in_and_blocks_the_deactivated() {
    use shared::ports::UserDirectory;
    use webex_sim::{PersonSpec, WebexSim};
    let sim = WebexSim::start().await.unwrap();
    let (conf, res) = provision(&unique("wsync")).await.unwrap();
    let host_email = format!("{}@example.edu", unique("host"));
    let tenant = archiver_tests::apply_webex_tenant(
        &conf,
        &res["ConfigTable"],
        &sim,
        &host_email,
        None,
        serde_json::json!({"mode": "retain"}),
    )
    .await
    .unwrap();
    let host = sim.add_person(PersonSpec {
        email: host_email.clone(),
        ..PersonSpec::realistic("host")
    });
    let gone = sim.add_person(PersonSpec {
        login_enabled: false,
        ..PersonSpec::realistic(&unique("left.uni"))
    });
    // Enough people for several pages.
    let many: Vec<PersonSpec> = (0..12)
        .map(|i| sim.add_person(PersonSpec::realistic(&unique(&format!("staff{i}")))))
        .collect();
    sim.add_person(PersonSpec {
        kind: "bot".into(),
        ..PersonSpec::realistic(&unique("bot"))
    });
    let sync = Command::Users {
        action: archiver_admin::UsersAction::Sync {
            connection: tenant.connection.clone(),
            dry_run: false,
        },
    };
    assert_eq!(run(cli_on(&res, sync)).await.unwrap(), 0);
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let tid = shared::ids::TenantId::parse(&tenant.tenant).unwrap();
    let by_person = |id: String| {
        let store = store.clone();
        let tid = tid.clone();
        async move {
            store
                .by_vendor_id(&tid, shared::ids::Vendor::Webex, &id)
                .await
                .unwrap()
        }
    };
    let h = by_person(host.id.clone())
        .await
        .expect("the host, by person id");
    assert_eq!(h.id.as_str(), "host-user", "matched by e-mail, its id kept");
    let g = by_person(gone.id.clone())
        .await
        .expect("the deactivated one");
    assert_eq!(g.status, shared::config::UserStatus::Blocked);
    for p in &many {
        let u = by_person(p.id.clone()).await.expect("every page read");
        assert_eq!(u.status, shared::config::UserStatus::Active);
    }
    // media-team, host-user, cohost-user + the deactivated one + 12; the bot is not taken.
    assert_eq!(store.snapshot(&tid).await.unwrap().users.len(), 3 + 1 + 12);
    // Pages of 5: every page is followed.
    let conn = shared::ports::ConfigStore::connection(
        &store,
        &ConnectionId::parse(&tenant.connection).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let api = shared::webex::WebexConnections::api(
        &shared::aws::webex_connections(&conf).with_page_size(5),
        &conn,
    )
    .await
    .unwrap();
    let listed = archiver_admin::users::webex_people(api.as_ref())
        .await
        .unwrap();
    assert_eq!(
        (listed.people.len(), listed.notes.len()),
        (14, 1),
        "{:?}",
        listed.notes
    );
}
