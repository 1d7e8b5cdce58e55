//! Reads `template.yaml` (AWS SAM / CloudFormation) and turns the resources the local stack
//! can emulate into plain specs: DynamoDB tables, SQS queues, S3 buckets and the functions
//! with their environment and SQS event source mappings.
//!
//! The template is the single source of truth: nothing here lists resource names by hand.
//!
//! Flow:
//! 1. [`Template::parse`] converts the YAML into JSON. CloudFormation short tags (`!Ref`,
//!    `!GetAtt`, `!Sub`, ...) become their long forms (`{"Ref": ..}`, `{"Fn::GetAtt": [..]}`,
//!    `{"Fn::Sub": ..}`), so later code deals with one syntax only.
//! 2. [`Template::plan`] gives every table, queue and bucket its physical name and its ARN
//!    (no I/O needed) and returns a [`Plan`] with the resources in creation order (a queue's
//!    dead-letter queue comes before it) and a [`Context`] for resolving intrinsics.
//! 3. Once a queue exists, the caller records its URL with [`Context::set_ref`] (a `!Ref` of a
//!    queue is its URL, which only the server knows).
//! 4. [`Template::functions`] resolves each function's environment (merged with
//!    `Globals.Function.Environment`) and reads its `SQS` and `HttpApi` events.
//!
//! [`Template::set_property`] changes one property of a resource before any of this, as an
//! edited copy of the template would (the local stack's [`PropertyOverride`]s: a short
//! `Timeout` for a function, say, with a queue `VisibilityTimeout` to match).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Account id used for ARNs and `${AWS::AccountId}` locally (moto's default account).
pub const LOCAL_ACCOUNT_ID: &str = "123456789012";

/// Errors from reading or resolving the template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file is not valid YAML.
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// A section or property does not have the expected shape.
    #[error("template shape: {0}")]
    Shape(String),
    /// A `Ref`, `GetAtt` or `${..}` names something the local stack does not know (yet).
    #[error("cannot resolve `{0}` locally")]
    Unresolved(String),
    /// An intrinsic function the local stack does not evaluate.
    #[error("intrinsic function `{0}` is not supported by the local stack")]
    UnsupportedIntrinsic(String),
    /// Resources reference each other in a cycle.
    #[error("resources reference each other in a cycle: {0:?}")]
    Cycle(Vec<String>),
}

type Result<T, E = TemplateError> = std::result::Result<T, E>;

fn shape(msg: impl Into<String>) -> TemplateError {
    TemplateError::Shape(msg.into())
}

/// One resource of the template, with its properties in long-form JSON.
#[derive(Debug, Clone)]
pub struct Resource {
    /// CloudFormation type, e.g. `AWS::SQS::Queue`.
    pub kind: String,
    /// `Properties` (an empty object when absent).
    pub properties: Value,
    /// `Metadata` (null when absent).
    pub metadata: Value,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Parameter name → default value (as a string), `None` when the parameter has no default.
    pub parameters: BTreeMap<String, Option<String>>,
    /// `Globals.Function` (an empty object when absent).
    pub function_globals: Value,
    /// Logical id → resource.
    pub resources: BTreeMap<String, Resource>,
    /// Condition name → its expression (`Conditions`).
    pub conditions: BTreeMap<String, Value>,
}

/// One property of one resource set to another value before the stack is built, as if the
/// template said so: `Timeout` of a function, `VisibilityTimeout` of a queue, or a nested one
/// such as `Environment.Variables.LEASE_SECS`. See [`Template::set_property`].
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyOverride {
    /// Logical id of the resource, e.g. `DownloaderFunction`.
    pub resource: String,
    /// Property path under `Properties`, dot-separated, e.g. `Timeout` or
    /// `Environment.Variables.LEASE_SECS`.
    pub path: String,
    /// The new value (a number, a string, or any JSON value the property takes).
    pub value: Value,
}

impl PropertyOverride {
    /// `resource`'s property at `path` becomes `value`.
    pub fn new(resource: &str, path: &str, value: impl Into<Value>) -> PropertyOverride {
        PropertyOverride {
            resource: resource.into(),
            path: path.into(),
            value: value.into(),
        }
    }
}

/// Converts YAML into JSON, rewriting CloudFormation short tags into their long forms.
pub fn yaml_to_json(yaml: &serde_norway::Value) -> Result<Value> {
    use serde_norway::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or_default();
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| shape(format!("number {f} cannot be represented")))?
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(yaml_to_json).collect::<Result<_>>()?),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    other => return Err(shape(format!("unsupported mapping key {other:?}"))),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = yaml_to_json(&tagged.value)?;
            let (key, value) = match name {
                "Ref" => ("Ref".to_string(), inner),
                "Condition" => ("Condition".to_string(), inner),
                "GetAtt" => {
                    let value = match inner {
                        Value::String(s) => {
                            let (res, attr) = s.split_once('.').ok_or_else(|| {
                                shape(format!("!GetAtt {s} needs Resource.Attribute"))
                            })?;
                            Value::Array(vec![res.into(), attr.into()])
                        }
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), value)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut out = Map::new();
            out.insert(key, value);
            Value::Object(out)
        }
    })
}

fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Template {
    /// Parses the text of a SAM / CloudFormation template.
    pub fn parse(text: &str) -> Result<Template> {
        let yaml: serde_norway::Value = serde_norway::from_str(text)?;
        let doc = yaml_to_json(&yaml)?;
        let doc = doc
            .as_object()
            .ok_or_else(|| shape("the template is not a mapping"))?;

        let mut parameters = BTreeMap::new();
        if let Some(params) = doc.get("Parameters") {
            let params = params
                .as_object()
                .ok_or_else(|| shape("Parameters is not a mapping"))?;
            for (name, p) in params {
                parameters.insert(name.clone(), p.get("Default").and_then(scalar_to_string));
            }
        }

        let function_globals = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));

        let mut resources = BTreeMap::new();
        let res = doc
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| shape("Resources is missing or not a mapping"))?;
        for (id, r) in res {
            let kind = r
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| shape(format!("resource {id} has no Type")))?
                .to_string();
            let properties = r
                .get("Properties")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()));
            let metadata = r.get("Metadata").cloned().unwrap_or(Value::Null);
            resources.insert(
                id.clone(),
                Resource {
                    kind,
                    properties,
                    metadata,
                },
            );
        }
        let conditions = match doc.get("Conditions") {
            Some(c) => c
                .as_object()
                .ok_or_else(|| shape("Conditions is not a mapping"))?
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            None => BTreeMap::new(),
        };
        Ok(Template {
            parameters,
            function_globals,
            resources,
            conditions,
        })
    }

    /// Gives a parameter a value other than its default, as `--parameter-overrides` would. Fails for a
    /// parameter the template does not declare.
    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        let slot = self
            .parameters
            .get_mut(name)
            .ok_or_else(|| shape(format!("no parameter {name} to override")))?;
        *slot = Some(value.to_owned());
        Ok(())
    }

    /// Sets `Properties.<path>` of resource `resource` to `value` (`path` is dot-separated;
    /// missing mappings on the way are created). Fails for an unknown resource, an empty path
    /// segment, or a path through a value that is not a mapping.
    pub fn set_property(&mut self, resource: &str, path: &str, value: Value) -> Result<()> {
        let r = self
            .resources
            .get_mut(resource)
            .ok_or_else(|| shape(format!("no resource {resource} to override")))?;
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(shape(format!("{resource}: bad property path {path:?}")));
        }
        let (last, parents) = segments.split_last().expect("split gives one segment");
        let mut at = &mut r.properties;
        for seg in parents {
            let obj = at
                .as_object_mut()
                .ok_or_else(|| shape(format!("{resource}.{path}: {seg} is under a non-mapping")))?;
            at = obj
                .entry(seg.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        at.as_object_mut()
            .ok_or_else(|| shape(format!("{resource}.{path}: not under a mapping")))?
            .insert(last.to_string(), value);
        Ok(())
    }

    /// Applies [`Template::set_property`] for each override, in order.
    pub fn apply(&mut self, overrides: &[PropertyOverride]) -> Result<()> {
        for o in overrides {
            self.set_property(&o.resource, &o.path, o.value.clone())?;
        }
        Ok(())
    }

    /// Logical ids of the resources of one CloudFormation type, sorted.
    pub fn ids_of(&self, kind: &str) -> Vec<&str> {
        self.resources
            .iter()
            .filter(|(_, r)| r.kind == kind)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Names every table, queue and bucket, computes their ARNs, and orders them for creation.
    ///
    /// Names come from `TableName` / `QueueName` / `BucketName` when set (resolved against
    /// the pseudo parameters and parameter defaults), otherwise `<stack>-<logical id lowercased>`
    /// (plus `.fifo` for a FIFO queue).
    pub fn plan(&self, stack_name: &str, region: &str) -> Result<Plan> {
        let mut ctx = Context::new(stack_name, region, LOCAL_ACCOUNT_ID);
        ctx.conditions = self.conditions.clone();
        for (name, default) in &self.parameters {
            if let Some(d) = default {
                ctx.parameters.insert(name.clone(), d.clone());
            }
        }

        let mut specs: BTreeMap<String, ResourceSpec> = BTreeMap::new();
        for (id, r) in &self.resources {
            let default_name = format!("{stack_name}-{}", id.to_ascii_lowercase());
            match r.kind.as_str() {
                "AWS::DynamoDB::Table" => {
                    let name =
                        opt_string(&ctx, &r.properties, "TableName")?.unwrap_or(default_name);
                    let arn = format!("arn:aws:dynamodb:{region}:{}:table/{name}", ctx.account_id);
                    ctx.set_ref(id, &name);
                    ctx.set_attr(id, "Arn", &arn);
                    specs.insert(
                        id.clone(),
                        ResourceSpec::Table(TableSpec::read(id, name, &r.properties)?),
                    );
                }
                "AWS::S3::Bucket" => {
                    let name =
                        opt_string(&ctx, &r.properties, "BucketName")?.unwrap_or(default_name);
                    ctx.set_ref(id, &name);
                    ctx.set_attr(id, "Arn", &format!("arn:aws:s3:::{name}"));
                    ctx.set_attr(id, "DomainName", &format!("{name}.s3.amazonaws.com"));
                    specs.insert(
                        id.clone(),
                        ResourceSpec::Bucket(BucketSpec {
                            logical_id: id.clone(),
                            bucket_name: name,
                            properties: ctx.resolve(&r.properties)?,
                        }),
                    );
                }
                "AWS::SQS::Queue" => {
                    let fifo = r
                        .properties
                        .get("FifoQueue")
                        .map(|v| ctx.resolve_string(v))
                        .transpose()?
                        .is_some_and(|s| s == "true");
                    let name = match opt_string(&ctx, &r.properties, "QueueName")? {
                        Some(n) => n,
                        None if fifo => format!("{default_name}.fifo"),
                        None => default_name,
                    };
                    let arn = format!("arn:aws:sqs:{region}:{}:{name}", ctx.account_id);
                    ctx.set_attr(id, "Arn", &arn);
                    ctx.set_attr(id, "QueueName", &name);
                    specs.insert(
                        id.clone(),
                        ResourceSpec::Queue(QueueSpec {
                            logical_id: id.clone(),
                            queue_name: name,
                            arn,
                            attributes: BTreeMap::new(),
                        }),
                    );
                }
                _ => {}
            }
        }

        // Queue attributes may reference other queues' ARNs (RedrivePolicy), known by now.
        for (id, spec) in specs.iter_mut() {
            if let ResourceSpec::Queue(q) = spec {
                q.attributes = queue_attributes(&ctx, &self.resources[id].properties)?;
            }
        }

        let order = creation_order(self, &specs)?;
        let resources = order
            .into_iter()
            .map(|id| specs.remove(&id).expect("ordered id has a spec"))
            .collect();
        Ok(Plan {
            resources,
            context: ctx,
        })
    }

    /// Every `AWS::Serverless::Function`, with its environment resolved against `ctx`.
    ///
    /// Call it after the queues exist and their URLs are recorded in `ctx` (a `!Ref` of a queue
    /// in an environment variable resolves to its URL).
    pub fn functions(&self, ctx: &Context) -> Result<Vec<FunctionSpec>> {
        let global_env = self
            .function_globals
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .cloned();
        let mut out = Vec::new();
        for id in self.ids_of("AWS::Serverless::Function") {
            let r = &self.resources[id];
            let p = &r.properties;
            let binary = r
                .metadata
                .get("BuildProperties")
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .ok_or_else(|| shape(format!("{id}: Metadata.BuildProperties.Binary is missing")))?
                .to_string();

            let mut environment = BTreeMap::new();
            let own_env = p
                .get("Environment")
                .and_then(|e| e.get("Variables"))
                .cloned();
            for vars in [global_env.as_ref(), own_env.as_ref()]
                .into_iter()
                .flatten()
            {
                let vars = vars.as_object().ok_or_else(|| {
                    shape(format!("{id}: Environment.Variables is not a mapping"))
                })?;
                for (k, v) in vars {
                    let value = ctx
                        .resolve_string(v)
                        .map_err(|e| shape(format!("{id}: environment variable {k}: {e}")))?;
                    environment.insert(k.clone(), value);
                }
            }

            let number = |key: &str, default: u64| -> Result<u64> {
                match p.get(key).or_else(|| self.function_globals.get(key)) {
                    None => Ok(default),
                    Some(v) => {
                        let s = ctx.resolve_string(v)?;
                        s.parse::<u64>()
                            .map_err(|_| shape(format!("{id}: bad {key} {s}")))
                    }
                }
            };
            let timeout = number("Timeout", 3)?;
            let memory_mb = number("MemorySize", 128)?;

            let mut sqs_events = Vec::new();
            let mut http_events = Vec::new();
            if let Some(events) = p.get("Events").and_then(Value::as_object) {
                for (event_id, ev) in events {
                    let kind = ev.get("Type").and_then(Value::as_str).unwrap_or_default();
                    let props = ev.get("Properties").cloned().unwrap_or(Value::Null);
                    match kind {
                        "SQS" => {
                            let enabled = props
                                .get("Enabled")
                                .map(|v| ctx.resolve_string(v))
                                .transpose()?
                                .is_none_or(|s| s != "false");
                            if !enabled {
                                continue;
                            }
                            let queue_arn =
                                ctx.resolve_string(props.get("Queue").ok_or_else(|| {
                                    shape(format!("{id}.{event_id}: SQS event without Queue"))
                                })?)?;
                            let queue_logical_id = ctx
                                .logical_id_with_attr("Arn", &queue_arn)
                                .ok_or_else(|| TemplateError::Unresolved(queue_arn.clone()))?
                                .to_string();
                            let batch_size = props
                                .get("BatchSize")
                                .map(|v| ctx.resolve_string(v))
                                .transpose()?
                                .map(|s| {
                                    s.parse::<u32>().map_err(|_| {
                                        shape(format!("{id}.{event_id}: bad BatchSize {s}"))
                                    })
                                })
                                .transpose()?
                                .unwrap_or(10);
                            let report_batch_item_failures = props
                                .get("FunctionResponseTypes")
                                .and_then(Value::as_array)
                                .is_some_and(|types| {
                                    types.iter().any(|t| t == "ReportBatchItemFailures")
                                });
                            let maximum_concurrency = props
                                .get("ScalingConfig")
                                .and_then(|c| c.get("MaximumConcurrency"))
                                .map(|v| ctx.resolve_string(v))
                                .transpose()?
                                .map(|s| {
                                    s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                                        shape(format!(
                                            "{id}.{event_id}: bad ScalingConfig.MaximumConcurrency {s}"
                                        ))
                                    })
                                })
                                .transpose()?;
                            sqs_events.push(SqsEventSpec {
                                event_id: event_id.clone(),
                                queue_logical_id,
                                queue_arn,
                                batch_size,
                                report_batch_item_failures,
                                maximum_concurrency,
                            });
                        }
                        "HttpApi" => {
                            let method = props
                                .get("Method")
                                .and_then(Value::as_str)
                                .unwrap_or("ANY")
                                .to_ascii_uppercase();
                            let path = props
                                .get("Path")
                                .and_then(Value::as_str)
                                .unwrap_or("/")
                                .to_string();
                            http_events.push(HttpEventSpec {
                                event_id: event_id.clone(),
                                method,
                                path,
                            });
                        }
                        _ => {}
                    }
                }
            }

            out.push(FunctionSpec {
                logical_id: id.to_string(),
                binary,
                timeout_secs: timeout,
                memory_mb,
                environment,
                sqs_events,
                http_events,
            });
        }
        Ok(out)
    }
}

