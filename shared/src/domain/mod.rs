//! The domain core: vendor-neutral model, configuration records, the catalog and its state machine, owner
//! and deletion rules, ports and errors. Pure and tested in memory: no module here imports a vendor module
//! (`zoom`, `webex`), an adapter (`aws`, `transfer`, `batch`) or an AWS/HTTP crate; the test below checks it.

pub mod backfill;
pub mod catalog;
pub mod changes;
pub mod config;
pub mod deletion;
pub mod directory;
pub mod error;
pub mod explain;
pub mod ids;
pub mod keys;
pub mod messages;
pub mod model;
pub mod naming;
pub mod owner;
pub mod ports;
pub mod quarantine;
pub mod routing;
pub mod state;
pub mod template;

#[cfg(test)]
mod layering {
    /// The domain's sources, read at compile time so the check needs no file system.
    const SOURCES: [(&str, &str); 15] = [
        ("backfill", include_str!("backfill.rs")),
        ("catalog", include_str!("catalog.rs")),
        ("changes", include_str!("changes.rs")),
        ("config", include_str!("config.rs")),
        ("deletion", include_str!("deletion.rs")),
        ("error", include_str!("error.rs")),
        ("explain", include_str!("explain.rs")),
        ("ids", include_str!("ids.rs")),
        ("keys", include_str!("keys.rs")),
        ("messages", include_str!("messages.rs")),
        ("model", include_str!("model.rs")),
        ("owner", include_str!("owner.rs")),
        ("ports", include_str!("ports.rs")),
        ("quarantine", include_str!("quarantine.rs")),
        ("state", include_str!("state.rs")),
    ];
    /// What the domain must not name outside its tests.
    const FORBIDDEN: [&str; 10] = [
        "crate::zoom",
        "crate::webex",
        "crate::aws",
        "crate::transfer",
        "crate::batch",
        "crate::config_file",
        "crate::settings",
        "aws_sdk",
        "reqwest",
        "lambda_runtime",
    ];

    #[test]
    fn the_domain_imports_no_vendor_adapter_or_sdk() {
        for (module, src) in SOURCES {
            // Unit tests may use fakes and vendor fixtures; only the module's own code counts.
            let code = src.split("#[cfg(test)]").next().unwrap_or(src);
            let code: Vec<&str> = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            for word in FORBIDDEN {
                assert!(
                    !code.iter().any(|l| l.contains(word)),
                    "domain::{module} names {word}: the domain must stay vendor- and AWS-neutral"
                );
            }
        }
    }
}
