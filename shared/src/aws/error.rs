//! AWS SDK errors into [`Error`]: throttling, timeouts, dispatch failures and 5xx are retryable, and so are
//! access and KMS refusals (during a deploy, a role's new policy or a key grant takes a while to reach every
//! region endpoint; a real misconfiguration ends in the dead-letter queue and the sweep's report, not in a
//! silently dropped message). Validation errors, missing resources and the like are not. The SDK error is kept
//! as the source.

use crate::error::{Class, Error, Kind};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Service error codes that heal by themselves (any service: DynamoDB, S3, SQS, Secrets Manager, KMS).
fn retryable_code(code: &str) -> bool {
    code.contains("Throttl")
        || code.contains("ProvisionedThroughputExceeded")
        || matches!(
            code,
            "RequestLimitExceeded"
                | "InternalServerError"
                | "InternalError"
                | "ServiceUnavailable"
                | "InternalFailure"
                | "SlowDown"
                | "TransactionConflict"
                | "RequestTimeout"
                | "AccessDenied"
                | "AccessDeniedException"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "UnrecognizedClientException"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
        )
        || code.starts_with("KMS")
        || code.starts_with("Kms")
}

/// Service error codes that mean "no such thing".
fn missing_code(code: &str) -> bool {
    matches!(
        code,
        "NoSuchUpload" | "NoSuchKey" | "NotFound" | "ResourceNotFoundException"
    )
}

/// The HTTP response type of every AWS SDK client.
type Response = aws_sdk_dynamodb::config::http::HttpResponse;

/// Classifies an AWS SDK error: by its code, and a 5xx answer without one (an unreadable error body) as
/// retryable.
pub fn classify_sdk<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> Class {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Class::Retryable
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code();
            let heals = retryable_code(code.unwrap_or_default())
                || (code.is_none() && se.raw().status().is_server_error());
            if heals {
                Class::Retryable
            } else {
                Class::Permanent
            }
        }
        _ => Class::Retryable,
    }
}

/// Converts an SDK error into [`Error`] of kind [`Kind::Aws`], with its class, the operation and the SDK error
/// as the source.
pub fn sdk_error<E>(op: &str, err: SdkError<E, Response>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string();
    let missing = err
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(missing_code);
    let kind = if missing { Kind::NotFound } else { Kind::Aws };
    Error::new(classify_sdk(&err), kind, message)
        .op(op)
        .caused_by(err)
}

/// Whether the error is DynamoDB's answer to a failed condition (the transition was not allowed).
pub fn is_conditional<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_access_and_kms_refusals_heal_validation_errors_do_not() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "SlowDown",
            "AccessDenied",
            "AccessDeniedException",
            "KMSThrottlingException",
            "KMS.DisabledException",
            "ExpiredToken",
        ] {
            assert!(retryable_code(code), "{code}");
        }
        for code in [
            "ValidationException",
            "NoSuchBucket",
            "InvalidPart",
            "MalformedXML",
        ] {
            assert!(!retryable_code(code), "{code}");
        }
        assert!(missing_code("NoSuchUpload") && missing_code("NoSuchKey"));
        // A missing bucket is a deployment error, not an upload that went away.
        assert!(!missing_code("NoSuchBucket"));
    }
}
