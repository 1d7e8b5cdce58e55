//! Tenant configuration in DynamoDB.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | tenant | `TENANT#<tenant>` | `TENANT` |
//! | connection | `CONN#<connection>` | `CONN` |
//! | user | `TENANT#<tenant>` | `USER#<user>` |
//! | e-mail alias | `TENANT#<tenant>` | `EMAIL#<email>` → `user_id` |
//! | vendor id alias | `TENANT#<tenant>` | `VENDOR#<vendor>#<id>` → `user_id` |
//! | external id alias | `TENANT#<tenant>` | `EXT#<external_id>` → `user_id` |
//! | account claim | `ACCOUNT#<vendor>#<account>` | `ACCOUNT` → `tenant`, `connection_id` |
//!
//! The catalog keys recordings by vendor account, so one account belongs to one tenant: `apply` claims each
//! connection's account with a conditional write and refuses an account another tenant holds. Tenant,
//! connection and user records carry a revision (`rev`), and `apply` writes each conditional on the
//! revision it read ([`DynamoConfig::apply_plan`]).

use crate::aws::error::{is_conditional, sdk_error};
use crate::changes::{self, Change, Plan, Snapshot, Stored};
use crate::config::{Connection, Tenant, TenantConfig, User};
use crate::error::{Class, Error, Kind};
use crate::ids::{ConnectionId, Email, TenantId, UserId, Vendor};
use crate::ports::{ConfigStore, UserDirectory};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use std::collections::HashMap;

type Item = HashMap<String, AttributeValue>;

/// The condition of a write over a record read at revision `rev` (`:r`); records written before records had
/// revisions read as 0.
fn rev_is(rev: u64) -> &'static str {
    if rev == 0 {
        "attribute_not_exists(rev) OR rev = :r"
    } else {
        "rev = :r"
    }
}

/// What an apply wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The tenant record's revision now.
    pub rev: u64,
    /// Connections and users written (added or changed).
    pub written: usize,
    /// Connections and users removed (`prune`).
    pub removed: usize,
}

/// A conditional write's failure: the record changed, or the call failed.
enum ConditionError {
    Changed,
    Other(Error),
}

fn conflict(e: ConditionError, message: impl FnOnce() -> String) -> Error {
    match e {
        ConditionError::Changed => Error::new(Class::Permanent, Kind::Conflict, message()),
        ConditionError::Other(e) => e,
    }
}

/// A stored record and its revision, from one item.
fn stored<T: serde::de::DeserializeOwned>(item: Item) -> Result<Stored<T>, Error> {
    #[derive(serde::Deserialize)]
    struct Rev {
        #[serde(default)]
        rev: u64,
    }
    let rev: Rev = serde_dynamo::from_item(item.clone())
        .map_err(|e| Error::data(format!("config item: {e}")))?;
    let value =
        serde_dynamo::from_item(item).map_err(|e| Error::data(format!("config item: {e}")))?;
    Ok(Stored {
        value,
        rev: rev.rev,
    })
}

