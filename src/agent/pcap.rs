//! Writing what was captured as a classic pcap file (what tcpdump -r, tshark and Wireshark read),
//! and the small filter language `capture --filter` accepts.
//!
//! The format is the libpcap file format: a 24-byte global header (magic a1b2c3d4, version 2.4,
//! snap length, link type) and per packet a 16-byte record header (seconds, microseconds, captured
//! and original length). Written here rather than with a crate: it is two fixed headers.

use std::io::{self, Write};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::packet::{L4, LinkType, Packet};

/// The largest frame kept; what AF_PACKET delivers above it (GRO) is cut, as tcpdump -s would.
pub(crate) const SNAPLEN: u32 = 262_144;

pub(crate) struct PcapWriter<W: Write> {
    out: W,
    /// Flush after every packet (a stream someone is reading, such as stdout).
    stream: bool,
    pub packets: u64,
}

impl<W: Write> PcapWriter<W> {
    pub(crate) fn new(mut out: W, link: LinkType, stream: bool) -> io::Result<Self> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone: timestamps are UTC
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&link.pcap().to_le_bytes());
        out.write_all(&header)?;
        if stream {
            out.flush()?;
        }
        Ok(PcapWriter {
            out,
            stream,
            packets: 0,
        })
    }

    /// One record; `original` is the frame's length on the wire when it was cut.
    pub(crate) fn write(
        &mut self,
        at: SystemTime,
        frame: &[u8],
        original: usize,
    ) -> io::Result<()> {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let kept = &frame[..frame.len().min(SNAPLEN as usize)];
        let mut record = Vec::with_capacity(16 + kept.len());
        record.extend_from_slice(&(since.as_secs() as u32).to_le_bytes());
        record.extend_from_slice(&since.subsec_micros().to_le_bytes());
        record.extend_from_slice(&(kept.len() as u32).to_le_bytes());
        record.extend_from_slice(&(original.max(kept.len()) as u32).to_le_bytes());
        record.extend_from_slice(kept);
        self.out.write_all(&record)?;
        self.packets += 1;
        if self.stream {
            self.out.flush()?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.packets)
    }
}

/// The prefix of a base64 pcap line (`--pcap-encoding base64`).
pub(crate) const BASE64_PREFIX: &str = "pcap ";

/// Writes what it is given as base64 text, one line per flush (the pcap writer flushes per packet
/// when streaming): a container log keeps text lines intact where raw bytes would be split and
/// re-joined.
pub(crate) struct Base64Lines<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Base64Lines<W> {
    pub(crate) fn new(inner: W) -> Self {
        Base64Lines {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for Base64Lines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        use base64::Engine as _;
        if !self.pending.is_empty() {
            let line = base64::engine::general_purpose::STANDARD.encode(&self.pending);
            writeln!(self.inner, "{BASE64_PREFIX}{line}")?;
            self.pending.clear();
        }
        self.inner.flush()
    }
}

/// The pcap bytes in a log of base64 lines (other lines — the agent's JSON — are skipped).
pub(crate) fn decode_base64_lines(log: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for (n, line) in log.lines().enumerate() {
        let Some(data) = line.strip_prefix(BASE64_PREFIX) else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim_end())
            .map_err(|e| format!("line {}: {e}", n + 1))?;
        out.extend(bytes);
    }
    Ok(out)
}

/// `host IP`, `port N`, `tcp`, `udp`, `icmp` (ICMPv6 included), combined with `and`; alternatives
/// with `or` (`and` binds tighter). Ports and hosts match either direction, and the packet quoted
/// in an ICMP error, so a REJECT of port 80 stays in a `port 80` capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    /// Alternatives, each a conjunction; empty means everything.
    any_of: Vec<Vec<Primitive>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Primitive {
    Host(IpAddr),
    Port(u16),
    Tcp,
    Udp,
    Icmp,
}

impl Filter {
    pub(crate) fn parse(expr: &str) -> Result<Filter, String> {
        let words: Vec<&str> = expr.split_whitespace().collect();
        let mut any_of = Vec::new();
        for alternative in words.split(|w| matches!(*w, "or" | "||")) {
            let mut all_of = Vec::new();
            let mut rest = alternative;
            loop {
                let (primitive, tail) = primitive(rest, expr)?;
                all_of.push(primitive);
                match tail {
                    [] => break,
                    ["and" | "&&", tail @ ..] => rest = tail,
                    [word, ..] => {
                        return Err(format!(
                            "filter {expr:?}: expected \"and\" or \"or\" before {word:?}"
                        ));
                    }
                }
            }
            any_of.push(all_of);
        }
        Ok(Filter { any_of })
    }

    pub(crate) fn matches(&self, packet: Option<&Packet>) -> bool {
        if self.any_of.is_empty() {
            return true;
        }
        let Some(packet) = packet else {
            return false;
        };
        self.any_of
            .iter()
            .any(|all| all.iter().all(|p| p.matches(packet)))
    }
}

