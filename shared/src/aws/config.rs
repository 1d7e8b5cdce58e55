//! Tenant configuration in DynamoDB.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | tenant | `TENANT#<tenant>` | `TENANT` |
//! | connection | `CONN#<connection>` | `CONN` |
//! | user | `TENANT#<tenant>` | `USER#<user>` |
//! | e-mail alias | `TENANT#<tenant>` | `EMAIL#<email>` → `user_id` |
//! | vendor id alias | `TENANT#<tenant>` | `VENDOR#<vendor>#<id>` → `user_id` |
//! | account claim | `ACCOUNT#<vendor>#<account>` | `ACCOUNT` → `tenant`, `connection_id` |
//!
//! The catalog keys recordings by vendor account, so one account belongs to one tenant: `apply` claims each
//! connection's account with a conditional write and refuses an account another tenant holds.

use crate::aws::error::{is_conditional, sdk_error};
use crate::config::{Connection, Tenant, TenantConfig, User};
use crate::error::{Class, Error, Kind};
use crate::ids::{ConnectionId, Email, TenantId, UserId, Vendor};
use crate::ports::{ConfigStore, UserDirectory};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoConfig {
    client: Client,
    table: String,
}

fn keyed(pk: String, sk: String) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

fn with_key<T: serde::Serialize>(v: &T, pk: String, sk: String) -> Result<Item, Error> {
    let mut item: Item = serde_dynamo::to_item(v).map_err(Error::permanent)?;
    item.extend(keyed(pk, sk));
    Ok(item)
}

impl DynamoConfig {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keyed(pk, sk)))
            .send()
            .await
            .map_err(|e| sdk_error("GetItem(config)", e))?;
        out.item
            .map(|i| {
                serde_dynamo::from_item(i)
                    .map_err(|e| Error::permanent(format!("config item: {e}")))
            })
            .transpose()
    }

    async fn alias(&self, tenant: &TenantId, sk: String) -> Result<Option<User>, Error> {
        #[derive(serde::Deserialize)]
        struct Alias {
            user_id: UserId,
        }
        let Some(a) = self.get::<Alias>(format!("TENANT#{tenant}"), sk).await? else {
            return Ok(None);
        };
        self.get(format!("TENANT#{tenant}"), format!("USER#{}", a.user_id))
            .await
    }

    async fn put(&self, item: Item) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem(config)", e))?;
        Ok(())
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, Error> {
        self.get(format!("TENANT#{id}"), "TENANT".into()).await
    }

    /// Writes a validated configuration. A connection id that belongs to another tenant is refused.
    pub async fn apply(&self, cfg: &TenantConfig) -> Result<(), Error> {
        for c in &cfg.connections {
            if let Some(existing) = self.connection(&c.id).await?
                && existing.tenant != cfg.tenant.id
            {
                return Err(Error::permanent(format!(
                    "connection '{}' already belongs to tenant '{}'",
                    c.id, existing.tenant
                )));
            }
        }
        for c in &cfg.connections {
            self.claim_account(c).await?;
        }
        let t = &cfg.tenant;
        self.put(with_key(t, format!("TENANT#{}", t.id), "TENANT".into())?)
            .await?;
        for c in &cfg.connections {
            self.put(with_key(c, format!("CONN#{}", c.id), "CONN".into())?)
                .await?;
        }
        for u in &cfg.users {
            let pk = format!("TENANT#{}", u.tenant);
            self.put(with_key(u, pk.clone(), format!("USER#{}", u.id))?)
                .await?;
            let alias = serde_json::json!({ "user_id": u.id });
            self.put(with_key(&alias, pk.clone(), format!("EMAIL#{}", u.email))?)
                .await?;
            for v in &u.vendor_ids {
                self.put(with_key(
                    &alias,
                    pk.clone(),
                    format!("VENDOR#{}#{}", v.vendor, v.id),
                )?)
                .await?;
            }
        }
        Ok(())
    }

    /// Claims the connection's vendor account for its tenant; refused if another tenant holds it.
    async fn claim_account(&self, c: &Connection) -> Result<(), Error> {
        let claim = serde_json::json!({"tenant": c.tenant, "connection_id": c.id});
        let item = with_key(
            &claim,
            format!("ACCOUNT#{}#{}", c.vendor, c.account_id),
            "ACCOUNT".into(),
        )?;
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR tenant = :t")
            .expression_attribute_values(":t", AttributeValue::S(c.tenant.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(Error::new(
                Class::Permanent,
                Kind::Config,
                format!(
                    "{} account '{}' of connection '{}' already belongs to another tenant: one account is archived by one tenant only",
                    c.vendor, c.account_id, c.id
                ),
            )),
            Err(e) => Err(sdk_error("PutItem(account claim)", e)),
        }
    }
}

#[async_trait]
impl ConfigStore for DynamoConfig {
    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, Error> {
        self.get(format!("CONN#{id}"), "CONN".into()).await
    }
}

#[async_trait]
impl crate::ports::ConnectionSwitch for DynamoConfig {
    async fn set_enabled(&self, id: &ConnectionId, enabled: bool) -> Result<bool, Error> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keyed(format!("CONN#{id}"), "CONN".into())))
            .update_expression("SET enabled = :e")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":e", AttributeValue::Bool(enabled))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if is_conditional(&e) => Ok(false),
            Err(e) => Err(sdk_error("UpdateItem(connection)", e)),
        }
    }
}

#[async_trait]
impl crate::ports::ConnectionList for DynamoConfig {
    async fn connections(&self) -> Result<Vec<Connection>, Error> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :c")
                .expression_attribute_values(":c", AttributeValue::S("CONN".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Scan(connections)", e))?;
            for item in out.items.unwrap_or_default() {
                found.push(
                    serde_dynamo::from_item(item)
                        .map_err(|e| Error::data(format!("connection item: {e}")))?,
                );
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(found),
            }
        }
    }
}

#[async_trait]
impl UserDirectory for DynamoConfig {
    async fn by_vendor_id(
        &self,
        tenant: &TenantId,
        vendor: Vendor,
        id: &str,
    ) -> Result<Option<User>, Error> {
        self.alias(tenant, format!("VENDOR#{vendor}#{id}")).await
    }
    async fn by_email(&self, tenant: &TenantId, email: &Email) -> Result<Option<User>, Error> {
        self.alias(tenant, format!("EMAIL#{email}")).await
    }
}