/// The sort keys of a user's aliases: their e-mail, each vendor id and their external id.
fn alias_keys(u: &User) -> Vec<String> {
    std::iter::once(format!("EMAIL#{}", u.email))
        .chain(
            u.vendor_ids
                .iter()
                .map(|v| format!("VENDOR#{}#{}", v.vendor, v.id)),
        )
        .chain(u.external_id.iter().map(|x| format!("EXT#{x}")))
        .collect()
}

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

    /// Every connection item of the table.
    async fn connection_items(&self) -> Result<Vec<Item>, Error> {
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
            found.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(found),
            }
        }
    }

    pub async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, Error> {
        self.get(format!("TENANT#{id}"), "TENANT".into()).await
    }

    /// Writes a validated configuration over what is stored, keeping records the file leaves out (see
    /// [`DynamoConfig::apply_plan`]).
    pub async fn apply(&self, cfg: &TenantConfig) -> Result<Applied, Error> {
        let plan = changes::plan(&self.snapshot(&cfg.tenant.id).await?, cfg);
        self.apply_plan(cfg, &plan, false).await
    }

    /// A tenant's records as stored, each with its revision.
    pub async fn snapshot(&self, tenant: &TenantId) -> Result<Snapshot, Error> {
        let tenant_item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(keyed(format!("TENANT#{tenant}"), "TENANT".into())))
            .send()
            .await
            .map_err(|e| sdk_error("GetItem(tenant)", e))?
            .item;
        let mut snap = Snapshot {
            tenant: tenant_item.map(stored).transpose()?,
            ..Snapshot::default()
        };
        for c in self.connection_items().await? {
            let c: Stored<Connection> = stored(c)?;
            if &c.value.tenant == tenant {
                snap.connections.push(c);
            }
        }
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :u)")
                .expression_attribute_values(":pk", AttributeValue::S(format!("TENANT#{tenant}")))
                .expression_attribute_values(":u", AttributeValue::S("USER#".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query(users)", e))?;
            for item in out.items.unwrap_or_default() {
                snap.users.push(stored(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(snap),
            }
        }
    }

    /// Writes what `plan` changes. The tenant record goes first, conditional on the revision the plan read:
    /// of two applies that read the same state one goes through, and the other is refused with
    /// [`Kind::Conflict`] before it writes anything. Each record after it is conditional on its own
    /// revision too (a `disconnect` in between bumps a connection's), so nothing is overwritten unseen.
    /// Records the file leaves out are removed only with `prune` (an enabled connection never: the plan's
    /// [`Plan::prune_problems`] must be empty).
    pub async fn apply_plan(
        &self,
        cfg: &TenantConfig,
        plan: &Plan,
        prune: bool,
    ) -> Result<Applied, Error> {
        // A changed or removed connection was read among this tenant's; only an added one may be another's.
        for change in &plan.connections {
            let Change::Added(c) = change else { continue };
            if let Some(existing) = self.connection(&c.id).await?
                && existing.tenant != cfg.tenant.id
            {
                return Err(Error::permanent(format!(
                    "connection '{}' already belongs to tenant '{}'",
                    c.id, existing.tenant
                )));
            }
        }
        if prune && let Some(p) = plan.prune_problems().into_iter().next() {
            return Err(Error::new(Class::Permanent, Kind::Config, p));
        }
        for change in &plan.connections {
            if let Change::Added(c) | Change::Changed { after: c, .. } = change {
                self.claim_account(c).await?;
            }
        }
        let t = &cfg.tenant;
        let rev = plan.tenant_rev.map_or(1, |r| r + 1);
        let mut item = with_key(t, format!("TENANT#{}", t.id), "TENANT".into())?;
        item.insert("rev".into(), AttributeValue::N(rev.to_string()));
        item.insert(
            "applied_at".into(),
            AttributeValue::S(Utc::now().to_rfc3339()),
        );
        self.put_if(item, plan.tenant_rev).await.map_err(|e| {
            conflict(e, || {
                format!(
                    "tenant {} was changed by another apply after this one read it (at revision {}); nothing was \
                     written: run apply again to see the changes against what is stored now",
                    t.id,
                    plan.tenant_rev.unwrap_or(0)
                )
            })
        })?;
        let mut done = Applied {
            rev,
            ..Applied::default()
        };
        let later = |what: String| {
            move || {
                format!(
                    "{what} was changed by someone else after this apply read it; the tenant record and the \
                     records before it are written, it and the ones after it are not: run apply again"
                )
            }
        };
        for change in &plan.connections {
            let c = match change {
                Change::Added(c) | Change::Changed { after: c, .. } => c,
                Change::Removed(s) if prune => {
                    self.delete_if(keyed(format!("CONN#{}", s.value.id), "CONN".into()), s.rev)
                        .await
                        .map_err(|e| conflict(e, later(format!("connection {}", s.value.id))))?;
                    self.release_account(&s.value).await?;
                    done.removed += 1;
                    continue;
                }
                Change::Removed(_) => continue,
            };
            let mut item = with_key(c, format!("CONN#{}", c.id), "CONN".into())?;
            let next = change.read_rev().map_or(1, |r| r + 1);
            item.insert("rev".into(), AttributeValue::N(next.to_string()));
            self.put_if(item, change.read_rev())
                .await
                .map_err(|e| conflict(e, later(format!("connection {}", c.id))))?;
            done.written += 1;
        }
        for change in &plan.users {
            let (u, stale) = match change {
                Change::Added(u) => (u, None),
                Change::Changed { before, after, .. } => (after, Some(&before.value)),
                Change::Removed(s) if prune => {
                    let pk = format!("TENANT#{}", s.value.tenant);
                    self.delete_if(keyed(pk, format!("USER#{}", s.value.id)), s.rev)
                        .await
                        .map_err(|e| conflict(e, later(format!("user {}", s.value.id))))?;
                    for sk in alias_keys(&s.value) {
                        self.delete_alias(&s.value, sk).await?;
                    }
                    done.removed += 1;
                    continue;
                }
                Change::Removed(_) => continue,
            };
            let pk = format!("TENANT#{}", u.tenant);
            let mut item = with_key(u, pk.clone(), format!("USER#{}", u.id))?;
            let next = change.read_rev().map_or(1, |r| r + 1);
            item.insert("rev".into(), AttributeValue::N(next.to_string()));
            self.put_if(item, change.read_rev())
                .await
                .map_err(|e| conflict(e, later(format!("user {}", u.id))))?;
            let alias = serde_json::json!({ "user_id": u.id });
            let keys = alias_keys(u);
            for sk in &keys {
                self.put(with_key(&alias, pk.clone(), sk.clone())?).await?;
            }
            // An e-mail or vendor id the user no longer has must not find them any more.
            for sk in stale.map(alias_keys).unwrap_or_default() {
                if !keys.contains(&sk) {
                    self.delete_alias(u, sk).await?;
                }
            }
            done.written += 1;
        }
        Ok(done)
    }

    /// Puts `item` if the stored record's revision is `rev` (`None`: if there is no record).
    async fn put_if(&self, item: Item, rev: Option<u64>) -> Result<(), ConditionError> {
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let req = match rev {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(r) => req
                .condition_expression(rev_is(r))
                .expression_attribute_values(":r", AttributeValue::N(r.to_string())),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(ConditionError::Changed),
            Err(e) => Err(ConditionError::Other(sdk_error("PutItem(config)", e))),
        }
    }

    /// Deletes the record at `key` if its revision is still `rev`.
    async fn delete_if(&self, key: Item, rev: u64) -> Result<(), ConditionError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(rev_is(rev))
            .expression_attribute_values(":r", AttributeValue::N(rev.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(ConditionError::Changed),
            Err(e) => Err(ConditionError::Other(sdk_error("DeleteItem(config)", e))),
        }
    }

    /// Releases a pruned connection's claim on its vendor account (only if it is still this connection's),
    /// so that the account may be connected again, by this tenant or another.
    async fn release_account(&self, c: &Connection) -> Result<(), Error> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keyed(
                format!("ACCOUNT#{}#{}", c.vendor, c.account_id),
                "ACCOUNT".into(),
            )))
            .condition_expression("connection_id = :c")
            .expression_attribute_values(":c", AttributeValue::S(c.id.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Ok(()),
            Err(e) => Err(sdk_error("DeleteItem(account claim)", e)),
        }
    }

    /// Deletes an alias of `user` (only if it still points to them).
    async fn delete_alias(&self, user: &User, sk: String) -> Result<(), Error> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keyed(format!("TENANT#{}", user.tenant), sk)))
            .condition_expression("user_id = :u")
            .expression_attribute_values(":u", AttributeValue::S(user.id.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Ok(()),
            Err(e) => Err(sdk_error("DeleteItem(alias)", e)),
        }
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
            // A new revision: an apply that read the connection before cannot write over the switch.
            .update_expression("SET enabled = :e ADD rev :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":e", AttributeValue::Bool(enabled))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
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
        self.connection_items()
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item(item)
                    .map_err(|e| Error::data(format!("connection item: {e}")))
            })
            .collect()
    }
}