fn opt_string(ctx: &Context, props: &Value, key: &str) -> Result<Option<String>> {
    props.get(key).map(|v| ctx.resolve_string(v)).transpose()
}

/// CloudFormation queue properties that map 1:1 onto SQS `CreateQueue` attributes.
const QUEUE_SCALAR_ATTRIBUTES: &[&str] = &[
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
];

fn queue_attributes(ctx: &Context, props: &Value) -> Result<BTreeMap<String, String>> {
    let mut attrs = BTreeMap::new();
    for key in QUEUE_SCALAR_ATTRIBUTES {
        if let Some(v) = props.get(*key) {
            attrs.insert(key.to_string(), ctx.resolve_string(v)?);
        }
    }
    for key in ["RedrivePolicy", "RedriveAllowPolicy"] {
        if let Some(v) = props.get(key) {
            let resolved = ctx.resolve(v)?;
            let text = match resolved {
                Value::String(s) => s,
                Value::Object(mut obj) => {
                    // SQS wants maxReceiveCount as a number.
                    if let Some(Value::String(s)) = obj.get("maxReceiveCount")
                        && let Ok(n) = s.parse::<u64>()
                    {
                        obj.insert("maxReceiveCount".into(), Value::from(n));
                    }
                    Value::Object(obj).to_string()
                }
                other => return Err(shape(format!("{key} must be a mapping, got {other}"))),
            };
            attrs.insert(key.to_string(), text);
        }
    }
    Ok(attrs)
}

/// Orders the resources so that each comes after the resources it references.
fn creation_order(t: &Template, specs: &BTreeMap<String, ResourceSpec>) -> Result<Vec<String>> {
    let mut deps: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for id in specs.keys() {
        let refs = references(&t.resources[id].properties);
        deps.insert(
            id.as_str(),
            refs.into_iter()
                .filter(|r| r != id && specs.contains_key(r))
                .collect(),
        );
    }
    let mut order = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    while order.len() < specs.len() {
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(id, d)| !done.contains(**id) && d.iter().all(|x| done.contains(x)))
            .map(|(id, _)| *id)
            .collect();
        if ready.is_empty() {
            let rest = deps
                .keys()
                .filter(|id| !done.contains(**id))
                .map(|s| s.to_string())
                .collect();
            return Err(TemplateError::Cycle(rest));
        }
        for id in ready {
            done.insert(id.to_string());
            order.push(id.to_string());
        }
    }
    Ok(order)
}

/// Logical ids referenced by `Ref`, `Fn::GetAtt` and `${..}` in `Fn::Sub` (pseudo parameters
/// such as `AWS::Region` and `Fn::Sub` local variables excluded).
pub fn references(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_references(v, &mut out);
    out
}

fn collect_references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_references(i, out)),
        Value::Object(obj) => {
            if obj.len() == 1 {
                let (k, arg) = obj.iter().next().expect("one entry");
                match k.as_str() {
                    "Ref" => {
                        if let Some(s) = arg.as_str()
                            && !s.starts_with("AWS::")
                        {
                            out.insert(s.to_string());
                        }
                        return;
                    }
                    "Fn::GetAtt" => {
                        if let Some(s) = arg.get(0).and_then(Value::as_str) {
                            out.insert(s.to_string());
                        }
                        return;
                    }
                    "Fn::Sub" => {
                        let (text, vars) = match arg {
                            Value::String(s) => (s.as_str(), None),
                            Value::Array(a) => (
                                a.first().and_then(Value::as_str).unwrap_or_default(),
                                a.get(1).and_then(Value::as_object),
                            ),
                            _ => ("", None),
                        };
                        for name in sub_placeholders(text) {
                            let base = name.split('.').next().unwrap_or_default();
                            if !base.starts_with("AWS::")
                                && !vars.is_some_and(|m| m.contains_key(name))
                            {
                                out.insert(base.to_string());
                            }
                        }
                        if let Some(m) = vars {
                            m.values().for_each(|x| collect_references(x, out));
                        }
                        return;
                    }
                    _ => {}
                }
            }
            obj.values().for_each(|x| collect_references(x, out));
        }
        _ => {}
    }
}

