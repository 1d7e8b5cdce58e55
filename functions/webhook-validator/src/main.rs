//! Webhook validator: HTTP entry point for Zoom (and later Webex) webhooks.

use webhook_validator::handler;

use handler::{Incoming, Validator};
use lambda_http::{Body, Error, Request, Response, run, service_fn};
use shared::aws::{
    config::DynamoConfig,
    secrets::{CachedSecrets, SecretsManager},
    sqs::SqsQueue,
};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config_table = shared::telemetry::env("CONFIG_TABLE")?;
    let events_url = shared::telemetry::env("EVENTS_QUEUE_URL")?;
    let ttl = std::env::var("SECRET_CACHE_TTL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let aws = shared::aws::sdk_config().await;
    let validator = Validator {
        config: DynamoConfig::new(aws_sdk_dynamodb::Client::new(&aws), config_table),
        secrets: CachedSecrets::new(
            SecretsManager::new(aws_sdk_secretsmanager::Client::new(&aws)),
            Duration::from_secs(ttl),
        ),
        events: SqsQueue::new(aws_sdk_sqs::Client::new(&aws), events_url),
    };
    let validator = &validator;
    run(service_fn(move |req: Request| async move {
        let headers = req.headers().clone();
        let header = move |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let reply = validator
            .handle(Incoming {
                method: req.method().as_str(),
                path: req.uri().path(),
                header: &header,
                body: req.body().as_ref(),
                now_secs: chrono::Utc::now().timestamp(),
            })
            .await;
        Response::builder()
            .status(reply.status)
            .header("content-type", "application/json")
            .body(Body::from(reply.body))
            .map_err(Error::from)
    }))
    .await
}
