//! The backfill function's handler, as a library so that integration tests run the same code.

pub mod handler;
pub mod settings;
