//! The backfill function's settings, read once at cold start.

use shared::settings::{Env, SettingError};

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub config_table: String,
    pub catalog_table: String,
    pub events_queue_url: String,
    /// Its own queue, where a walk that reached its deadline sends its continuation.
    pub backfill_queue_url: String,
    /// Our own pace, requests a second (`None`: only the vendors' limits and `Retry-After`).
    pub max_rate: Option<f64>,
    pub rules: crate::handler::Rules,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        let rate: f64 = env.parsed("BACKFILL_MAX_RATE", 0.0)?;
        if !rate.is_finite() || rate < 0.0 {
            return Err(SettingError {
                name: "BACKFILL_MAX_RATE".into(),
                reason: format!("{rate} is not a rate (requests a second; 0 for none of ours)"),
            });
        }
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            events_queue_url: env.required("EVENTS_QUEUE_URL")?,
            backfill_queue_url: env.required("BACKFILL_QUEUE_URL")?,
            max_rate: (rate > 0.0).then_some(rate),
            rules: crate::handler::Rules {
                margin: env.secs("BACKFILL_UNIT_MARGIN_SECS", 300, 0..=840)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PAIRS: [(&str, &str); 4] = [
        ("CONFIG_TABLE", "c"),
        ("CATALOG_TABLE", "k"),
        ("EVENTS_QUEUE_URL", "e"),
        ("BACKFILL_QUEUE_URL", "b"),
    ];

    #[test]
    fn tables_and_queues_are_required_and_rate_and_margin_are_checked() {
        let s = Settings::from_env(&Env::from_pairs(&PAIRS)).unwrap();
        assert_eq!(
            (s.max_rate, s.rules.margin),
            (None, Duration::from_secs(300))
        );
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&PAIRS[..3]))
                .unwrap_err()
                .name,
            "BACKFILL_QUEUE_URL"
        );
        let with = |name: &'static str, v: &'static str| {
            let mut pairs = PAIRS.to_vec();
            pairs.push((name, v));
            Settings::from_env(&Env::from_pairs(&pairs))
        };
        assert_eq!(
            with("BACKFILL_MAX_RATE", "2.5").unwrap().max_rate,
            Some(2.5)
        );
        for bad in ["-1", "fast", "inf"] {
            assert_eq!(
                with("BACKFILL_MAX_RATE", bad).unwrap_err().name,
                "BACKFILL_MAX_RATE",
                "{bad}"
            );
        }
        assert_eq!(
            with("BACKFILL_UNIT_MARGIN_SECS", "900").unwrap_err().name,
            "BACKFILL_UNIT_MARGIN_SECS"
        );
    }
}
