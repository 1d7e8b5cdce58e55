//! Secrets Manager adapter of [`SecretStore`], with a TTL cache that lives across invocations.

use crate::aws::error::sdk_error;
use crate::error::Error;
use crate::ports::{SecretStore, SecretString, SecretWriter};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Caches each secret for `ttl`, so a warm function asks Secrets Manager at most once per TTL per secret,
/// while a rotated secret is picked up within one TTL.
#[derive(Debug)]
pub struct CachedSecrets<S> {
    inner: S,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl<S> CachedSecrets<S> {
    pub fn new(inner: S, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl<S: SecretStore> SecretStore for CachedSecrets<S> {
    async fn secret(&self, id: &str) -> Result<SecretString, Error> {
        if let Some((at, v)) = self.cache.lock().expect("cache lock").get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(v.clone());
        }
        let v = self.inner.secret(id).await?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(id.to_owned(), (Instant::now(), v.clone()));
        Ok(v)
    }
}

/// Reads `SecretString` values from Secrets Manager.
#[derive(Clone, Debug)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// Creates the secret or stores a new version of it; one scheduled for deletion (by a disconnect) is
    /// restored first.
    pub async fn put(&self, id: &str, value: &str) -> Result<(), Error> {
        let created = self
            .client
            .create_secret()
            .name(id)
            .secret_string(value)
            .send()
            .await;
        match created {
            Ok(_) => return Ok(()),
            // AWS answers InvalidRequest for a name scheduled for deletion.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_resource_exists_exception() || s.is_invalid_request_exception()
                }) => {}
            Err(e) => return Err(sdk_error("CreateSecret", e)),
        }
        let described = self
            .client
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeSecret", e))?;
        if described.deleted_date.is_some() {
            self.client
                .restore_secret()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| sdk_error("RestoreSecret", e))?;
        }
        self.client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| sdk_error("PutSecretValue", e))?;
        Ok(())
    }

    /// Schedules the secret's deletion after `recovery_days` (7–30; until then `put` restores it). `false`
    /// if there is no such secret.
    pub async fn schedule_deletion(&self, id: &str, recovery_days: i64) -> Result<bool, Error> {
        match self
            .client
            .delete_secret()
            .secret_id(id)
            .recovery_window_in_days(recovery_days.clamp(7, 30))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("DeleteSecret", e)),
        }
    }
}

#[async_trait]
impl SecretStore for SecretsManager {
    async fn secret(&self, id: &str) -> Result<SecretString, Error> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| sdk_error("GetSecretValue", e))?;
        out.secret_string
            .map(SecretString::new)
            .ok_or_else(|| Error::permanent(format!("secret {id} has no string value")))
    }
}

#[async_trait]
impl SecretWriter for SecretsManager {
    async fn put_secret(&self, id: &str, value: &SecretString) -> Result<(), Error> {
        self.put(id, value.expose()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting(AtomicU32);

    #[async_trait]
    impl SecretStore for Counting {
        async fn secret(&self, id: &str) -> Result<SecretString, Error> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(SecretString::new(format!("{id}-{n}")))
        }
    }

    #[tokio::test]
    async fn caches_within_ttl_and_refreshes_after() {
        let c = CachedSecrets::new(Counting(AtomicU32::new(0)), Duration::from_millis(50));
        assert_eq!(c.secret("a").await.unwrap().expose(), "a-0");
        assert_eq!(c.secret("a").await.unwrap().expose(), "a-0");
        assert_eq!(c.secret("b").await.unwrap().expose(), "b-1");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(c.secret("a").await.unwrap().expose(), "a-2");
        assert_eq!(
            format!("{:?}", c.secret("a").await.unwrap()),
            "SecretString(***)"
        );
    }
}
