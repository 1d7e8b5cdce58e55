//! Webhook validator: HTTP entry point for Zoom and Webex webhooks.

use lambda_http::{Body, Error, Request, Response, run, service_fn};
use shared::aws::Clients;
use shared::aws::secrets::{CachedSecrets, SecretsManager};
use shared::batch::{Handler, Invocation};
use shared::settings::Env;
use webhook_validator::handler::{Incoming, Validator};
use webhook_validator::settings::Settings;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings::from_env(&Env::process())?;
    let aws = Clients::load().await;
    let validator = Validator {
        config: aws.config(&settings.config_table),
        secrets: CachedSecrets::new(
            SecretsManager::new(aws.secrets.clone()),
            settings.secret_cache_ttl,
        ),
        events: aws.queue(&settings.events_queue_url),
    };
    let validator = &validator;
    run(service_fn(move |req: Request| async move {
        let headers = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        let incoming = Incoming {
            method: req.method().as_str().to_owned(),
            path: req.uri().path().to_owned(),
            headers,
            body: req.body().to_vec(),
        };
        let reply = validator.handle(incoming, &Invocation::now()).await;
        Response::builder()
            .status(reply.status)
            .header("content-type", "application/json")
            .body(Body::from(reply.body))
            .map_err(Error::from)
    }))
    .await
}
