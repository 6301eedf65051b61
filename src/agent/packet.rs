//! Frames off the wire, reduced to what a probe verdict needs: addresses, ports, TCP flags, and the
//! ICMP errors that carry the header of the packet they answer.

use std::net::{IpAddr, SocketAddr};

use pnet::packet::Packet as _;
use pnet::packet::ethernet::{EtherTypes, EthernetPacket};
use pnet::packet::icmp::{IcmpPacket, IcmpTypes};
use pnet::packet::icmpv6::{Icmpv6Packet, Icmpv6Types};
use pnet::packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet::packet::ipv4::Ipv4Packet;
use pnet::packet::ipv6::Ipv6Packet;
use pnet::packet::tcp::TcpPacket;
use pnet::packet::udp::UdpPacket;

/// How frames start, which is also the pcap link type written for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkType {
    /// An Ethernet header (veth, ipvlan, and loopback as AF_PACKET shows it).
    Ethernet,
    /// The IP header directly (tun devices, WireGuard).
    RawIp,
}

impl LinkType {
    /// The pcap LINKTYPE_ value.
    pub(crate) fn pcap(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

pub(crate) mod tcp_flags {
    pub(crate) const SYN: u8 = 0x02;
    pub(crate) const RST: u8 = 0x04;
    pub(crate) const ACK: u8 = 0x10;
}

/// An IP packet, decoded as far as verdicts and filters need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum L4 {
    Tcp {
        sport: u16,
        dport: u16,
        flags: u8,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    /// A destination-unreachable error about a TCP or UDP packet we sent.
    IcmpError {
        kind: Unreachable,
        proto: Proto,
        /// The source and destination of the packet the error is about.
        inner_src: SocketAddr,
        inner_dst: SocketAddr,
    },
    /// Any other ICMP message (echo, an error about something else).
    Icmp,
    /// Another protocol number.
    Other(u8),
}

/// What a destination-unreachable message says, across ICMP and ICMPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// Nothing bound to the port (ICMP 3/3, ICMPv6 1/4): a firewall's REJECT or a service
    /// proxy's "no endpoints" rule for TCP; a closed port for UDP.
    Port,
    /// Protocol unreachable (ICMP 3/2).
    Protocol,
    /// Administratively prohibited (ICMP 3/9, 3/10, 3/13; ICMPv6 1/1, 1/5, 1/6): a filter said no.
    Prohibited,
    /// Host unreachable (ICMP 3/1, 3/7, 3/12; ICMPv6 1/3): no neighbour answered.
    Host,
    /// Network unreachable (ICMP 3/0, 3/6, 3/11; ICMPv6 1/0): no route on the way.
    Network,
    /// Another code, kept for the evidence.
    Other(u8),
}

impl Unreachable {
    fn icmpv4(code: u8) -> Unreachable {
        match code {
            0 | 6 | 11 => Unreachable::Network,
            1 | 7 | 12 => Unreachable::Host,
            2 => Unreachable::Protocol,
            3 => Unreachable::Port,
            9 | 10 | 13 => Unreachable::Prohibited,
            other => Unreachable::Other(other),
        }
    }

    fn icmpv6(code: u8) -> Unreachable {
        match code {
            0 => Unreachable::Network,
            3 => Unreachable::Host,
            4 => Unreachable::Port,
            1 | 5 | 6 => Unreachable::Prohibited,
            other => Unreachable::Other(other),
        }
    }

    /// How the evidence names it (after tcpdump's wording).
    pub(crate) fn describe(self) -> String {
        match self {
            Unreachable::Port => "ICMP port unreachable".into(),
            Unreachable::Protocol => "ICMP protocol unreachable".into(),
            Unreachable::Prohibited => "ICMP administratively prohibited".into(),
            Unreachable::Host => "ICMP host unreachable".into(),
            Unreachable::Network => "ICMP network unreachable".into(),
            Unreachable::Other(code) => format!("ICMP destination unreachable (code {code})"),
        }
    }

