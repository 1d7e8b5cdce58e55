//! Settings of a function, read from the environment once at cold start. A missing variable, or one that is
//! set but does not parse (a typo in `LEASE_SECS`), fails the cold start with an error naming the variable;
//! nothing falls back silently. The lookup is injected so tests need not touch the process environment.

use std::str::FromStr;
use std::time::Duration;

/// A setting that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name}: {reason}")]
pub struct SettingError {
    pub name: String,
    pub reason: String,
}

type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Where settings come from: the process environment, or a function for tests.
pub struct Env<'a> {
    lookup: Lookup<'a>,
}

impl<'a> Env<'a> {
    /// The process environment.
    pub fn process() -> Env<'static> {
        Env {
            lookup: Box::new(|name| std::env::var(name).ok()),
        }
    }
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
        }
    }
    /// Pairs, for tests.
    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Self::from_fn(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set.
    pub fn required(&self, name: &str) -> Result<String, SettingError> {
        self.get(name).ok_or_else(|| SettingError {
            name: name.into(),
            reason: "is not set".into(),
        })
    }

    /// A variable parsed as `T`, or `default` when unset. Set but unparsable is an error.
    pub fn parsed<T: FromStr>(&self, name: &str, default: T) -> Result<T, SettingError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|e| SettingError {
                name: name.into(),
                reason: format!("'{v}' does not parse: {e}"),
            }),
        }
    }

    /// Whole seconds in `range`, or `default` when unset.
    pub fn secs(
        &self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, SettingError> {
        let v: u64 = self.parsed(name, default)?;
        if !range.contains(&v) {
            return Err(SettingError {
                name: name.into(),
                reason: format!("{v} is outside {}..={} seconds", range.start(), range.end()),
            });
        }
        Ok(Duration::from_secs(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_unparsable_settings_name_their_variable() {
        let env = Env::from_pairs(&[("LEASE_SECS", "96O"), ("TABLE", "t"), ("EMPTY", " ")]);
        assert_eq!(env.required("TABLE").unwrap(), "t");
        let e = env.required("QUEUE_URL").unwrap_err();
        assert_eq!(e.to_string(), "environment variable QUEUE_URL: is not set");
        assert!(env.required("EMPTY").is_err(), "blank counts as unset");
        let e = env.secs("LEASE_SECS", 960, 1..=3600).unwrap_err();
        assert_eq!(e.name, "LEASE_SECS");
        assert!(e.reason.contains("'96O' does not parse"), "{e}");
        assert_eq!(
            env.secs("OTHER", 960, 1..=3600).unwrap(),
            Duration::from_secs(960)
        );
        let env = Env::from_pairs(&[("LEASE_SECS", "0")]);
        assert!(env.secs("LEASE_SECS", 960, 1..=3600).is_err());
    }
}