/// The `${name}` placeholders of a `Fn::Sub` string (`${!literal}` skipped).
fn sub_placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if !name.starts_with('!') {
                    out.push(name.trim());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Values for intrinsic functions: pseudo parameters, parameter defaults, and what each
/// resource's `Ref` and `GetAtt` attributes resolve to locally.
#[derive(Debug, Clone)]
pub struct Context {
    /// `AWS::StackName`.
    pub stack_name: String,
    /// `AWS::Region`.
    pub region: String,
    /// `AWS::AccountId`.
    pub account_id: String,
    /// Parameter name → value (the template's defaults).
    pub parameters: BTreeMap<String, String>,
    /// Condition name → expression (the template's `Conditions`), for `Fn::If`.
    pub conditions: BTreeMap<String, Value>,
    refs: BTreeMap<String, String>,
    attrs: BTreeMap<(String, String), String>,
}

impl Context {
    /// A context with only pseudo parameters.
    pub fn new(stack_name: &str, region: &str, account_id: &str) -> Context {
        Context {
            stack_name: stack_name.into(),
            region: region.into(),
            account_id: account_id.into(),
            parameters: BTreeMap::new(),
            conditions: BTreeMap::new(),
            refs: BTreeMap::new(),
            attrs: BTreeMap::new(),
        }
    }

    /// Records what `!Ref <logical_id>` resolves to (table name, bucket name, queue URL).
    pub fn set_ref(&mut self, logical_id: &str, value: &str) {
        self.refs.insert(logical_id.into(), value.into());
    }

    /// Records what `!GetAtt <logical_id>.<attr>` resolves to.
    pub fn set_attr(&mut self, logical_id: &str, attr: &str, value: &str) {
        self.attrs
            .insert((logical_id.into(), attr.into()), value.into());
    }

    /// What `!Ref <logical_id>` resolves to, if known.
    pub fn get_ref(&self, logical_id: &str) -> Option<&str> {
        self.refs.get(logical_id).map(String::as_str)
    }

    /// What `!GetAtt <logical_id>.<attr>` resolves to, if known.
    pub fn get_attr(&self, logical_id: &str, attr: &str) -> Option<&str> {
        self.attrs
            .get(&(logical_id.to_string(), attr.to_string()))
            .map(String::as_str)
    }

    /// Every recorded `Ref` value, by logical id.
    pub fn refs(&self) -> &BTreeMap<String, String> {
        &self.refs
    }

    /// The logical id whose attribute `attr` equals `value` (e.g. the queue with a given ARN).
    pub fn logical_id_with_attr(&self, attr: &str, value: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|((_, a), v)| a == attr && v.as_str() == value)
            .map(|((id, _), _)| id.as_str())
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        Some(match name {
            "AWS::StackName" => self.stack_name.clone(),
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => self.account_id.clone(),
            "AWS::Partition" => "aws".into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackId" => format!(
                "arn:aws:cloudformation:{}:{}:stack/{}/local",
                self.region, self.account_id, self.stack_name
            ),
            _ => return None,
        })
    }

    fn lookup_ref(&self, name: &str) -> Result<String> {
        self.pseudo(name)
            .or_else(|| self.parameters.get(name).cloned())
            .or_else(|| self.refs.get(name).cloned())
            .ok_or_else(|| TemplateError::Unresolved(format!("Ref {name}")))
    }

    fn lookup_attr(&self, res: &str, attr: &str) -> Result<String> {
        self.get_attr(res, attr)
            .map(str::to_string)
            .ok_or_else(|| TemplateError::Unresolved(format!("GetAtt {res}.{attr}")))
    }

    /// Resolves intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, and `Fn::If` on the
    /// template's conditions) anywhere in `v`; a value that is `!Ref AWS::NoValue` is left out of its
    /// mapping or list (`Null` if it is `v` itself).
    pub fn resolve(&self, v: &Value) -> Result<Value> {
        Ok(self.resolve_opt(v)?.unwrap_or(Value::Null))
    }

    fn resolve_opt(&self, v: &Value) -> Result<Option<Value>> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.resolve_opt(i)?);
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(obj) => {
                if obj.len() == 1 {
                    let (k, arg) = obj.iter().next().expect("one entry");
                    if k == "Ref" && arg.as_str() == Some("AWS::NoValue") {
                        return Ok(None);
                    }
                    if k == "Fn::If" {
                        let parts = arg.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
                            shape(format!("Fn::If needs [condition, then, else], got {arg}"))
                        })?;
                        let name = parts[0]
                            .as_str()
                            .ok_or_else(|| shape("Fn::If condition must be a name"))?;
                        let chosen = if self.condition(name)? {
                            &parts[1]
                        } else {
                            &parts[2]
                        };
                        return self.resolve_opt(chosen);
                    }
                    if k == "Ref" || k.starts_with("Fn::") {
                        return self.intrinsic(k, arg).map(|s| Some(Value::String(s)));
                    }
                }
                let mut out = Map::new();
                for (k, x) in obj {
                    if let Some(r) = self.resolve_opt(x)? {
                        out.insert(k.clone(), r);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// Whether the template's condition `name` holds (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and
    /// `Condition` over parameters and pseudo parameters).
    pub fn condition(&self, name: &str) -> Result<bool> {
        let expr = self
            .conditions
            .get(name)
            .ok_or_else(|| TemplateError::Unresolved(format!("Condition {name}")))?;
        self.truth(expr)
    }

    fn truth(&self, v: &Value) -> Result<bool> {
        let (k, arg) = v
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
            .ok_or_else(|| shape(format!("not a condition: {v}")))?;
        let list = |n: Option<usize>| {
            arg.as_array()
                .filter(|a| n.is_none_or(|n| a.len() == n))
                .ok_or_else(|| shape(format!("{k} arguments: {arg}")))
        };
        match k.as_str() {
            "Condition" => self.condition(
                arg.as_str()
                    .ok_or_else(|| shape("Condition needs a name"))?,
            ),
            "Fn::Equals" => {
                let a = list(Some(2))?;
                Ok(self.resolve_string(&a[0])? == self.resolve_string(&a[1])?)
            }
            "Fn::Not" => Ok(!self.truth(&list(Some(1))?[0])?),
            "Fn::And" => list(None)?
                .iter()
                .try_fold(true, |acc, c| Ok(acc && self.truth(c)?)),
            "Fn::Or" => list(None)?
                .iter()
                .try_fold(false, |acc, c| Ok(acc || self.truth(c)?)),
            other => Err(TemplateError::UnsupportedIntrinsic(other.to_string())),
        }
    }

    /// Resolves `v` and renders it as a string (numbers and booleans as text).
    pub fn resolve_string(&self, v: &Value) -> Result<String> {
        let resolved = self.resolve(v)?;
        scalar_to_string(&resolved)
            .ok_or_else(|| shape(format!("expected a string, got {resolved}")))
    }

    fn intrinsic(&self, name: &str, arg: &Value) -> Result<String> {
        match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or_else(|| shape(format!("Ref needs a name, got {arg}")))?;
                self.lookup_ref(target)
            }
            "Fn::GetAtt" => {
                let res = arg.get(0).and_then(Value::as_str);
                let attr = arg.get(1).map(|a| self.resolve_string(a)).transpose()?;
                match (res, attr) {
                    (Some(r), Some(a)) => self.lookup_attr(r, &a),
                    _ => Err(shape(format!(
                        "Fn::GetAtt needs [Resource, Attribute], got {arg}"
                    ))),
                }
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str()
                            .ok_or_else(|| shape("Fn::Sub template must be a string"))?,
                        Some(
                            a[1].as_object()
                                .ok_or_else(|| shape("Fn::Sub variables must be a mapping"))?,
                        ),
                    ),
                    other => return Err(shape(format!("Fn::Sub argument {other}"))),
                };
                self.sub(text, vars)
            }
            "Fn::Join" => {
                let parts = arg.as_array().filter(|a| a.len() == 2).ok_or_else(|| {
                    shape(format!("Fn::Join needs [delimiter, [values]], got {arg}"))
                })?;
                let delim = parts[0]
                    .as_str()
                    .ok_or_else(|| shape("Fn::Join delimiter must be a string"))?;
                let list = self.resolve(&parts[1])?;
                let items = list
                    .as_array()
                    .ok_or_else(|| shape("Fn::Join values must be a list"))?
                    .iter()
                    .map(|i| scalar_to_string(i).ok_or_else(|| shape("Fn::Join value")))
                    .collect::<Result<Vec<_>>>()?;
                Ok(items.join(delim))
            }
            other => Err(TemplateError::UnsupportedIntrinsic(other.to_string())),
        }
    }

    fn sub(&self, text: &str, vars: Option<&Map<String, Value>>) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| shape(format!("unterminated ${{ in Fn::Sub {text:?}")))?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.and_then(|m| m.get(name)) {
                out.push_str(&self.resolve_string(v)?);
            } else if let Some((res, attr)) = name.split_once('.')
                && !name.starts_with("AWS::")
            {
                out.push_str(&self.lookup_attr(res, attr)?);
            } else {
                out.push_str(&self.lookup_ref(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Tables, queues and buckets in creation order, and the context to resolve the rest.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Resources to create, each after the ones it references (DLQs before their queues).
    pub resources: Vec<ResourceSpec>,
    /// Pseudo parameters, parameter defaults, names and ARNs (queue URLs are added by the
    /// caller with [`Context::set_ref`] once the queues exist).
    pub context: Context,
}

impl Plan {
    /// The tables of the plan.
    pub fn tables(&self) -> impl Iterator<Item = &TableSpec> {
        self.resources.iter().filter_map(|r| match r {
            ResourceSpec::Table(t) => Some(t),
            _ => None,
        })
    }

    /// The queues of the plan, in creation order.
    pub fn queues(&self) -> impl Iterator<Item = &QueueSpec> {
        self.resources.iter().filter_map(|r| match r {
            ResourceSpec::Queue(q) => Some(q),
            _ => None,
        })
    }

    /// The buckets of the plan.
    pub fn buckets(&self) -> impl Iterator<Item = &BucketSpec> {
        self.resources.iter().filter_map(|r| match r {
            ResourceSpec::Bucket(b) => Some(b),
            _ => None,
        })
    }
}

/// A resource the local stack creates.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceSpec {
    /// `AWS::DynamoDB::Table`.
    Table(TableSpec),
    /// `AWS::SQS::Queue`.
    Queue(QueueSpec),
    /// `AWS::S3::Bucket`.
    Bucket(BucketSpec),
}

impl ResourceSpec {
    /// The logical id in the template.
    pub fn logical_id(&self) -> &str {
        match self {
            ResourceSpec::Table(t) => &t.logical_id,
            ResourceSpec::Queue(q) => &q.logical_id,
            ResourceSpec::Bucket(b) => &b.logical_id,
        }
    }
}

/// A key schema element: attribute name and key type (`HASH` or `RANGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    /// Attribute name.
    pub attribute: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

/// A global or local secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Index name.
    pub name: String,
    /// Key schema.
    pub key_schema: Vec<KeyElement>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    /// Attributes projected with `INCLUDE`.
    pub non_key_attributes: Vec<String>,
}

