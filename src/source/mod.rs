//! Sources build `ClusterState`: from a live API server ([`live`]) or from manifests
//! ([`manifests`]). Checks never talk to either.

mod exec;
pub(crate) mod live;
pub(crate) mod locate;
pub(crate) mod manifests;
pub(crate) mod read;
