//! Facts about the host the agent runs in: its identity and capabilities (which decide whether
//! packets can be captured), and which interface and source address reach a target.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use serde::Serialize;

use super::packet::LinkType;

/// The capability bit numbers of linux/capability.h, in order.
const CAPABILITIES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Who the process really is: what the orchestrator's capture ladder needs to know.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Identity {
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    /// Effective capabilities, without the CAP_ prefix.
    pub capabilities: Vec<String>,
}

impl Identity {
    pub(crate) fn current() -> Identity {
        std::fs::read_to_string("/proc/self/status")
            .map(|status| Identity::from_status(&status))
            .unwrap_or(Identity {
                uid: None,
                euid: None,
                capabilities: Vec::new(),
            })
    }

    /// Reads the `Uid:` and `CapEff:` lines of /proc/PID/status.
    pub(crate) fn from_status(status: &str) -> Identity {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        let uids: Vec<u32> = field("Uid:")
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let effective = field("CapEff:")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or(0);
        let capabilities = (0..64)
            .filter(|bit| effective & (1u64 << bit) != 0)
            .map(|bit| match CAPABILITIES.get(bit) {
                Some(name) => (*name).to_string(),
                None => format!("CAP_{bit}"),
            })
            .collect();
        Identity {
            uid: uids.first().copied(),
            euid: uids.get(1).copied(),
            capabilities,
        }
    }

    #[cfg(test)]
    pub(crate) fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// The source address the kernel would pick to reach `ip` (a connected UDP socket sends nothing).
pub(crate) fn source_for(ip: IpAddr) -> std::io::Result<IpAddr> {
    let any = match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(SocketAddr::new(ip, 9))?;
    Ok(socket.local_addr()?.ip())
}

/// The interfaces of this host that are up.
pub(crate) fn interfaces() -> Vec<pnet::datalink::NetworkInterface> {
    pnet::datalink::interfaces()
        .into_iter()
        .filter(|i| i.is_up())
        .collect()
}

/// The interface packets to `target` leave by, given the source address the kernel chose: the
/// loopback when the target is one of our own addresses, else the interface holding the source.
pub(crate) fn interface_for(
    interfaces: &[pnet::datalink::NetworkInterface],
    target: IpAddr,
    source: IpAddr,
) -> Option<String> {
    let holds = |ip: IpAddr| {
        interfaces
            .iter()
            .find(|i| i.ips.iter().any(|net| net.ip() == ip))
    };
    if target.is_loopback() || holds(target).is_some() {
        return interfaces
            .iter()
            .find(|i| i.is_loopback())
            .map(|i| i.name.clone());
    }
    holds(source).map(|i| i.name.clone())
}

/// How frames on this interface start: ARPHRD_ETHER (1) and loopback (772) carry an Ethernet
/// header under AF_PACKET; tun devices and WireGuard (65534, ARPHRD_NONE) start with IP.
pub(crate) fn link_type(interface: &pnet::datalink::NetworkInterface) -> LinkType {
    let kind = std::fs::read_to_string(format!("/sys/class/net/{}/type", interface.name))
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok());
    match kind {
        Some(1) | Some(772) => LinkType::Ethernet,
        Some(_) => LinkType::RawIp,
        None if interface.mac.is_some() || interface.is_loopback() => LinkType::Ethernet,
        None => LinkType::RawIp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_identity_from_proc_status() {
        let status = "Name:\tagent\nUid:\t65534\t65534\t65534\t65534\n\
                      CapInh:\t0000000000000000\nCapEff:\t00000000a80425fb\n";
        let id = Identity::from_status(status);
        assert_eq!(id.uid, Some(65534));
        assert_eq!(id.euid, Some(65534));
        // a80425fb is containerd's default set: it includes NET_RAW (bit 13), not NET_ADMIN (12).
        assert!(id.has("NET_RAW"));
        assert!(id.has("NET_BIND_SERVICE"));
        assert!(!id.has("NET_ADMIN"));
        assert!(!id.has("SYS_ADMIN"));
        assert_eq!(id.capabilities.len(), 14);
        let none =
            Identity::from_status("Uid:\t1000\t1001\t1000\t1000\nCapEff:\t0000000000000000\n");
        assert_eq!((none.uid, none.euid), (Some(1000), Some(1001)));
        assert!(none.capabilities.is_empty());
    }

    #[test]
    fn the_kernel_picks_loopback_for_loopback() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(source_for(ip).unwrap(), ip);
    }
}
