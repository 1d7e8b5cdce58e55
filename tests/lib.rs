//! Support for the integration and end-to-end tests: AWS resources on the local endpoint, created from
//! `template.yaml` under a unique stack name so tests can share one moto server.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A name that no other test (or earlier run against the same moto) uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % 1_000_000_000;
    format!("{prefix}-{t}-{}", N.fetch_add(1, Ordering::SeqCst))
}

/// The SDK configuration for the local endpoint. Integration tests need `AWS_ENDPOINT_URL` (the README's
/// test command starts moto and sets it).
pub async fn aws() -> Result<aws_config::SdkConfig> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").context(
        "AWS_ENDPOINT_URL is not set: run the tests with ./infra/test.sh, or start moto (infra/bootstrap.sh; \
         .venv-aws/bin/moto_server -p 5000) and export AWS_ENDPOINT_URL=http://127.0.0.1:5000",
    )?;
    anyhow::ensure!(!endpoint.is_empty(), "AWS_ENDPOINT_URL is empty");
    export_aws_env(&endpoint);
    Ok(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}

/// Sets `AWS_ENDPOINT_URL` and test credentials and region for whatever is not set yet, so that code which
/// finds AWS through the environment (the SDK defaults, `archiver_admin::run` like the CLI) uses the local
/// endpoint. Call it before other threads read the environment.
pub fn export_aws_env(endpoint: &str) {
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none_or(|set| set.is_empty()) {
            // SAFETY: called before any SDK client or scenario reads the environment; real credentials are
            // never needed for the local endpoint.
            unsafe { std::env::set_var(k, v) };
        }
    }
}

/// Creates every resource of `template.yaml` for `stack` and returns logical id → physical name
/// (table name, queue URL, bucket name).
pub async fn provision(stack: &str) -> Result<(aws_config::SdkConfig, BTreeMap<String, String>)> {
    let conf = aws().await?;
    let text = std::fs::read_to_string(repo_root().join("template.yaml"))?;
    let template = local_stack::template::Template::parse(&text)?;
    let mut plan = template.plan(stack, "us-east-1")?;
    local_stack::provision::provision(&local_stack::provision::Clients::new(&conf), &mut plan)
        .await?;
    Ok((conf, plan.context.refs().clone()))
}

/// A tenant with one Zoom connection whose account is the simulated recording's, the host as a user, and a
/// default owner. Downloads are allowed from the simulator's two host names only.
pub struct TestTenant {
    pub tenant: String,
    pub connection: String,
    pub secret: String,
    pub config: shared::config::TenantConfig,
}

/// Validates a tenant file (JSON) with `env` for its variables and writes it as `archiver-admin apply` does:
/// secrets first, then the records.
async fn apply_file(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    file: serde_json::Value,
    env: impl Fn(&str) -> Option<String>,
) -> Result<shared::config::TenantConfig> {
    let file: shared::config_file::ConfigFile = serde_json::from_value(file)?;
    let config = file
        .validate("archiver/", env)
        .map_err(|p| anyhow::anyhow!("invalid test tenant: {p:?}"))?;
    let secrets =
        shared::aws::secrets::SecretsManager::new(aws_sdk_secretsmanager::Client::new(conf));
    for s in &config.secrets {
        secrets.put(&s.secret_id, &s.value).await?;
    }
    shared::aws::config::DynamoConfig::new(aws_sdk_dynamodb::Client::new(conf), config_table)
        .apply(&config)
        .await?;
    Ok(config)
}

/// Applies a [`TestTenant`] through the same validation and writes as `archiver-admin apply`.
pub async fn apply_tenant(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    account_id: &str,
    host: Option<(&str, &str)>,
    delete_plan: serde_json::Value,
) -> Result<TestTenant> {
    apply_tenant_shaped(conf, config_table, account_id, host, delete_plan, |_| ()).await
}

/// A [`TestTenant`] like [`apply_tenant`]'s whose file `shape` changes before it is applied (groups,
/// categories, routing, filters…): the file has the tenant, one connection (`connections[0]`) and the users
/// `media-team` and, with `host`, `host-user` (`users[1]`).
pub async fn apply_tenant_shaped(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    account_id: &str,
    host: Option<(&str, &str)>,
    delete_plan: serde_json::Value,
    shape: impl FnOnce(&mut serde_json::Value),
) -> Result<TestTenant> {
    apply_zoom_tenant(
        conf,
        config_table,
        account_id,
        host,
        delete_plan,
        None,
        shape,
    )
    .await
}

/// A [`TestTenant`] whose Zoom connection also has API credentials: the simulator's Server-to-Server OAuth
/// app, stored through `credentials_env` as an admin would, with the API (`/v2`) and token endpoint at the
/// simulator. A download whose webhook token is refused then gets a fresh `download_access_token` from the
/// API. The connection's account is the S2S app's: give the simulated recordings that account.
pub async fn apply_tenant_with_zoom_api(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    sim: &zoom_sim::ZoomSim,
    host: Option<(&str, &str)>,
    delete_plan: serde_json::Value,
) -> Result<TestTenant> {
    apply_tenant_with_zoom_api_shaped(conf, config_table, sim, host, delete_plan, |_| ()).await
}

