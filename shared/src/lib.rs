//! The domain library of the recording archiver: the vendor-neutral model, vendor protocols, the catalog's
//! state transitions, ports to the outside world and their AWS adapters.

pub mod aws;
pub mod batch;
pub mod catalog;
pub mod config;
pub mod deletion;
pub mod error;
pub mod ids;
pub mod keys;
pub mod messages;
pub mod model;
pub mod owner;
pub mod ports;
pub mod telemetry;
pub mod transfer;
pub mod webex;
pub mod zoom;

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
