//! The cluster-wide policy tiers, read live: AdminNetworkPolicy, BaselineAdminNetworkPolicy and
//! ClusterNetworkPolicy, each at the version discovery says the group serves (a kind whose CRD
//! is not installed answers 404: none of it).

use futures::future::join_all;

use super::Live;
use crate::netpol::TierPolicy;
use crate::netpol::tiers::{GROUP, KINDS};
use crate::state::Fact;

impl Live {
    /// Every cluster-wide policy the API serves; `Known(empty)` when the group is not served.
    /// Read once per run: cluster-scoped, the same for every Service's flow.
    pub(super) async fn tier_policies(&self) -> Fact<Vec<TierPolicy>> {
        self.tiers
            .get_or_init(|| self.read_tier_policies())
            .await
            .clone()
    }

    async fn read_tier_policies(&self) -> Fact<Vec<TierPolicy>> {
        let served = match self.api_groups().await {
            Fact::Unavailable(u) => return Fact::Unavailable(u),
            Fact::Known(groups) => match groups.into_iter().find(|g| g.name == GROUP) {
                None => return Fact::Known(Vec::new()),
                Some(g) => g.versions,
            },
        };
        let reads = KINDS.iter().map(|(kind, resource, versions)| {
            self.custom_kind::<TierPolicy>(GROUP, versions, &served, kind, resource)
        });
        let mut out = Vec::new();
        for res in join_all(reads).await {
            match res {
                Ok(found) => out.extend(found.into_iter().flatten()),
                Err((e, resource)) => {
                    return Fact::Unavailable(e.into_unavailable("list", resource, None));
                }
            }
        }
        Fact::Known(out)
    }
}
