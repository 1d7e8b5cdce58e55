//! The library of the recording archiver, in layers (see `docs/architecture.md` §0):
//! - [`domain`]: the vendor-neutral model, the catalog's state machine, owner and deletion rules, ports and
//!   errors. Pure; it imports no vendor module and no AWS or HTTP crate.
//! - vendors, [`zoom`] and [`webex`]: each vendor's protocols, REST clients and flows, over the domain.
//! - adapters: [`aws`] (DynamoDB, S3, SQS, Secrets Manager), [`transfer`] (streaming HTTP → object sink),
//!   [`batch`] and [`settings`] (the Lambda runtime side), [`config_file`] (the admin's file, validated),
//!   [`vendors`] (both vendors behind the deletion sweep's port).
//!
//! The domain's modules are re-exported at the crate root (`shared::ids`, `shared::catalog`, …).

pub mod domain;
pub use domain::{
    backfill, catalog, changes, config, deletion, directory, error, explain, ids, keys, messages,
    model, naming, owner, ports, quarantine, routing, state, template,
};

pub mod webex;
pub mod zoom;

pub mod aws;
pub mod batch;
pub mod config_file;
pub mod http;
pub mod settings;
pub mod telemetry;
pub mod transfer;
pub mod vendors;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
