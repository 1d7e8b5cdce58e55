//! Both vendors behind the domain's ports, each call going to the connection's vendor module over that
//! connection's API client: the deletion sweep's [`VendorCopies`] (`zoom::deletion`, `webex::deletion`),
//! the recording lists of backfill and reconcile ([`Vendors::lister`]: `zoom::backfill`, `webex::backfill`)
//! and the owner stage's [`AttendeeSource`] (`zoom::attendees`, `webex::attendees`).

use crate::catalog::{Attendees, RecordingEntry};
use crate::config::{Connection, DeleteAction, DeleteScope};
use crate::deletion::{CallResult, VendorListing};
use crate::error::Error;
use crate::ids::Vendor;
use crate::owner::AttendeeSource;
use crate::ports::VendorCopies;
use crate::webex::WebexConnections;
use crate::zoom::api::ZoomConnections;
use async_trait::async_trait;

/// Both vendors' API clients, per connection.
pub struct Vendors<Z, W> {
    pub zoom: Z,
    pub webex: W,
}

impl<Z: ZoomConnections, W: WebexConnections> Vendors<Z, W> {
    /// The recording lists of a connection's vendor.
    pub async fn lister(
        &self,
        conn: &Connection,
    ) -> Result<Box<dyn crate::backfill::RecordingLister>, Error> {
        Ok(match conn.vendor {
            Vendor::Zoom => Box::new(crate::zoom::backfill::ZoomLister {
                api: self.zoom.api(conn).await?,
                conn: conn.clone(),
            }),
            Vendor::Webex => Box::new(crate::webex::backfill::WebexLister {
                api: self.webex.api(conn).await?,
                conn: conn.clone(),
            }),
        })
    }
}

#[async_trait]
impl<Z: ZoomConnections, W: WebexConnections> VendorCopies for Vendors<Z, W> {
    async fn listing(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<VendorListing, Error> {
        match conn.vendor {
            Vendor::Zoom => {
                crate::zoom::deletion::listing(self.zoom.api(conn).await?.as_ref(), rec).await
            }
            Vendor::Webex => {
                crate::webex::deletion::listing(self.webex.api(conn).await?.as_ref(), rec).await
            }
        }
    }

    async fn rearchive(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<Option<crate::messages::IngestMessage>, Error> {
        match conn.vendor {
            Vendor::Zoom => {
                let api = self.zoom.api(conn).await?;
                crate::zoom::deletion::rearchive(api.as_ref(), conn, rec).await
            }
            Vendor::Webex => Ok(crate::webex::deletion::rearchive(conn, rec)),
        }
    }

    async fn delete(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
        files: &[String],
        listed: &[crate::deletion::VendorFile],
        action: DeleteAction,
        scope: DeleteScope,
    ) -> Result<Vec<CallResult>, Error> {
        Ok(match conn.vendor {
            Vendor::Zoom => {
                let api = self.zoom.api(conn).await?;
                crate::zoom::deletion::delete(api.as_ref(), rec, files, action, scope).await
            }
            Vendor::Webex => {
                let api = self.webex.api(conn).await?;
                crate::webex::deletion::delete(api.as_ref(), rec, files, listed, action, scope)
                    .await
            }
        })
    }
}

#[async_trait]
impl<Z: ZoomConnections, W: WebexConnections> AttendeeSource for Vendors<Z, W> {
    async fn attendees(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<Option<Attendees>, Error> {
        match conn.vendor {
            Vendor::Zoom => crate::zoom::attendees::listed(&self.zoom, conn, rec).await,
            Vendor::Webex => crate::webex::attendees::listed(&self.webex, conn, rec).await,
        }
    }
}
