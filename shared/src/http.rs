//! What every HTTP client of ours shares: reading `Retry-After`, back-off with jitter, judging a vendor API's
//! answer by one rule ([`RetryPolicy::judge`]), and describing a reqwest error without its URL (URLs may carry
//! signatures or tokens).

use crate::error::{Class, Error, Kind};
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

/// Spaces a client's requests at least an interval apart: an admin's limit on top of the vendor's own (a
/// backfill that must leave room for everything else sharing the account's API quota). Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    interval: Duration,
    next: std::sync::Arc<tokio::sync::Mutex<Option<tokio::time::Instant>>>,
}

impl Pacer {
    /// At most `rate` requests a second; `None` or a rate that is not positive: no limit of ours.
    pub fn per_second(rate: Option<f64>) -> Pacer {
        let interval = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r));
        Pacer {
            interval,
            ..Pacer::default()
        }
    }

    /// Waits until the next request may go.
    pub async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let mut next = self.next.lock().await;
        let now = tokio::time::Instant::now();
        let at = next.filter(|t| *t > now).unwrap_or(now);
        tokio::time::sleep_until(at).await;
        *next = Some(at + self.interval);
    }
}

/// How a vendor's REST API says "slow down", for [`RetryPolicy::judge`].
#[derive(Debug, Clone, Copy)]
pub struct Throttling {
    /// The vendor, in log lines and error messages (`Zoom`, `Webex`).
    pub vendor: &'static str,
    /// The statuses that ask us to slow down and carry `Retry-After` (Zoom: 429; Webex: 429 and 423).
    pub statuses: &'static [u16],
    /// A limit no short wait lifts (Zoom's daily limit), recognised from the answer's headers: never slept
    /// through, whatever its `Retry-After`. Its name goes into the error.
    pub long_limit: fn(&reqwest::header::HeaderMap) -> Option<&'static str>,
}

impl Throttling {
    /// A vendor without a limit that waiting a few seconds cannot lift.
    pub fn no_long_limit(_: &reqwest::header::HeaderMap) -> Option<&'static str> {
        None
    }
}

/// What to do after one answer of a vendor API ([`RetryPolicy::judge`]).
#[derive(Debug)]
pub enum Verdict {
    /// A success: read it.
    Success(reqwest::Response),
    /// Waited as told or backed off: send the request again.
    Again,
    /// An error answer that trying again now will not change: the caller reads its vendor-specific body
    /// into an error (its status classes it, [`Class::of_status`]).
    Refused(reqwest::Response),
}

impl RetryPolicy {
    /// Judges the answer to the `attempt`-th (1-based) sending of `what`, by one rule for every vendor:
    ///
    /// - a network error or a retryable status ([`Class::of_status`]: 5xx, 408, …): backed off with jitter
    ///   (or for its `Retry-After`, at most [`RetryPolicy::max_wait`]) and [`Verdict::Again`], until the last
    ///   attempt;
    /// - a throttling status ([`Throttling::statuses`]) whose `Retry-After` (1 s if none) is at most
    ///   [`RetryPolicy::max_wait`]: slept through, [`Verdict::Again`]. A longer wait, a long limit (Zoom's
    ///   daily one) or the last attempt fails *without sleeping*, retryable and carrying the wait
    ///   ([`Error::retry_after`]), so that a queue consumer brings its message back after it
    ///   (`Outcome::RetryAfter`) instead of holding a function for minutes;
    /// - anything else: [`Verdict::Refused`]. 401 (a token to refresh) and 404 are the caller's to handle
    ///   before judging.
    pub async fn judge(
        &self,
        api: &Throttling,
        sent: Result<reqwest::Response, reqwest::Error>,
        attempt: u32,
        what: &str,
    ) -> Result<Verdict, Error> {
        let last = attempt >= self.max_attempts;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let cause = describe(&e);
                if last {
                    return Err(Error::transient(cause).kind_of(Kind::Network).op(what));
                }
                tracing::warn!(
                    call = what,
                    attempt,
                    error = cause,
                    vendor = api.vendor,
                    "API call failed; retrying"
                );
                tokio::time::sleep(self.backoff(attempt)).await;
                return Ok(Verdict::Again);
            }
        };
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(Verdict::Success(resp));
        }
        if api.statuses.contains(&status) {
            let long = (api.long_limit)(resp.headers());
            let wait = retry_after(resp.headers()).unwrap_or(Duration::from_secs(1));
            if long.is_some() || last || wait > self.max_wait {
                let limit = long.unwrap_or("rate limit");
                return Err(Error::status(
                    status,
                    format!(
                        "{} {limit} (HTTP {status}), retry after {}s",
                        api.vendor,
                        wait.as_secs()
                    ),
                )
                .op(what)
                .wait(wait));
            }
            tracing::info!(
                call = what,
                status,
                vendor = api.vendor,
                wait_secs = wait.as_secs_f32(),
                "rate limited; waiting as told"
            );
            tokio::time::sleep(wait).await;
            return Ok(Verdict::Again);
        }
        if Class::of_status(status) == Class::Retryable && !last {
            let wait = retry_after(resp.headers())
                .unwrap_or_else(|| self.backoff(attempt))
                .min(self.max_wait);
            tracing::info!(
                call = what,
                status,
                vendor = api.vendor,
                wait_ms = wait.as_millis() as u64,
                "API unavailable; backing off"
            );
            tokio::time::sleep(wait).await;
            return Ok(Verdict::Again);
        }
        Ok(Verdict::Refused(resp))
    }

    /// The back-off before the `attempt`-th retry: from [`RetryPolicy::backoff`], doubling, jittered, at most
    /// [`RetryPolicy::max_wait`].
    pub fn backoff(&self, attempt: u32) -> Duration {
        backoff(self.backoff, attempt, self.max_wait)
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

    #[tokio::test]
    async fn a_pacer_spaces_requests_and_an_unset_one_does_not_wait() {
        let paced = Pacer::per_second(Some(20.0));
        let start = std::time::Instant::now();
        for _ in 0..5 {
            paced.wait().await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "{:?}",
            start.elapsed()
        );
        let free = Pacer::per_second(None);
        let start = std::time::Instant::now();
        for _ in 0..100 {
            free.wait().await;
        }
        assert!(start.elapsed() < Duration::from_millis(50));
        assert!(Pacer::per_second(Some(-1.0)).interval.is_zero());
    }
}