/// [`apply_tenant_with_zoom_api`] with the file changed by `shape` first (see [`apply_tenant_shaped`]).
pub async fn apply_tenant_with_zoom_api_shaped(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    sim: &zoom_sim::ZoomSim,
    host: Option<(&str, &str)>,
    delete_plan: serde_json::Value,
    shape: impl FnOnce(&mut serde_json::Value),
) -> Result<TestTenant> {
    let account = sim.s2s_app().account_id;
    apply_zoom_tenant(
        conf,
        config_table,
        &account,
        host,
        delete_plan,
        Some(sim),
        shape,
    )
    .await
}

async fn apply_zoom_tenant(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    account_id: &str,
    host: Option<(&str, &str)>,
    delete_plan: serde_json::Value,
    api: Option<&zoom_sim::ZoomSim>,
    shape: impl FnOnce(&mut serde_json::Value),
) -> Result<TestTenant> {
    let tenant = unique("uni");
    let connection = unique("zoom");
    let secret = format!("whsec-{}", unique("s"));
    let mut users = vec![
        serde_json::json!({"id": "media-team", "email": format!("media@{tenant}.example.edu")}),
    ];
    if let Some((host_id, host_email)) = host {
        users.push(
            serde_json::json!({"id": "host-user", "email": host_email, "zoom_user_ids": [host_id]}),
        );
    }
    let mut conn = serde_json::json!({
        "id": connection, "vendor": "zoom", "account_id": account_id,
        "webhook_secret_env": "TEST_WEBHOOK_SECRET", "default_owner": "media-team",
        "download_hosts": ["127.0.0.1", "localhost"], "delete_plan": delete_plan
    });
    let mut credentials = None;
    if let Some(sim) = api {
        let app = sim.s2s_app();
        credentials = Some(
            serde_json::json!({
                "account_id": app.account_id, "client_id": app.client_id, "client_secret": app.client_secret,
            })
            .to_string(),
        );
        conn["credentials_env"] = "TEST_ZOOM_CREDENTIALS".into();
        conn["api_base_url"] = format!("{}/v2", sim.api_base()).into();
        conn["oauth_base_url"] = sim.api_base().into();
    }
    let mut file = serde_json::json!({
        "tenant": {"id": tenant, "name": "Test University"},
        "connections": [conn],
        "users": users,
    });
    shape(&mut file);
    let env = |v: &str| match v {
        "TEST_WEBHOOK_SECRET" => Some(secret.clone()),
        "TEST_ZOOM_CREDENTIALS" => credentials.clone(),
        _ => None,
    };
    let config = apply_file(conf, config_table, file, env).await?;
    Ok(TestTenant {
        tenant,
        connection,
        secret,
        config,
    })
}

/// The credentials JSON (`shared::webex::auth::Credentials`) of a fresh simulator grant.
pub fn webex_credentials_json(sim: &webex_sim::WebexSim) -> String {
    let c = sim.integration_credentials();
    serde_json::json!({
        "kind": "integration",
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "access_token": c.access_token,
        "expires_at": c.expires_at.to_rfc3339(),
        "refresh_token": c.refresh_token,
    })
    .to_string()
}

/// A tenant with one Webex connection to the simulator's org: API and OAuth at the simulator, downloads
/// allowed from 127.0.0.1 only, credentials stored through `credentials_env` as an admin would. With
/// `webhook_secret` `None` the secret is left for `archiver-admin webex-webhooks ensure` to generate.
pub async fn apply_webex_tenant(
    conf: &aws_config::SdkConfig,
    config_table: &str,
    sim: &webex_sim::WebexSim,
    host_email: &str,
    webhook_secret: Option<&str>,
    delete_plan: serde_json::Value,
) -> Result<TestTenant> {
    let tenant = unique("uni");
    let connection = unique("webex");
    let creds = webex_credentials_json(sim);
    let mut conn = serde_json::json!({
        "id": connection, "vendor": "webex", "account_id": sim.org_id(),
        "credentials_env": "TEST_WEBEX_CREDENTIALS", "default_owner": "media-team",
        "api_base_url": sim.api_base(), "oauth_base_url": sim.api_base(),
        "download_hosts": ["127.0.0.1"], "delete_plan": delete_plan
    });
    if webhook_secret.is_some() {
        conn["webhook_secret_env"] = "TEST_WEBHOOK_SECRET".into();
    }
    let file = serde_json::json!({
        "tenant": {"id": tenant, "name": "Test University"},
        "connections": [conn],
        "users": [
            {"id": "media-team", "email": format!("media@{tenant}.example.edu")},
            {"id": "host-user", "email": host_email},
            {"id": "cohost-user", "email": cohost_email(host_email)},
        ],
    });
    let secret = webhook_secret.unwrap_or_default().to_owned();
    let env = |v: &str| match v {
        "TEST_WEBHOOK_SECRET" => Some(secret.clone()),
        "TEST_WEBEX_CREDENTIALS" => Some(creds.clone()),
        _ => None,
    };
    let config = apply_file(conf, config_table, file, env).await?;
    Ok(TestTenant {
        tenant,
        connection,
        secret,
        config,
    })
}

/// The first co-host `webex_sim::MeetingSpec::realistic` invents for a host (a directory user in
/// [`apply_webex_tenant`]).
pub fn cohost_email(host_email: &str) -> String {
    let domain = host_email.split_once('@').map_or("example.com", |(_, d)| d);
    format!("cohost1@{domain}")
}
