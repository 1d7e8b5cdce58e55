//! The webhook validator's settings, read once at cold start.

use shared::settings::{Env, SettingError};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_table: String,
    pub events_queue_url: String,
    /// How long a webhook secret is cached per function instance.
    pub secret_cache_ttl: Duration,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            events_queue_url: env.required("EVENTS_QUEUE_URL")?,
            secret_cache_ttl: env.secs("SECRET_CACHE_TTL_SECS", 300, 0..=3600)?,
        })
    }
}
