//! Logging setup shared by the functions and tools.

/// Initialises the Lambda runtime's subscriber (level from `AWS_LAMBDA_LOG_LEVEL`/`RUST_LOG`, JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .try_init();
}