/// A DynamoDB table read from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Logical id.
    pub logical_id: String,
    /// Physical table name.
    pub table_name: String,
    /// Attribute name → type (`S`, `N`, `B`).
    pub attribute_definitions: Vec<(String, String)>,
    /// Primary key.
    pub key_schema: Vec<KeyElement>,
    /// Global secondary indexes.
    pub global_indexes: Vec<IndexSpec>,
    /// Local secondary indexes.
    pub local_indexes: Vec<IndexSpec>,
    /// `PAY_PER_REQUEST` or `PROVISIONED` (CloudFormation's default).
    pub billing_mode: String,
    /// TTL attribute when `TimeToLiveSpecification.Enabled` is true.
    pub ttl_attribute: Option<String>,
}

fn key_schema(v: Option<&Value>, what: &str) -> Result<Vec<KeyElement>> {
    v.and_then(Value::as_array)
        .ok_or_else(|| shape(format!("{what}: KeySchema missing")))?
        .iter()
        .map(|k| {
            Ok(KeyElement {
                attribute: k
                    .get("AttributeName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| shape(format!("{what}: KeySchema AttributeName")))?
                    .into(),
                key_type: k
                    .get("KeyType")
                    .and_then(Value::as_str)
                    .ok_or_else(|| shape(format!("{what}: KeySchema KeyType")))?
                    .into(),
            })
        })
        .collect()
}

fn indexes(v: Option<&Value>, what: &str) -> Result<Vec<IndexSpec>> {
    let Some(list) = v else { return Ok(Vec::new()) };
    list.as_array()
        .ok_or_else(|| shape(format!("{what}: indexes must be a list")))?
        .iter()
        .map(|ix| {
            let name = ix
                .get("IndexName")
                .and_then(Value::as_str)
                .ok_or_else(|| shape(format!("{what}: IndexName")))?
                .to_string();
            let projection = ix.get("Projection");
            Ok(IndexSpec {
                key_schema: key_schema(ix.get("KeySchema"), &format!("{what} index {name}"))?,
                projection_type: projection
                    .and_then(|p| p.get("ProjectionType"))
                    .and_then(Value::as_str)
                    .unwrap_or("ALL")
                    .into(),
                non_key_attributes: projection
                    .and_then(|p| p.get("NonKeyAttributes"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                name,
            })
        })
        .collect()
}

impl TableSpec {
    fn read(id: &str, table_name: String, p: &Value) -> Result<TableSpec> {
        let attribute_definitions = p
            .get("AttributeDefinitions")
            .and_then(Value::as_array)
            .ok_or_else(|| shape(format!("{id}: AttributeDefinitions missing")))?
            .iter()
            .map(|a| {
                let name = a.get("AttributeName").and_then(Value::as_str);
                let ty = a.get("AttributeType").and_then(Value::as_str);
                match (name, ty) {
                    (Some(n), Some(t)) => Ok((n.to_string(), t.to_string())),
                    _ => Err(shape(format!("{id}: bad AttributeDefinitions entry {a}"))),
                }
            })
            .collect::<Result<_>>()?;
        let ttl = p.get("TimeToLiveSpecification");
        let ttl_attribute = ttl
            .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
            .and_then(|t| t.get("AttributeName"))
            .and_then(Value::as_str)
            .map(String::from);
        Ok(TableSpec {
            logical_id: id.into(),
            table_name,
            attribute_definitions,
            key_schema: key_schema(p.get("KeySchema"), id)?,
            global_indexes: indexes(p.get("GlobalSecondaryIndexes"), id)?,
            local_indexes: indexes(p.get("LocalSecondaryIndexes"), id)?,
            billing_mode: p
                .get("BillingMode")
                .and_then(Value::as_str)
                .unwrap_or("PROVISIONED")
                .into(),
            ttl_attribute,
        })
    }
}

/// An SQS queue read from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// Logical id.
    pub logical_id: String,
    /// Physical queue name.
    pub queue_name: String,
    /// Queue ARN (`arn:aws:sqs:<region>:<account>:<name>`).
    pub arn: String,
    /// `CreateQueue` attributes (e.g. `VisibilityTimeout`, `RedrivePolicy` as JSON text).
    pub attributes: BTreeMap<String, String>,
}

/// An S3 bucket read from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    /// Logical id.
    pub logical_id: String,
    /// Physical bucket name.
    pub bucket_name: String,
    /// Its properties with parameters and conditions resolved (versioning, lifecycle, object lock).
    pub properties: Value,
}

/// An `SQS` event of a function: Lambda's event source mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsEventSpec {
    /// Event id under `Events`.
    pub event_id: String,
    /// Logical id of the queue.
    pub queue_logical_id: String,
    /// Queue ARN (`eventSourceARN` in the records).
    pub queue_arn: String,
    /// Maximum records per invocation (default 10).
    pub batch_size: u32,
    /// `FunctionResponseTypes` contains `ReportBatchItemFailures`.
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: at most this many invocations at once for this mapping
    /// (`None`: Lambda scales the mapping out as it likes).
    pub maximum_concurrency: Option<u32>,
}

