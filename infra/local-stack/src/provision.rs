//! Creates the template's tables, queues and buckets against an AWS endpoint (moto locally).
//! Every step is idempotent: provisioning twice against the same server changes nothing.

use anyhow::{Context as _, anyhow};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use tracing::{debug, info};

use crate::template::{
    BucketSpec, IndexSpec, KeyElement, Plan, QueueSpec, ResourceSpec, TableSpec,
};

/// SDK clients for the services the template uses.
#[derive(Debug, Clone)]
pub struct Clients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// S3 (path-style addressing).
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Builds the clients from one SDK configuration; S3 uses path-style addressing, which
    /// local endpoints need.
    pub fn new(conf: &aws_config::SdkConfig) -> Clients {
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            sqs: aws_sdk_sqs::Client::new(conf),
            s3: s3_client(conf),
        }
    }
}

/// An S3 client with `force_path_style(true)`, as local endpoints need.
pub fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// Creates every resource of the plan, in order, and records each queue's URL in the plan's
/// context (so that `!Ref Queue` resolves to it).
pub async fn provision(clients: &Clients, plan: &mut Plan) -> anyhow::Result<()> {
    for spec in plan.resources.clone() {
        match &spec {
            ResourceSpec::Table(t) => ensure_table(&clients.dynamodb, t)
                .await
                .with_context(|| format!("creating table {} ({})", t.table_name, t.logical_id))?,
            ResourceSpec::Bucket(b) => ensure_bucket(&clients.s3, b)
                .await
                .with_context(|| format!("creating bucket {} ({})", b.bucket_name, b.logical_id))?,
            ResourceSpec::Queue(q) => {
                let url = ensure_queue(&clients.sqs, q).await.with_context(|| {
                    format!("creating queue {} ({})", q.queue_name, q.logical_id)
                })?;
                plan.context.set_ref(&q.logical_id, &url);
                plan.context.set_attr(&q.logical_id, "QueueUrl", &url);
            }
        }
    }
    Ok(())
}

fn key_schema(keys: &[KeyElement]) -> anyhow::Result<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(Into::into)
        })
        .collect()
}

fn projection(ix: &IndexSpec) -> Projection {
    let mut p =
        Projection::builder().projection_type(ProjectionType::from(ix.projection_type.as_str()));
    for a in &ix.non_key_attributes {
        p = p.non_key_attributes(a);
    }
    p.build()
}

fn throughput() -> anyhow::Result<ProvisionedThroughput> {
    Ok(ProvisionedThroughput::builder()
        .read_capacity_units(5)
        .write_capacity_units(5)
        .build()?)
}

async fn ensure_table(ddb: &aws_sdk_dynamodb::Client, t: &TableSpec) -> anyhow::Result<()> {
    let exists = match ddb.describe_table().table_name(&t.table_name).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => return Err(anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    };
    if exists {
        debug!(table = %t.table_name, "table exists");
    } else {
        let provisioned = t.billing_mode != "PAY_PER_REQUEST";
        let mut req = ddb
            .create_table()
            .table_name(&t.table_name)
            .billing_mode(BillingMode::from(t.billing_mode.as_str()))
            .set_key_schema(Some(key_schema(&t.key_schema)?));
        for (name, ty) in &t.attribute_definitions {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(ty.as_str()))
                    .build()?,
            );
        }
        if provisioned {
            req = req.provisioned_throughput(throughput()?);
        }
        for ix in &t.global_indexes {
            let mut g = GlobalSecondaryIndex::builder()
                .index_name(&ix.name)
                .set_key_schema(Some(key_schema(&ix.key_schema)?))
                .projection(projection(ix));
            if provisioned {
                g = g.provisioned_throughput(throughput()?);
            }
            req = req.global_secondary_indexes(g.build()?);
        }
        for ix in &t.local_indexes {
            req = req.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(&ix.name)
                    .set_key_schema(Some(key_schema(&ix.key_schema)?))
                    .projection(projection(ix))
                    .build()?,
            );
        }
        match req.send().await {
            Ok(_) => info!(table = %t.table_name, "created table"),
            // Someone else created it in the meantime.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
    }
    if let Some(attr) = &t.ttl_attribute {
        let current = ddb
            .describe_time_to_live()
            .table_name(&t.table_name)
            .send()
            .await
            .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        let enabled = current
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            .is_some_and(|a| a == attr);
        if !enabled {
            ddb.update_time_to_live()
                .table_name(&t.table_name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        }
    }
    Ok(())
}