#[async_trait]
impl crate::ports::DirectoryWriter for DynamoConfig {
    async fn create_user(&self, user: &User) -> Result<Option<User>, Error> {
        let pk = format!("TENANT#{}", user.tenant);
        let mut item = with_key(user, pk.clone(), format!("USER#{}", user.id))?;
        item.insert("rev".into(), AttributeValue::N("1".into()));
        match self.put_if(item, None).await {
            Ok(()) => {}
            Err(ConditionError::Changed) => return self.by_id(&user.tenant, &user.id).await,
            Err(ConditionError::Other(e)) => return Err(e),
        }
        let alias = serde_json::json!({ "user_id": user.id });
        for sk in alias_keys(user) {
            // An alias another user holds stays theirs.
            match self.put_if(with_key(&alias, pk.clone(), sk)?, None).await {
                Ok(()) | Err(ConditionError::Changed) => {}
                Err(ConditionError::Other(e)) => return Err(e),
            }
        }
        Ok(None)
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
    async fn by_id(&self, tenant: &TenantId, id: &UserId) -> Result<Option<User>, Error> {
        self.get(format!("TENANT#{tenant}"), format!("USER#{id}"))
            .await
    }
    async fn by_external_id(&self, tenant: &TenantId, id: &str) -> Result<Option<User>, Error> {
        self.alias(tenant, format!("EXT#{id}")).await
    }
}
