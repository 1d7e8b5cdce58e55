//! Webex: webhook signatures and notifications, the REST API (with OAuth token refresh) and the mapping of
//! Webex recordings and transcripts into the vendor-neutral model.

pub mod api;
pub mod auth;
pub mod event;
pub mod normalise;
pub mod signature;