/// An `HttpApi` event of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEventSpec {
    /// Event id under `Events`.
    pub event_id: String,
    /// HTTP method (upper case; `ANY` when absent).
    pub method: String,
    /// Route path, e.g. `/webhooks/{vendor}/{connection_id}`.
    pub path: String,
}

/// An `AWS::Serverless::Function` read from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// Logical id.
    pub logical_id: String,
    /// Cargo binary (`Metadata.BuildProperties.Binary`); also its name in the invoke API.
    pub binary: String,
    /// `Timeout` in seconds (function, then Globals, then Lambda's default of 3).
    pub timeout_secs: u64,
    /// `MemorySize` in MB (function, then Globals, then Lambda's default of 128).
    pub memory_mb: u64,
    /// `Globals.Function.Environment.Variables` merged with the function's own, resolved.
    pub environment: BTreeMap<String, String>,
    /// SQS event source mappings.
    pub sqs_events: Vec<SqsEventSpec>,
    /// HTTP API routes.
    pub http_events: Vec<HttpEventSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REAL_TEMPLATE: &str = include_str!("../../../template.yaml");

    fn ctx() -> Context {
        let mut c = Context::new("stk", "us-east-1", LOCAL_ACCOUNT_ID);
        c.parameters.insert("Prefix".into(), "archiver/".into());
        c.set_ref("Queue", "http://localhost/123456789012/stk-q");
        c.set_attr("Queue", "Arn", "arn:aws:sqs:us-east-1:123456789012:stk-q");
        c
    }

    #[test]
    fn short_tags_become_long_form() {
        let y: serde_norway::Value = serde_norway::from_str(
            "a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub '${AWS::StackName}-x'\nd: !GetAtt [Q, Arn]\ne: !Join ['-', [a, !Ref X]]\nf: 5\n",
        )
        .unwrap();
        let j = yaml_to_json(&y).unwrap();
        assert_eq!(
            j,
            json!({
                "a": {"Ref": "X"},
                "b": {"Fn::GetAtt": ["Q", "Arn"]},
                "c": {"Fn::Sub": "${AWS::StackName}-x"},
                "d": {"Fn::GetAtt": ["Q", "Arn"]},
                "e": {"Fn::Join": ["-", ["a", {"Ref": "X"}]]},
                "f": 5
            })
        );
    }

    #[test]
    fn resolves_refs_getatt_sub_and_join() {
        let c = ctx();
        assert_eq!(
            c.resolve_string(&json!({"Ref": "Queue"})).unwrap(),
            "http://localhost/123456789012/stk-q"
        );
        assert_eq!(
            c.resolve_string(&json!({"Ref": "AWS::Region"})).unwrap(),
            "us-east-1"
        );
        assert_eq!(
            c.resolve_string(&json!({"Ref": "Prefix"})).unwrap(),
            "archiver/"
        );
        assert_eq!(
            c.resolve_string(&json!({"Fn::GetAtt": ["Queue", "Arn"]}))
                .unwrap(),
            "arn:aws:sqs:us-east-1:123456789012:stk-q"
        );
        assert_eq!(
            c.resolve_string(&json!({"Fn::Sub": "${AWS::StackName}-events-${AWS::AccountId}"}))
                .unwrap(),
            "stk-events-123456789012"
        );
        assert_eq!(
            c.resolve_string(
                &json!({"Fn::Sub": "arn:${AWS::Partition}:sm:${AWS::Region}:secret:${Prefix}*"})
            )
            .unwrap(),
            "arn:aws:sm:us-east-1:secret:archiver/*"
        );
        assert_eq!(
            c.resolve_string(&json!({"Fn::Sub": "${Queue.Arn}/x ${!Literal} ${v}"}))
                .unwrap_err()
                .to_string(),
            "cannot resolve `Ref v` locally"
        );
        assert_eq!(
            c.resolve_string(&json!({"Fn::Sub": ["${Queue.Arn}/x ${!Literal} ${v}", {"v": {"Ref": "AWS::StackName"}}]}))
                .unwrap(),
            "arn:aws:sqs:us-east-1:123456789012:stk-q/x ${Literal} stk"
        );
        assert_eq!(
            c.resolve_string(&json!({"Fn::Join": [":", ["a", {"Ref": "AWS::Region"}, 3]]}))
                .unwrap(),
            "a:us-east-1:3"
        );
        assert!(matches!(
            c.resolve_string(&json!({"Ref": "Nope"})),
            Err(TemplateError::Unresolved(_))
        ));
        assert!(matches!(
            c.resolve_string(&json!({"Fn::If": ["c", "a", "b"]})),
            Err(TemplateError::Unresolved(_))
        ));
        assert!(matches!(
            c.resolve_string(&json!({"Fn::Select": [0, ["a"]]})),
            Err(TemplateError::UnsupportedIntrinsic(_))
        ));
        // Nested objects are resolved in place.
        assert_eq!(
            c.resolve(&json!({"deadLetterTargetArn": {"Fn::GetAtt": ["Queue", "Arn"]}, "maxReceiveCount": 5}))
                .unwrap(),
            json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:stk-q", "maxReceiveCount": 5})
        );
    }

    #[test]
    fn references_find_dependencies() {
        let v = json!({
            "a": {"Ref": "T"},
            "b": {"Fn::GetAtt": ["Q", "Arn"]},
            "c": {"Fn::Sub": ["${B.Arn}/${AWS::Region}/${x}", {"x": {"Ref": "Z"}}]},
            "d": {"Ref": "AWS::StackName"}
        });
        let r: Vec<String> = references(&v).into_iter().collect();
        assert_eq!(r, ["B", "Q", "T", "Z"]);
    }

    #[test]
    fn plan_of_the_real_template() {
        let t = Template::parse(REAL_TEMPLATE).unwrap();
        let plan = t.plan("archiver-local", "us-east-1").unwrap();

        let tables: Vec<_> = plan.tables().map(|t| t.table_name.as_str()).collect();
        assert_eq!(tables, ["archiver-local-catalog", "archiver-local-config"]);
        let catalog = plan
            .tables()
            .find(|t| t.logical_id == "CatalogTable")
            .unwrap();
        assert_eq!(catalog.billing_mode, "PAY_PER_REQUEST");
        assert_eq!(
            catalog.key_schema,
            [
                KeyElement {
                    attribute: "pk".into(),
                    key_type: "HASH".into()
                },
                KeyElement {
                    attribute: "sk".into(),
                    key_type: "RANGE".into()
                }
            ]
        );
        assert_eq!(catalog.global_indexes.len(), 2);
        let gsi = &catalog.global_indexes[0];
        assert_eq!(gsi.name, "by-state");
        assert_eq!(gsi.projection_type, "ALL");
        assert_eq!(gsi.key_schema[0].attribute, "gsi1pk");
        assert_eq!(gsi.key_schema[1].attribute, "gsi1sk");
        let due = &catalog.global_indexes[1];
        assert_eq!(
            (due.name.as_str(), due.key_schema[0].attribute.as_str()),
            ("by-due", "gsi2pk")
        );
        assert_eq!(catalog.attribute_definitions.len(), 6);
        let config = plan
            .tables()
            .find(|t| t.logical_id == "ConfigTable")
            .unwrap();
        assert!(config.global_indexes.is_empty());

        let buckets: Vec<_> = plan.buckets().map(|b| b.bucket_name.as_str()).collect();
        assert_eq!(buckets, ["archiver-local-mediabucket"]);

        // Every DLQ comes before the queue that redrives into it.
        let queues: Vec<_> = plan.queues().map(|q| q.logical_id.as_str()).collect();
        assert_eq!(queues.len(), 10);
        for (main, dlq, max) in [
            ("EventsQueue", "EventsDLQ", 5),
            ("OwnerQueue", "OwnerDLQ", 5),
            ("DownloadQueue", "DownloadDLQ", 8),
            ("ArchivedQueue", "ArchivedDLQ", 5),
            ("BackfillQueue", "BackfillDLQ", 5),
        ] {
            let pos = |id: &str| queues.iter().position(|q| *q == id).unwrap();
            assert!(pos(dlq) < pos(main), "{dlq} must be created before {main}");
            let q = plan.queues().find(|q| q.logical_id == main).unwrap();
            let redrive: Value = serde_json::from_str(&q.attributes["RedrivePolicy"]).unwrap();
            let dlq_spec = plan.queues().find(|q| q.logical_id == dlq).unwrap();
            assert_eq!(redrive["deadLetterTargetArn"], dlq_spec.arn.as_str());
            assert_eq!(redrive["maxReceiveCount"], max);
            assert_eq!(q.attributes["SqsManagedSseEnabled"], "true");
            assert_eq!(dlq_spec.attributes["MessageRetentionPeriod"], "1209600");
        }
        let events = plan
            .queues()
            .find(|q| q.logical_id == "EventsQueue")
            .unwrap();
        assert_eq!(events.queue_name, "archiver-local-events");
        assert_eq!(
            events.arn,
            "arn:aws:sqs:us-east-1:123456789012:archiver-local-events"
        );
        assert_eq!(events.attributes["VisibilityTimeout"], "360");
        let download = plan
            .queues()
            .find(|q| q.logical_id == "DownloadQueue")
            .unwrap();
        assert_eq!(download.attributes["VisibilityTimeout"], "5400");
        let dlq = plan.queues().find(|q| q.logical_id == "EventsDLQ").unwrap();
        assert_eq!(dlq.queue_name, "archiver-local-events-dlq");
    }

    #[test]
    fn functions_of_the_real_template() {
        let t = Template::parse(REAL_TEMPLATE).unwrap();
        let mut plan = t.plan("archiver-local", "us-east-1").unwrap();
        let queue_names: Vec<(String, String)> = plan
            .queues()
            .map(|q| (q.logical_id.clone(), q.queue_name.clone()))
            .collect();
        for (id, name) in queue_names {
            plan.context
                .set_ref(&id, &format!("http://moto/123456789012/{name}"));
        }
        let fns = t.functions(&plan.context).unwrap();
        let by_bin = |b: &str| fns.iter().find(|f| f.binary == b).unwrap();
        let mut bins: Vec<_> = fns.iter().map(|f| f.binary.as_str()).collect();
        bins.sort();
        assert_eq!(
            bins,
            [
                "backfiller",
                "deleter",
                "deletion-scheduler",
                "downloader",
                "enqueue",
                "owner-resolver",
                "reconciler",
                "sweeper",
                "webhook-validator"
            ]
        );
        // The sweeper runs on a schedule: no queue feeds it, no route calls it.
        let sweeper = by_bin("sweeper");
        assert!(sweeper.sqs_events.is_empty() && sweeper.http_events.is_empty());
        assert_eq!(
            sweeper.environment["DOWNLOAD_DLQ_URL"],
            "http://moto/123456789012/archiver-local-download-dlq"
        );
        assert_eq!(
            sweeper.environment["BACKFILL_DLQ_URL"],
            "http://moto/123456789012/archiver-local-backfill-dlq"
        );
        // The backfill function walks one run at a time, for up to 15 minutes, and continues itself.
        let backfill = by_bin("backfiller");
        assert_eq!(backfill.timeout_secs, 900);
        assert_eq!(backfill.sqs_events.len(), 1);
        assert_eq!(backfill.sqs_events[0].batch_size, 1);
        assert_eq!(
            backfill.environment["BACKFILL_QUEUE_URL"],
            "http://moto/123456789012/archiver-local-backfill"
        );

        let hook = by_bin("webhook-validator");
        assert_eq!(hook.logical_id, "WebhookValidatorFunction");
        assert_eq!(hook.timeout_secs, 10);
        assert!(hook.sqs_events.is_empty());
        assert_eq!(hook.http_events.len(), 1);
        assert_eq!(hook.http_events[0].method, "POST");
        assert_eq!(
            hook.http_events[0].path,
            "/webhooks/{vendor}/{connection_id}"
        );
        assert_eq!(hook.environment["CONFIG_TABLE"], "archiver-local-config");
        assert_eq!(
            hook.environment["EVENTS_QUEUE_URL"],
            "http://moto/123456789012/archiver-local-events"
        );

        let dl = by_bin("downloader");
        assert_eq!(dl.timeout_secs, 900);
        assert_eq!((dl.memory_mb, hook.memory_mb), (1024, 256));
        assert_eq!(dl.environment["MEDIA_BUCKET"], "archiver-local-mediabucket");
        assert_eq!(dl.environment["CATALOG_TABLE"], "archiver-local-catalog");
        assert_eq!(
            dl.environment["ARCHIVED_QUEUE_URL"],
            "http://moto/123456789012/archiver-local-archived"
        );
        assert_eq!(
            dl.sqs_events,
            [SqsEventSpec {
                event_id: "Download".into(),
                queue_logical_id: "DownloadQueue".into(),
                queue_arn: "arn:aws:sqs:us-east-1:123456789012:archiver-local-download".into(),
                batch_size: 1,
                report_batch_item_failures: true,
                maximum_concurrency: Some(10),
            }]
        );

        for (bin, queue, env) in [
            ("enqueue", "EventsQueue", "OWNER_QUEUE_URL"),
            ("owner-resolver", "OwnerQueue", "DOWNLOAD_QUEUE_URL"),
            ("deletion-scheduler", "ArchivedQueue", "CATALOG_TABLE"),
        ] {
            let f = by_bin(bin);
            assert_eq!(f.sqs_events.len(), 1, "{bin}");
            assert_eq!(f.sqs_events[0].queue_logical_id, queue, "{bin}");
            assert_eq!(f.sqs_events[0].batch_size, 10, "{bin}");
            assert!(f.sqs_events[0].report_batch_item_failures, "{bin}");
            assert_eq!(f.sqs_events[0].maximum_concurrency, None, "{bin}");
            assert!(f.environment.contains_key(env), "{bin}");
            assert_eq!(f.environment["CONFIG_TABLE"], "archiver-local-config");
        }
        // The visibility timeout is at least 6x the consumer's timeout, as AWS advises.
        for f in &fns {
            for ev in &f.sqs_events {
                let q = plan
                    .queues()
                    .find(|q| q.logical_id == ev.queue_logical_id)
                    .unwrap();
                let vt: u64 = q.attributes["VisibilityTimeout"].parse().unwrap();
                assert!(vt >= 6 * f.timeout_secs, "{} visibility {vt}", q.logical_id);
            }
        }
    }

    #[test]
    fn globals_defaults_and_generated_names() {
        let text = r#"
Parameters:
  Level: {Type: String, Default: DEBUG}
  Pollers: {Type: Number, Default: 3}
Globals:
  Function:
    Timeout: 20
    Environment:
      Variables:
        LEVEL: !Ref Level
        SHARED: from-globals
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: fn-bin}}
    Properties:
      Environment:
        Variables:
          SHARED: own
          JOBS: !Ref Jobs
          JOBS_ARN: !GetAtt Jobs.Arn
          BUCKET: !Ref Media
          TABLE: !Ref Tbl
      Events:
        Q:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            ScalingConfig:
              MaximumConcurrency: !Ref Pollers
        Off:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            Enabled: false
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
  Media:
    Type: AWS::S3::Bucket
  Tbl:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  Other:
    Type: AWS::SNS::Topic
