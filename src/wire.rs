//! The agent ↔ orchestrator wire: the JSON lines the agent prints in the probe pod's log and the
//! orchestrator reads back (schema: `explain pods.listening`). One set of types for both ends.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// A listening socket of a pod's network namespace (`agent --sockets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listening {
    /// "tcp" or "udp".
    pub proto: String,
    pub addr: IpAddr,
    pub port: u16,
}

/// One line the agent printed about a target (TCP, UDP or DNS).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AgentRecord {
    pub kind: String,
    pub target: String,
    pub verdict: String,
    #[serde(default)]
    pub evidence: Option<String>,
    #[serde(default)]
    pub local: Option<SocketAddr>,
    #[serde(default)]
    pub sent: u32,
    #[serde(default)]
    pub retransmits: u32,
    #[serde(default)]
    pub reply: Option<String>,
    #[serde(default)]
    pub reply_from: Option<IpAddr>,
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    #[serde(default)]
    pub detail: String,
    // DNS lines
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub via: Option<String>,
    /// The nameservers a DNS lookup asked ("10.96.0.10:53").
    #[serde(default)]
    pub servers: Vec<String>,
    #[serde(default)]
    pub rcode: Option<String>,
    #[serde(default)]
    pub answered_name: Option<String>,
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default)]
    pub tries: u32,
    #[serde(default)]
    pub resolved: u32,
    #[serde(default)]
    pub intermittent: bool,
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

/// The agent's last line.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AgentSummary {
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    pub capture: AgentCapture,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AgentCapture {
    pub enabled: bool,
    #[serde(default)]
    pub reason: Option<String>,
}
