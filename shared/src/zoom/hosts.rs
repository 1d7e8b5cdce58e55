//! What Zoom says of a recording's host beyond the recording: their SAML-mapped `cms_user_id`
//! (`GET /users/{id}`), for `owner.name_from: cms_user_id`.

use super::api::ZoomConnections;
use crate::catalog::RecordingEntry;
use crate::config::{Connection, NameFrom};
use crate::error::Error;
use crate::ids::Vendor;
use crate::owner::{HostFacts, HostSource};
use async_trait::async_trait;

/// [`HostSource`] over the Zoom API of each connection; asks only where the connection's policy needs it.
pub struct ZoomHosts<Z>(pub Z);

#[async_trait]
impl<Z: ZoomConnections> HostSource for ZoomHosts<Z> {
    async fn host_facts(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
    ) -> Result<HostFacts, Error> {
        if conn.vendor != Vendor::Zoom || conn.owner.name_from != NameFrom::CmsUserId {
            return Ok(HostFacts::default());
        }
        let Some(host) = rec
            .host_id
            .clone()
            .or_else(|| rec.host_email.as_ref().map(|e| e.to_string()))
        else {
            return Ok(HostFacts {
                cms_user_id: None,
                asked: true,
            });
        };
        let user = self.0.api(conn).await?.user(&host).await?;
        Ok(HostFacts {
            cms_user_id: user
                .and_then(|u| u.cms_user_id)
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            asked: true,
        })
    }
}