"#;
        let t = Template::parse(text).unwrap();
        let mut plan = t.plan("s", "eu-west-1").unwrap();
        assert_eq!(plan.resources.len(), 3);
        let q = plan.queues().next().unwrap().clone();
        assert_eq!(q.queue_name, "s-jobs.fifo");
        assert_eq!(q.attributes["FifoQueue"], "true");
        let tbl = plan.tables().next().unwrap();
        assert_eq!(tbl.table_name, "s-tbl");
        assert_eq!(tbl.billing_mode, "PROVISIONED");
        assert_eq!(tbl.ttl_attribute.as_deref(), Some("expires_at"));

        // Before the queue URL is known, the function environment cannot be resolved.
        assert!(t.functions(&plan.context).is_err());
        plan.context.set_ref("Jobs", "http://h/1/s-jobs.fifo");
        let f = &t.functions(&plan.context).unwrap()[0];
        assert_eq!(f.timeout_secs, 20);
        assert_eq!(f.environment["LEVEL"], "DEBUG");
        assert_eq!(f.environment["SHARED"], "own");
        assert_eq!(f.environment["JOBS"], "http://h/1/s-jobs.fifo");
        assert_eq!(
            f.environment["JOBS_ARN"],
            "arn:aws:sqs:eu-west-1:123456789012:s-jobs.fifo"
        );
        assert_eq!(f.environment["BUCKET"], "s-media");
        assert_eq!(f.environment["TABLE"], "s-tbl");
        assert_eq!(f.sqs_events.len(), 1, "disabled mapping is skipped");
        assert_eq!(f.sqs_events[0].batch_size, 10);
        assert!(!f.sqs_events[0].report_batch_item_failures);
        assert_eq!(f.sqs_events[0].maximum_concurrency, Some(3));
    }

    #[test]
    fn conditions_choose_branches_and_no_value_leaves_a_property_out() {
        let text = r#"
Parameters:
  Days: {Type: Number, Default: 0}
  Mode: {Type: String, Default: a}
Conditions:
  HasDays: !Not [!Equals [!Ref Days, "0"]]
  IsB: !Equals [!Ref Mode, b]
  Both: !And [!Condition HasDays, !Condition IsB]
  Either: !Or [!Condition HasDays, !Condition IsB]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      Versioning: !If [IsB, {Status: Enabled}, !Ref AWS::NoValue]
      Rules:
        - Id: always
        - !If [HasDays, {Id: days, Days: !Ref Days}, !Ref AWS::NoValue]
        - !If [Both, {Id: both}, !Ref AWS::NoValue]
        - !If [Either, {Id: either}, !Ref AWS::NoValue]
"#;
        let props = |over: &[(&str, &str)]| {
            let mut t = Template::parse(text).unwrap();
            for (k, v) in over {
                t.set_parameter(k, v).unwrap();
            }
            let plan = t.plan("s", "us-east-1").unwrap();
            plan.buckets().next().unwrap().properties.clone()
        };
        assert_eq!(props(&[]), json!({"Rules": [{"Id": "always"}]}));
        assert_eq!(
            props(&[("Days", "30")]),
            json!({"Rules": [{"Id": "always"}, {"Id": "days", "Days": "30"}, {"Id": "either"}]})
        );
        assert_eq!(
            props(&[("Days", "30"), ("Mode", "b")]),
            json!({"Versioning": {"Status": "Enabled"}, "Rules": [{"Id": "always"},
                {"Id": "days", "Days": "30"}, {"Id": "both"}, {"Id": "either"}]})
        );
        let mut t = Template::parse(text).unwrap();
        assert!(t.set_parameter("Nope", "1").is_err());
    }

    #[test]
    fn overrides_change_properties_as_an_edited_template_would() {
        let mut t = Template::parse(REAL_TEMPLATE).unwrap();
        t.apply(&[
            PropertyOverride::new("DownloaderFunction", "Timeout", 8),
            PropertyOverride::new("DownloadQueue", "VisibilityTimeout", 30),
            PropertyOverride::new(
                "DownloaderFunction",
                "Environment.Variables.LEASE_SECS",
                "12",
            ),
            PropertyOverride::new("SweeperFunction", "Layers.Extra.Deep", true),
        ])
        .unwrap();
        let mut plan = t.plan("o", "us-east-1").unwrap();
        let q = plan
            .queues()
            .find(|q| q.logical_id == "DownloadQueue")
            .unwrap();
        assert_eq!(q.attributes["VisibilityTimeout"], "30");
        let names: Vec<(String, String)> = plan
            .queues()
            .map(|q| (q.logical_id.clone(), q.queue_name.clone()))
            .collect();
        for (id, name) in names {
            plan.context.set_ref(&id, &format!("http://moto/1/{name}"));
        }
        let fns = t.functions(&plan.context).unwrap();
        let dl = fns.iter().find(|f| f.binary == "downloader").unwrap();
        assert_eq!(dl.timeout_secs, 8);
        assert_eq!(dl.environment["LEASE_SECS"], "12");
        // The rest of the environment is still the template's.
        assert_eq!(dl.environment["CATALOG_TABLE"], "o-catalog");
        let other = fns.iter().find(|f| f.binary == "enqueue").unwrap();
        assert_eq!(other.timeout_secs, 60);
        assert!(!other.environment.contains_key("LEASE_SECS"));

        for (res, path) in [
            ("NoSuchResource", "Timeout"),
            ("DownloaderFunction", ""),
            ("DownloaderFunction", "Environment..X"),
            ("DownloaderFunction", "Timeout.Inner"),
        ] {
            let err = t
                .set_property(res, path, Value::from(1))
                .unwrap_err()
                .to_string();
            assert!(err.contains(res), "{res} {path}: {err}");
        }
    }

    #[test]
    fn cycles_are_reported() {
        let text = r#"
Resources:
  A:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt B.Arn, maxReceiveCount: 1}
  B:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt A.Arn, maxReceiveCount: 1}
"#;
        let t = Template::parse(text).unwrap();
        assert!(matches!(
            t.plan("s", "us-east-1"),
            Err(TemplateError::Cycle(_))
        ));
    }
}
