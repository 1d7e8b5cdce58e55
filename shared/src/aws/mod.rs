//! AWS adapters of the ports, and client construction.

pub mod catalog;
pub mod config;
pub mod dlq;
pub mod error;
pub mod s3;
pub mod secrets;
pub mod sqs;

/// The AWS clients of a function, built once at cold start from one SDK configuration (region, credentials,
/// and `AWS_ENDPOINT_URL` for local stacks). Building a client makes no call, so every function gets all.
#[derive(Clone, Debug)]
pub struct Clients {
    pub sdk: aws_config::SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub async fn load() -> Self {
        let sdk = sdk_config().await;
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            s3: s3_client(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            sdk,
        }
    }
    /// The config table as [`config::DynamoConfig`].
    pub fn config(&self, table: &str) -> config::DynamoConfig {
        config::DynamoConfig::new(self.dynamodb.clone(), table)
    }
    /// The catalog table as [`catalog::DynamoCatalog`].
    pub fn catalog(&self, table: &str) -> catalog::DynamoCatalog {
        catalog::DynamoCatalog::new(self.dynamodb.clone(), table)
    }
    /// One queue as [`sqs::SqsQueue`].
    pub fn queue(&self, url: &str) -> sqs::SqsQueue {
        sqs::SqsQueue::new(self.sqs.clone(), url)
    }
    /// The visibility changes of [`crate::batch::serve`] (`Outcome::RetryAfter`), as [`sqs::SqsVisibility`].
    pub fn visibility(&self) -> sqs::SqsVisibility {
        sqs::SqsVisibility::new(self.sqs.clone())
    }
    /// The Webex API clients: credentials read from and rotated into Secrets Manager.
    pub fn webex(&self) -> crate::webex::HttpWebexConnections {
        webex_connections(&self.sdk)
    }
    /// The Zoom API clients: Server-to-Server OAuth credentials read from Secrets Manager.
    pub fn zoom(&self) -> crate::zoom::api::HttpZoomConnections {
        zoom_connections(&self.sdk)
    }
}

/// Loads the shared SDK configuration once (region, credentials, and `AWS_ENDPOINT_URL` for local stacks).
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// An S3 client; path-style addressing so that local endpoints work. Response checksums are validated when
/// a call asks for them (`ChecksumMode::Enabled`), not on every read: the whole-object SHA-256 is our check of
/// what was stored, and local S3 stand-ins answer multipart objects with a composite CRC32 that the SDK would
/// wrongly compare against the whole body.
pub fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .build(),
    )
}

/// The Zoom API clients of a function: credentials read from Secrets Manager.
pub fn zoom_connections(conf: &aws_config::SdkConfig) -> crate::zoom::api::HttpZoomConnections {
    crate::zoom::api::HttpZoomConnections::new(
        std::sync::Arc::new(secrets::SecretsManager::new(
            aws_sdk_secretsmanager::Client::new(conf),
        )),
        crate::zoom::api::RetryPolicy::default(),
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
