//! The sweeper's settings, read once at cold start.

use shared::settings::{Env, SettingError};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_table: String,
    pub catalog_table: String,
    pub media_bucket: String,
    pub owner_queue_url: String,
    pub download_queue_url: String,
    /// Dead-letter queues and the queues their messages came from.
    pub events_dlq_url: String,
    pub events_queue_url: String,
    pub owner_dlq_url: String,
    pub download_dlq_url: String,
    pub archived_dlq_url: String,
    pub archived_queue_url: String,
    pub backfill_dlq_url: String,
    pub backfill_queue_url: String,
    pub rules: crate::handler::Rules,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        let max_attempts: u32 = env.parsed("MAX_ATTEMPTS", 50)?;
        let max_redrives: u32 = env.parsed("MAX_REDRIVES", 3)?;
        let batch: i32 = env.parsed("SWEEP_BATCH", 200)?;
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            media_bucket: env.required("MEDIA_BUCKET")?,
            owner_queue_url: env.required("OWNER_QUEUE_URL")?,
            download_queue_url: env.required("DOWNLOAD_QUEUE_URL")?,
            events_dlq_url: env.required("EVENTS_DLQ_URL")?,
            events_queue_url: env.required("EVENTS_QUEUE_URL")?,
            owner_dlq_url: env.required("OWNER_DLQ_URL")?,
            download_dlq_url: env.required("DOWNLOAD_DLQ_URL")?,
            archived_dlq_url: env.required("ARCHIVED_DLQ_URL")?,
            archived_queue_url: env.required("ARCHIVED_QUEUE_URL")?,
            backfill_dlq_url: env.required("BACKFILL_DLQ_URL")?,
            backfill_queue_url: env.required("BACKFILL_QUEUE_URL")?,
            rules: crate::handler::Rules {
                stuck_after: env.secs("STUCK_AFTER_SECS", 6 * 3600, 60..=30 * 86_400)?,
                abandoned_after: env.secs(
                    "ABANDONED_UPLOAD_SECS",
                    2 * 86_400,
                    3600..=30 * 86_400,
                )?,
                max_attempts: max_attempts.max(1),
                max_redrives,
                batch: batch.clamp(1, 1000),
                lease: Duration::from_secs(60),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_is_required_and_the_rules_have_defaults() {
        let pairs = [
            ("CONFIG_TABLE", "c"),
            ("CATALOG_TABLE", "k"),
            ("MEDIA_BUCKET", "b"),
            ("OWNER_QUEUE_URL", "o"),
            ("DOWNLOAD_QUEUE_URL", "d"),
            ("EVENTS_DLQ_URL", "ed"),
            ("EVENTS_QUEUE_URL", "e"),
            ("OWNER_DLQ_URL", "od"),
            ("DOWNLOAD_DLQ_URL", "dd"),
            ("ARCHIVED_DLQ_URL", "ad"),
            ("ARCHIVED_QUEUE_URL", "a"),
            ("BACKFILL_DLQ_URL", "bd"),
            ("BACKFILL_QUEUE_URL", "bq"),
        ];
        let s = Settings::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(s.rules.stuck_after, Duration::from_secs(6 * 3600));
        assert_eq!(s.rules.max_attempts, 50);
        let e = Settings::from_env(&Env::from_pairs(&pairs[..10])).unwrap_err();
        assert_eq!(e.name, "ARCHIVED_QUEUE_URL");
        let e = Settings::from_env(&Env::from_pairs(&pairs[..12])).unwrap_err();
        assert_eq!(e.name, "BACKFILL_QUEUE_URL");
        let mut bad = pairs.to_vec();
        bad.push(("STUCK_AFTER_SECS", "1"));
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&bad)).unwrap_err().name,
            "STUCK_AFTER_SECS"
        );
    }
}