/// Creates the bucket (with Object Lock when the template asks for it), then applies its versioning, Object
/// Lock default retention and lifecycle rules as the template resolves them.
async fn ensure_bucket(s3: &aws_sdk_s3::Client, b: &BucketSpec) -> anyhow::Result<()> {
    let name = b.bucket_name.as_str();
    let props = &b.properties;
    if s3.head_bucket().bucket(name).send().await.is_ok() {
        debug!(bucket = %name, "bucket exists");
    } else {
        let lock = matches!(props.get("ObjectLockEnabled"), Some(v) if truthy(v));
        match s3
            .create_bucket()
            .bucket(name)
            .object_lock_enabled_for_bucket(lock)
            .send()
            .await
        {
            Ok(_) => info!(bucket = %name, "created bucket"),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                }) => {}
            Err(e) => return Err(s3_error(e)),
        }
    }
    configure_bucket(s3, name, props).await
}

fn s3_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Error {
    anyhow!(aws_sdk_s3::error::DisplayErrorContext(e))
}

fn truthy(v: &serde_json::Value) -> bool {
    v.as_bool() == Some(true) || v.as_str() == Some("true")
}

fn number(v: Option<&serde_json::Value>, what: &str) -> anyhow::Result<i32> {
    let v = v.ok_or_else(|| anyhow!("{what} is missing"))?;
    v.as_i64()
        .map(|n| n as i32)
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| anyhow!("{what} is not a number: {v}"))
}

async fn configure_bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    props: &serde_json::Value,
) -> anyhow::Result<()> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketVersioningStatus,
        DefaultRetention, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectLockConfiguration,
        ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, Transition,
        TransitionStorageClass, VersioningConfiguration,
    };
    if props["VersioningConfiguration"]["Status"].as_str() == Some("Enabled") {
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(s3_error)?;
    }
    if let Some(lock) = props.get("ObjectLockConfiguration") {
        let retention = &lock["Rule"]["DefaultRetention"];
        s3.put_object_lock_configuration()
            .bucket(name)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::from(
                                        retention["Mode"].as_str().unwrap_or("GOVERNANCE"),
                                    ))
                                    .days(number(retention.get("Days"), "DefaultRetention.Days")?)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(s3_error)?;
    }
    let Some(rules) = props["LifecycleConfiguration"]["Rules"].as_array() else {
        return Ok(());
    };
    let mut lifecycle = BucketLifecycleConfiguration::builder();
    for r in rules {
        let id = r["Id"].as_str().unwrap_or("rule");
        let mut rule = LifecycleRule::builder()
            .id(id)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .status(if r["Status"].as_str() == Some("Disabled") {
                ExpirationStatus::Disabled
            } else {
                ExpirationStatus::Enabled
            });
        if let Some(a) = r.get("AbortIncompleteMultipartUpload") {
            rule = rule.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(number(a.get("DaysAfterInitiation"), id)?)
                    .build(),
            );
        }
        for t in r["Transitions"].as_array().into_iter().flatten() {
            rule = rule.transitions(
                Transition::builder()
                    .days(number(t.get("TransitionInDays"), id)?)
                    .storage_class(TransitionStorageClass::from(
                        t["StorageClass"].as_str().unwrap_or_default(),
                    ))
                    .build(),
            );
        }
        if r.get("ExpirationInDays").is_some() {
            rule = rule.expiration(
                LifecycleExpiration::builder()
                    .days(number(r.get("ExpirationInDays"), id)?)
                    .build(),
            );
        }
        if let Some(n) = r.get("NoncurrentVersionExpiration") {
            rule = rule.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(number(n.get("NoncurrentDays"), id)?)
                    .build(),
            );
        }
        lifecycle = lifecycle.rules(
            rule.build()
                .map_err(|e| anyhow!("lifecycle rule {id}: {e}"))?,
        );
    }
    s3.put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(lifecycle.build().map_err(|e| anyhow!("lifecycle: {e}"))?)
        .send()
        .await
        .map_err(s3_error)?;
    debug!(bucket = %name, rules = rules.len(), "bucket configured");
    Ok(())
}

async fn ensure_queue(sqs: &aws_sdk_sqs::Client, q: &QueueSpec) -> anyhow::Result<String> {
    let attributes = || {
        q.attributes
            .iter()
            .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let created = sqs
        .create_queue()
        .queue_name(&q.queue_name)
        .set_attributes(Some(attributes()))
        .send()
        .await;
    match created {
        Ok(out) => {
            let url = out
                .queue_url
                .ok_or_else(|| anyhow!("CreateQueue returned no URL"))?;
            info!(queue = %q.queue_name, "queue ready");
            Ok(url)
        }
        // The queue exists with other attributes (the template changed): update them.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_queue_name_exists()) =>
        {
            let url = sqs
                .get_queue_url()
                .queue_name(&q.queue_name)
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?
                .queue_url
                .ok_or_else(|| anyhow!("GetQueueUrl returned no URL"))?;
            let mut attrs = attributes();
            // FIFO-ness cannot change after creation.
            attrs.remove(&QueueAttributeName::FifoQueue);
            sqs.set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(attrs))
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            info!(queue = %q.queue_name, "queue attributes updated");
            Ok(url)
        }
        Err(e) => Err(anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e))),
    }
}
