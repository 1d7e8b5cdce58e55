//! What every HTTP client of ours shares: reading `Retry-After`, back-off with jitter, and describing a
//! reqwest error without its URL (URLs may carry signatures or tokens).

use std::time::Duration;

/// How a vendor REST client retries: attempts, the longest wait it sleeps through, and the back-off.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// A `Retry-After` longer than this is not slept through: the call fails as retryable, carrying the
    /// wait, and the queue brings the message back after it.
    pub max_wait: Duration,
    /// First back-off step for 5xx and network errors; doubles per attempt, with jitter.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_wait: Duration::from_secs(30),
            backoff: Duration::from_millis(500),
        }
    }
}

/// The HTTP client of the vendors' REST APIs: 10 s to connect, 60 s per call, our user agent.
pub fn api_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("recording-archiver/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("static HTTP client configuration")
}

/// The longest wait we take from a `Retry-After` (a day): anything longer is treated as a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// `Retry-After` as seconds (`120`) or as an HTTP date (`Tue, 01 Dec 2026 10:00:00 GMT`), relative to `now`;
/// a date in the past means "now". Capped at [`MAX_RETRY_AFTER`].
pub fn retry_after_value(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The `Retry-After` of a response, if it has a readable one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    retry_after_value(v, chrono::Utc::now())
}

/// Exponential back-off from `base` for the `attempt`-th retry (1-based), capped at `cap`, with "full jitter"
/// in its upper half (so many workers that failed together do not return together).
pub fn backoff(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)));
    let top = exp.min(cap);
    let half = top / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// A reqwest error as text without its URL: the kind (timeout, connect, body, …) and the chain of causes.
pub fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body interrupted"
    } else if e.is_redirect() {
        "redirect"
    } else {
        "request"
    };
    let mut msg = kind.to_owned();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        // hyper/reqwest causes do not print URLs; keep it that way even if a cause changes.
        if !text.contains("://") {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        assert_eq!(retry_after_value(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after_value("Tue, 01 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after_value("Tue, 01 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past: now"
        );
        assert_eq!(retry_after_value("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after_value("soon", now), None);
    }

    #[test]
    fn backoff_grows_stays_under_the_cap_and_jitters() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 1..10 {
            let d = backoff(base, attempt, cap);
            let top = (base * 2u32.pow(attempt - 1)).min(cap);
            assert!(d >= top / 2 && d <= top, "attempt {attempt}: {d:?}");
        }
        let waits: std::collections::HashSet<_> = (0..20).map(|_| backoff(base, 5, cap)).collect();
        assert!(waits.len() > 1, "jittered");
    }
}
