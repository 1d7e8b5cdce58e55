//! The reconcile sweep's settings, read once at cold start.

use shared::settings::{Env, SettingError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub config_table: String,
    pub catalog_table: String,
    pub events_queue_url: String,
    pub rules: crate::handler::Rules,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, SettingError> {
        let days: u32 = env.parsed("RECONCILE_DAYS", 3)?;
        if !(1..=30).contains(&days) {
            return Err(SettingError {
                name: "RECONCILE_DAYS".into(),
                reason: format!("{days} is not between 1 and 30"),
            });
        }
        Ok(Self {
            config_table: env.required("CONFIG_TABLE")?,
            catalog_table: env.required("CATALOG_TABLE")?,
            events_queue_url: env.required("EVENTS_QUEUE_URL")?,
            rules: crate::handler::Rules { days },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIRS: [(&str, &str); 3] = [
        ("CONFIG_TABLE", "c"),
        ("CATALOG_TABLE", "k"),
        ("EVENTS_QUEUE_URL", "e"),
    ];

    #[test]
    fn tables_and_queue_are_required_and_the_look_back_is_bounded() {
        let s = Settings::from_env(&Env::from_pairs(&PAIRS)).unwrap();
        assert_eq!(s.rules.days, 3);
        assert_eq!(
            Settings::from_env(&Env::from_pairs(&PAIRS[..2]))
                .unwrap_err()
                .name,
            "EVENTS_QUEUE_URL"
        );
        for bad in ["0", "31", "few"] {
            let mut pairs = PAIRS.to_vec();
            pairs.push(("RECONCILE_DAYS", bad));
            assert_eq!(
                Settings::from_env(&Env::from_pairs(&pairs))
                    .unwrap_err()
                    .name,
                "RECONCILE_DAYS",
                "{bad}"
            );
        }
    }
}
