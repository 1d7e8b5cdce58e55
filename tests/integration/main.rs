//! Integration tests against a moto server through the real AWS SDK, with the Zoom and Webex simulators on
//! 127.0.0.1.
//! Run them with `./infra/test.sh` (which starts moto and sets `AWS_ENDPOINT_URL`).

mod admin;
mod backfill;
mod batch;
mod deletion;
mod domain;
mod ingest;
mod sweep;
mod transfer;
mod vendor_deletion;
mod webex;
mod zoom_api;
