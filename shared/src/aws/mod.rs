//! AWS adapters of the ports, and client construction.

pub mod catalog;
pub mod config;
pub mod s3;
pub mod secrets;
pub mod sqs;

/// Loads the shared SDK configuration once (region, credentials, and `AWS_ENDPOINT_URL` for local stacks).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// An S3 client; path-style addressing so that local endpoints work.
pub fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// The Webex API clients of a function: credentials read from and rotated into Secrets Manager.
pub fn webex_connections(conf: &aws_config::SdkConfig) -> crate::webex::HttpWebexConnections {
    crate::webex::HttpWebexConnections::new(
        std::sync::Arc::new(secrets::SecretsManager::new(
            aws_sdk_secretsmanager::Client::new(conf),
        )),
        crate::webex::api::RetryPolicy::default(),
    )
}
