//! Error classification shared by every function: a failure is either worth retrying or not.

/// Whether a failure can go away by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Throttling, 5xx, timeouts, dropped connections: retry through the queue.
    Retryable,
    /// Bad input, refused access, HTML instead of media: record it and stop.
    Permanent,
}

/// Errors of the ports and adapters.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("transient: {0}")]
    Transient(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

impl Error {
    pub fn class(&self) -> Class {
        match self {
            Error::Transient(_) => Class::Retryable,
            Error::Permanent(_) => Class::Permanent,
        }
    }
    pub fn transient(e: impl std::fmt::Display) -> Self {
        Error::Transient(e.to_string())
    }
    pub fn permanent(e: impl std::fmt::Display) -> Self {
        Error::Permanent(e.to_string())
    }
}

/// Classifies an AWS SDK error: throttling, timeouts, dispatch failures and 5xx are retryable; the rest are
/// not (validation errors, missing resources, access denied).
pub fn classify_sdk<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> Class
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Class::Retryable
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            if code.contains("Throttl")
                || code.contains("ProvisionedThroughputExceeded")
                || code == "RequestLimitExceeded"
                || code == "InternalServerError"
                || code == "ServiceUnavailable"
                || code == "InternalFailure"
                || code == "SlowDown"
                || code == "TransactionConflict"
            {
                Class::Retryable
            } else {
                Class::Permanent
            }
        }
        _ => Class::Retryable,
    }
}

/// Converts any SDK error into [`Error`] with its class and a message that names the operation.
pub fn sdk_error<E, R>(op: &str, err: aws_sdk_dynamodb::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let class = classify_sdk(&err);
    let msg = format!(
        "{op}: {}",
        aws_sdk_dynamodb::error::DisplayErrorContext(&err)
    );
    match class {
        Class::Retryable => Error::Transient(msg),
        Class::Permanent => Error::Permanent(msg),
    }
}
