//! The admin CLI against moto: validation errors change nothing, apply writes secrets and records, show
//! answers "not found" with exit code 1.

use archiver_admin::{Cli, Command, run};
use archiver_tests::{provision, unique};
use shared::ids::ConnectionId;
use shared::ports::{ConfigStore, SecretStore};

#[tokio::test]
async fn apply_validates_then_writes_secrets_and_config() {
    let (conf, res) = provision(&unique("adm")).await.unwrap();
    let dir = std::env::temp_dir().join(unique("admin"));
    std::fs::create_dir_all(&dir).unwrap();
    let var = format!("ADMIN_TEST_SECRET_{}", std::process::id());
    let tenant = unique("uni");
    let file = dir.join("tenant.yaml");
    let yaml = format!(
        "tenant: {{id: {tenant}, name: Test}}\nconnections:\n  - {{id: {tenant}-zoom, vendor: zoom, account_id: ACC1, webhook_secret_env: {var}, default_owner: media}}\nusers:\n  - {{id: media, email: media@example.edu}}\n"
    );
    std::fs::write(&file, &yaml).unwrap();
    let cli = |command| Cli {
        config_table: res["ConfigTable"].clone(),
        catalog_table: res["CatalogTable"].clone(),
        owner_queue_url: res["OwnerQueue"].clone(),
        media_bucket: res["MediaBucket"].clone(),
        command,
    };
    let apply = |dry_run| Command::Apply {
        file: file.clone(),
        secrets_prefix: "archiver/".into(),
        dry_run,
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
        vendor: "zoom".into(),
        account: "ACC1".into(),
        instance: "/none//x==".into(),
    };
    assert_eq!(run(cli(show)).await.unwrap(), 1);
    let list = Command::List {
        tenant: tenant.clone(),
        state: "bogus".into(),
        limit: 5,
    };
    assert_eq!(run(cli(list)).await.unwrap(), 2);
}
