//! The downloader's settings, read once at cold start. `LEASE_SECS` must be longer than the function timeout
//! (900 s) and shorter than the download queue's visibility timeout (5400 s); a value that does not parse
//! fails the cold start instead of falling back.

use shared::settings::{Env, SettingError};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_table: String,
    pub catalog_table: String,
    pub media_bucket: String,
    pub archived_queue_url: String,
    /// The download queue itself, for continuations.
    pub download_queue_url: String,
    pub lease: Duration,
    pub read_timeout: Duration,
    pub deadline_margin: Duration,
    /// The download queue's visibility timeout: when a message that was not deleted comes back.
    pub redelivery: Duration,
    pub parts_in_flight: usize,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            media_bucket: env.required("MEDIA_BUCKET")?,
            archived_queue_url: env.required("ARCHIVED_QUEUE_URL")?,
            download_queue_url: env.required("DOWNLOAD_QUEUE_URL")?,
            lease: env.secs("LEASE_SECS", 960, 1..=5400)?,
            read_timeout: env.secs("READ_TIMEOUT_SECS", 60, 1..=600)?,
            deadline_margin: env.secs("DEADLINE_MARGIN_SECS", 60, 1..=600)?,
            redelivery: env.secs("REDELIVERY_SECS", 5400, 1..=43_200)?,
            parts_in_flight: parts_in_flight(env)?,
        })
    }
}

/// `PARTS_IN_FLIGHT`: parts uploading at once (1..=16, default 2). Memory grows by one part size each.
fn parts_in_flight(env: &Env) -> Result<usize, SettingError> {
    let n: usize = env.parsed("PARTS_IN_FLIGHT", 2)?;
    if !(1..=16).contains(&n) {
        return Err(SettingError {
            name: "PARTS_IN_FLIGHT".into(),
            reason: format!("{n} is outside 1..=16"),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [(&str, &str); 5] = [
        ("CONFIG_TABLE", "c"),
        ("CATALOG_TABLE", "k"),
        ("MEDIA_BUCKET", "b"),
        ("ARCHIVED_QUEUE_URL", "q"),
        ("DOWNLOAD_QUEUE_URL", "d"),
    ];

    #[test]
    fn a_typo_in_lease_secs_fails_loudly_and_defaults_hold_otherwise() {
        let s = Settings::from_env(&Env::from_pairs(&BASE)).unwrap();
        assert_eq!(s.lease, Duration::from_secs(960));
        let mut pairs = BASE.to_vec();
        pairs.push(("LEASE_SECS", "96O"));
        let e = Settings::from_env(&Env::from_pairs(&pairs)).unwrap_err();
        assert_eq!(e.name, "LEASE_SECS");
        let e = Settings::from_env(&Env::from_pairs(&BASE[1..])).unwrap_err();
        assert_eq!(e.name, "CONFIG_TABLE");
        let mut pairs = BASE.to_vec();
        pairs.push(("PARTS_IN_FLIGHT", "0"));
        let e = Settings::from_env(&Env::from_pairs(&pairs)).unwrap_err();
        assert_eq!(e.name, "PARTS_IN_FLIGHT");
    }
}
