//! The deleter function's handler, as a library so that integration tests and `archiver-admin deletions`
//! run the same code.

pub mod handler;
pub mod settings;
