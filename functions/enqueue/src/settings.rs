//! The enqueue function's settings, read once at cold start.

use shared::settings::{Env, SettingError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_table: String,
    pub catalog_table: String,
    pub owner_queue_url: String,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            owner_queue_url: env.required("OWNER_QUEUE_URL")?,
        })
    }
}