fn primitive<'a>(words: &'a [&'a str], expr: &str) -> Result<(Primitive, &'a [&'a str]), String> {
    let bad = |what: &str| {
        format!("filter {expr:?}: {what} (supported: host IP, port N, tcp, udp, icmp, and, or)")
    };
    match words {
        ["host", ip, tail @ ..] => {
            let ip = ip
                .parse()
                .map_err(|_| bad(&format!("{ip:?} is not an IP address")))?;
            Ok((Primitive::Host(ip), tail))
        }
        ["port", port, tail @ ..] => {
            let port = port
                .parse()
                .map_err(|_| bad(&format!("{port:?} is not a port number")))?;
            Ok((Primitive::Port(port), tail))
        }
        ["tcp", tail @ ..] => Ok((Primitive::Tcp, tail)),
        ["udp", tail @ ..] => Ok((Primitive::Udp, tail)),
        ["icmp" | "icmp6", tail @ ..] => Ok((Primitive::Icmp, tail)),
        [] => Err(bad("empty expression")),
        [word, ..] => Err(bad(&format!("unexpected {word:?}"))),
    }
}

impl Primitive {
    fn matches(&self, packet: &Packet) -> bool {
        match (self, &packet.l4) {
            (Primitive::Tcp, L4::Tcp { .. }) | (Primitive::Udp, L4::Udp { .. }) => true,
            (Primitive::Icmp, L4::Icmp | L4::IcmpError { .. }) => true,
            (Primitive::Host(ip), l4) => {
                packet.src == *ip
                    || packet.dst == *ip
                    || matches!(l4, L4::IcmpError { inner_dst, .. } if inner_dst.ip() == *ip)
            }
            (Primitive::Port(port), L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport }) => {
                sport == port || dport == port
            }
            (
                Primitive::Port(port),
                L4::IcmpError {
                    inner_src,
                    inner_dst,
                    ..
                },
            ) => inner_src.port() == *port || inner_dst.port() == *port,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::packet::tests::{ipv4_frame, tcp_segment};

    fn syn(dport: u16) -> Packet {
        let frame = ipv4_frame(
            6,
            [10, 0, 0, 1],
            [10, 0, 0, 9],
            &tcp_segment(40000, dport, 2),
        );
        Packet::parse(LinkType::RawIp, &frame).unwrap()
    }

    #[test]
    fn header_and_records_follow_the_libpcap_layout() {
        let mut out = Vec::new();
        let mut writer = PcapWriter::new(&mut out, LinkType::Ethernet, false).unwrap();
        let at = UNIX_EPOCH + std::time::Duration::from_micros(1_700_000_000_123_456);
        writer.write(at, &[0xaa; 60], 60).unwrap();
        assert_eq!(writer.finish().unwrap(), 1);
        assert_eq!(&out[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u16::from_le_bytes([out[4], out[5]]), 2);
        assert_eq!(u16::from_le_bytes([out[6], out[7]]), 4);
        assert_eq!(u32::from_le_bytes(out[20..24].try_into().unwrap()), 1);
        let record = &out[24..];
        assert_eq!(
            u32::from_le_bytes(record[0..4].try_into().unwrap()),
            1_700_000_000
        );
        assert_eq!(
            u32::from_le_bytes(record[4..8].try_into().unwrap()),
            123_456
        );
        assert_eq!(u32::from_le_bytes(record[8..12].try_into().unwrap()), 60);
        assert_eq!(record.len(), 16 + 60);
    }

    #[test]
    fn base64_lines_carry_the_pcap_through_a_text_log() {
        let mut lines = Base64Lines::new(Vec::new());
        let mut writer = PcapWriter::new(&mut lines, LinkType::RawIp, true).unwrap();
        writer.write(UNIX_EPOCH, &[0x45, 0, 0, 20], 4).unwrap();
        writer.finish().unwrap();
        let text = String::from_utf8(lines.inner.clone()).unwrap();
        assert_eq!(text.lines().count(), 2, "header, then one packet: {text}");
        let log = format!("{{\"kind\":\"summary\"}}\n{text}");
        let bytes = decode_base64_lines(&log).unwrap();
        assert_eq!(bytes.len(), 24 + 16 + 4);
        assert_eq!(&bytes[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert!(decode_base64_lines("pcap !!!").is_err());
    }

    #[test]
    fn filters_combine_with_and_before_or() {
        let f = Filter::parse("tcp and port 80 or host 10.0.0.7").unwrap();
        assert!(f.matches(Some(&syn(80))));
        assert!(!f.matches(Some(&syn(81))));
        let g = Filter::parse("udp or port 81").unwrap();
        assert!(g.matches(Some(&syn(81))));
        assert!(!g.matches(Some(&syn(80))));
        assert!(!g.matches(None), "non-IP frames only pass an empty filter");
        assert!(Filter::default().matches(None));
        assert!(
            Filter::parse("host 10.0.0.9 and tcp")
                .unwrap()
                .matches(Some(&syn(1)))
        );
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        for (expr, says) in [
            ("port http", "\"http\" is not a port number"),
            ("host example.com", "is not an IP address"),
            ("tcp port 80", "expected \"and\" or \"or\""),
            ("", "empty expression"),
            ("tcp and", "empty expression"),
            ("dst host 10.0.0.1", "unexpected \"dst\""),
        ] {
            let err = Filter::parse(expr).unwrap_err();
            assert!(err.contains(says), "{expr}: {err}");
        }
    }
}
