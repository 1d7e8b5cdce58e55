//! The sweeper function's handler, as a library so that integration tests can drive it.

pub mod handler;
pub mod settings;