    /// A refusal by something that saw the packet (a firewall, a proxy), as opposed to a path that
    /// does not exist.
    pub(crate) fn is_rejection(self) -> bool {
        matches!(
            self,
            Unreachable::Port | Unreachable::Protocol | Unreachable::Prohibited
        )
    }
}

impl Packet {
    /// Decodes a frame; `None` for what is not IP (ARP, LLDP) or is cut short.
    pub(crate) fn parse(link: LinkType, frame: &[u8]) -> Option<Packet> {
        match link {
            LinkType::Ethernet => {
                let eth = EthernetPacket::new(frame)?;
                match eth.get_ethertype() {
                    EtherTypes::Ipv4 => ipv4(eth.payload()),
                    EtherTypes::Ipv6 => ipv6(eth.payload()),
                    _ => None,
                }
            }
            LinkType::RawIp => match frame.first()? >> 4 {
                4 => ipv4(frame),
                6 => ipv6(frame),
                _ => None,
            },
        }
    }

    /// The (local) endpoints this packet concerns, for matching it to a probe: the source of
    /// what we send, the destination of what comes back, the inner source of an ICMP error.
    pub(crate) fn ports(&self) -> Option<(Proto, SocketAddr, SocketAddr)> {
        match &self.l4 {
            L4::Tcp { sport, dport, .. } => Some((
                Proto::Tcp,
                SocketAddr::new(self.src, *sport),
                SocketAddr::new(self.dst, *dport),
            )),
            L4::Udp { sport, dport } => Some((
                Proto::Udp,
                SocketAddr::new(self.src, *sport),
                SocketAddr::new(self.dst, *dport),
            )),
            _ => None,
        }
    }
}

fn ipv4(bytes: &[u8]) -> Option<Packet> {
    let ip = Ipv4Packet::new(bytes)?;
    if ip.get_fragment_offset() != 0 {
        return None;
    }
    let header = usize::from(ip.get_header_length()) * 4;
    let total = usize::from(ip.get_total_length()).clamp(header, bytes.len());
    let payload = bytes.get(header..total)?;
    let src = IpAddr::V4(ip.get_source());
    let dst = IpAddr::V4(ip.get_destination());
    let l4 = match ip.get_next_level_protocol() {
        IpNextHeaderProtocols::Icmp => icmpv4(payload),
        proto => transport(proto, payload)?,
    };
    Some(Packet { src, dst, l4 })
}

fn ipv6(bytes: &[u8]) -> Option<Packet> {
    let ip = Ipv6Packet::new(bytes)?;
    let payload = bytes.get(40..)?;
    let payload = &payload[..usize::from(ip.get_payload_length()).min(payload.len())];
    let src = IpAddr::V6(ip.get_source());
    let dst = IpAddr::V6(ip.get_destination());
    let l4 = match ip.get_next_header() {
        IpNextHeaderProtocols::Icmpv6 => icmpv6(payload),
        proto => transport(proto, payload)?,
    };
    Some(Packet { src, dst, l4 })
}

fn transport(proto: IpNextHeaderProtocol, payload: &[u8]) -> Option<L4> {
    Some(match proto {
        IpNextHeaderProtocols::Tcp => {
            let tcp = TcpPacket::new(payload)?;
            L4::Tcp {
                sport: tcp.get_source(),
                dport: tcp.get_destination(),
                flags: tcp.get_flags(),
            }
        }
        IpNextHeaderProtocols::Udp => {
            let udp = UdpPacket::new(payload)?;
            L4::Udp {
                sport: udp.get_source(),
                dport: udp.get_destination(),
            }
        }
        other => L4::Other(other.0),
    })
}

fn icmpv4(payload: &[u8]) -> L4 {
    let Some(icmp) = IcmpPacket::new(payload) else {
        return L4::Icmp;
    };
    if icmp.get_icmp_type() != IcmpTypes::DestinationUnreachable {
        return L4::Icmp;
    }
    let kind = Unreachable::icmpv4(icmp.get_icmp_code().0);
    // Type, code, checksum and 4 unused bytes; then the offending IP header and 8 bytes of it.
    payload
        .get(8..)
        .and_then(|inner| inner_error(kind, ipv4_lenient(inner)?))
        .unwrap_or(L4::Icmp)
}

fn icmpv6(payload: &[u8]) -> L4 {
    let Some(icmp) = Icmpv6Packet::new(payload) else {
        return L4::Icmp;
    };
    if icmp.get_icmpv6_type() != Icmpv6Types::DestinationUnreachable {
        return L4::Icmp;
    }
    let kind = Unreachable::icmpv6(icmp.get_icmpv6_code().0);
    payload
        .get(8..)
        .and_then(|inner| inner_error(kind, ipv6(inner)?))
        .unwrap_or(L4::Icmp)
}

/// The quoted header inside an ICMP error: its total length names the original packet, of which
/// only the first bytes are quoted, so lengths are not enforced.
fn ipv4_lenient(bytes: &[u8]) -> Option<Packet> {
    let ip = Ipv4Packet::new(bytes)?;
    let header = usize::from(ip.get_header_length()) * 4;
    let payload = bytes.get(header..)?;
    // RFC 792 only promises the first 8 bytes of the transport header: the ports are in the first 4.
    let ports = |p: &[u8]| -> Option<(u16, u16)> {
        Some((
            u16::from_be_bytes([*p.first()?, *p.get(1)?]),
            u16::from_be_bytes([*p.get(2)?, *p.get(3)?]),
        ))
    };
    let l4 = match ip.get_next_level_protocol() {
        IpNextHeaderProtocols::Tcp => {
            let (sport, dport) = ports(payload)?;
            L4::Tcp {
                sport,
                dport,
                flags: payload.get(13).copied().unwrap_or(0),
            }
        }
        IpNextHeaderProtocols::Udp => {
            let (sport, dport) = ports(payload)?;
            L4::Udp { sport, dport }
        }
        _ => return None,
    };
    Some(Packet {
        src: IpAddr::V4(ip.get_source()),
        dst: IpAddr::V4(ip.get_destination()),
        l4,
    })
}

fn inner_error(kind: Unreachable, inner: Packet) -> Option<L4> {
    let (proto, inner_src, inner_dst) = inner.ports()?;
    Some(L4::IcmpError {
        kind,
        proto,
        inner_src,
        inner_dst,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal IPv4 header (no options) around `payload`; checksums are not checked here.
    pub(crate) fn ipv4_frame(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(payload);
        ip
    }

    pub(crate) fn tcp_segment(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&dport.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        tcp
    }

    fn ethernet(ip: &[u8]) -> Vec<u8> {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(ip);
        frame
    }

    #[test]
    fn decodes_a_syn_ack_in_ethernet_and_raw_ip() {
        let ip = ipv4_frame(
            6,
            [10, 0, 0, 2],
            [10, 0, 0, 1],
            &tcp_segment(8080, 40000, tcp_flags::SYN | tcp_flags::ACK),
        );
        let want = Packet {
            src: "10.0.0.2".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            l4: L4::Tcp {
                sport: 8080,
                dport: 40000,
                flags: tcp_flags::SYN | tcp_flags::ACK,
            },
        };
        assert_eq!(Packet::parse(LinkType::RawIp, &ip), Some(want.clone()));
        assert_eq!(
            Packet::parse(LinkType::Ethernet, &ethernet(&ip)),
            Some(want)
        );
    }

    #[test]
    fn an_icmp_error_names_the_probe_it_answers() {
        // The router 10.0.0.254 says host unreachable about our SYN 10.0.0.1:40000 → 10.0.0.9:80.
        let syn = ipv4_frame(6, [10, 0, 0, 1], [10, 0, 0, 9], &tcp_segment(40000, 80, 2));
        let mut icmp = vec![3, 1, 0, 0, 0, 0, 0, 0];
        icmp.extend_from_slice(&syn[..28]); // header + the first 8 bytes, as routers quote
        let frame = ipv4_frame(1, [10, 0, 0, 254], [10, 0, 0, 1], &icmp);
        let packet = Packet::parse(LinkType::RawIp, &frame).unwrap();
        assert_eq!(
            packet.l4,
            L4::IcmpError {
                kind: Unreachable::Host,
                proto: Proto::Tcp,
                inner_src: "10.0.0.1:40000".parse().unwrap(),
                inner_dst: "10.0.0.9:80".parse().unwrap(),
            }
        );
        assert!(!Unreachable::Host.is_rejection());
        assert!(Unreachable::icmpv4(3).is_rejection());
        assert!(Unreachable::icmpv4(13).is_rejection());
        assert_eq!(Unreachable::icmpv6(4), Unreachable::Port);
    }

    #[test]
    fn what_is_not_ip_is_skipped() {
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0u8; 28]);
        assert_eq!(Packet::parse(LinkType::Ethernet, &arp), None);
        assert_eq!(Packet::parse(LinkType::Ethernet, &[0u8; 5]), None);
        assert_eq!(Packet::parse(LinkType::RawIp, &[]), None);
    }
}
