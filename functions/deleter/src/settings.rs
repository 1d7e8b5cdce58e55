//! The deleter's settings, read once at cold start.

use shared::settings::{Env, SettingError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_table: String,
    pub catalog_table: String,
    pub media_bucket: String,
    pub events_queue_url: String,
    pub rules: crate::handler::Rules,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        let batch: i32 = env.parsed("DELETE_BATCH", 50)?;
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            media_bucket: env.required("MEDIA_BUCKET")?,
            events_queue_url: env.required("EVENTS_QUEUE_URL")?,
            rules: crate::handler::Rules {
                batch: batch.clamp(1, 1000),
                by: "deletion sweep".into(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_bucket_are_required_and_the_batch_is_bounded() {
        let pairs = [
            ("CONFIG_TABLE", "c"),
            ("CATALOG_TABLE", "k"),
            ("MEDIA_BUCKET", "b"),
            ("EVENTS_QUEUE_URL", "e"),
        ];
        let s = Settings::from_env(&Env::from_pairs(&pairs)).unwrap();
        assert_eq!(s.rules.batch, 50);
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&pairs[..3]))
                .unwrap_err()
                .name,
            "EVENTS_QUEUE_URL"
        );
        let mut big = pairs.to_vec();
        big.push(("DELETE_BATCH", "100000"));
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&big))
                .unwrap()
                .rules
                .batch,
            1000
        );
        let mut bad = pairs.to_vec();
        bad.push(("DELETE_BATCH", "many"));
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&bad)).unwrap_err().name,
            "DELETE_BATCH"
        );
    }
}
