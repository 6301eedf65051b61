//! Packet capture with pnet (AF_PACKET; needs CAP_NET_RAW): one thread per interface hands each
//! frame to the pcap file (when asked) and to the probes that registered their local endpoint.
//!
//! Probes are matched by their **local** address and port, never by the destination: with
//! socket-level load balancing (Cilium, Calico eBPF) a ClusterIP never appears on the wire, and
//! behind a DNAT the answer comes from the pod's address.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use pnet::datalink::{self, Channel, NetworkInterface};

use super::host;
use super::packet::{L4, LinkType, Packet, Proto};
use super::pcap::{Filter, PcapWriter};

/// A packet seen for a probe.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub at: Instant,
    pub iface: Arc<str>,
    pub outgoing: bool,
    pub packet: Packet,
}

type Key = (Proto, SocketAddr);

/// Where the pcap records go, and when to stop writing them.
pub(crate) struct PcapSink {
    pub writer: PcapWriter<Box<dyn Write + Send>>,
    pub filter: Filter,
    pub link: LinkType,
    pub max_packets: Option<u64>,
    pub error: Option<String>,
}

struct Shared {
    watched: Mutex<HashMap<Key, Vec<Seen>>>,
    pcap: Mutex<Option<PcapSink>>,
    packets: AtomicU64,
    stop: AtomicBool,
    /// Set when the pcap reached its packet limit.
    full: AtomicBool,
    errors: Mutex<Vec<String>>,
}

pub(crate) struct Capture {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    pub interfaces: Vec<String>,
}

/// What the summary line reports about capture.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct CaptureReport {
    pub interfaces: Vec<String>,
    pub packets: u64,
    pub pcap_packets: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Capture {
    /// Opens a channel on each named interface before any probe sends a packet. Fails (typically
    /// PermissionDenied without CAP_NET_RAW) when no interface could be opened.
    pub(crate) fn start(
        names: &[String],
        all: &[NetworkInterface],
        pcap: Option<PcapSink>,
    ) -> std::io::Result<Capture> {
        let shared = Arc::new(Shared {
            watched: Mutex::new(HashMap::new()),
            pcap: Mutex::new(pcap),
            packets: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            full: AtomicBool::new(false),
            errors: Mutex::new(Vec::new()),
        });
        let mut threads = Vec::new();
        let mut opened = Vec::new();
        for name in names {
            let Some(interface) = all.iter().find(|i| &i.name == name) else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no interface named {name:?} is up"),
                ));
            };
            let config = datalink::Config {
                read_buffer_size: 65_536 + 64,
                read_timeout: Some(Duration::from_millis(20)),
                promiscuous: false,
                ..Default::default()
            };
            let rx = match datalink::channel(interface, config)? {
                Channel::Ethernet(_tx, rx) => rx,
                _ => {
                    return Err(std::io::Error::other(format!(
                        "{name}: unsupported channel type"
                    )));
                }
            };
            let link = host::link_type(interface);
            let loopback = interface.is_loopback();
            let iface: Arc<str> = Arc::from(name.as_str());
            let shared = Arc::clone(&shared);
            opened.push(name.clone());
            threads.push(std::thread::spawn(move || {
                read_loop(rx, link, loopback, iface, &shared)
            }));
        }
        Ok(Capture {
            shared,
            threads,
            interfaces: opened,
        })
    }

    /// Starts keeping the packets of the local endpoint `local` (bound, not yet used).
    pub(crate) fn watch(&self, proto: Proto, local: SocketAddr) {
        lock(&self.shared.watched).insert((proto, local), Vec::new());
    }

    /// The packets seen so far for `local`, still watching.
    pub(crate) fn seen(&self, proto: Proto, local: SocketAddr) -> Vec<Seen> {
        lock(&self.shared.watched)
            .get(&(proto, local))
            .cloned()
            .unwrap_or_default()
    }

    /// Stops watching `local` and returns its packets.
    pub(crate) fn take(&self, proto: Proto, local: SocketAddr) -> Vec<Seen> {
        lock(&self.shared.watched)
            .remove(&(proto, local))
            .unwrap_or_default()
    }

    /// True once the pcap reached its packet limit.
    pub(crate) fn is_full(&self) -> bool {
        self.shared.full.load(Ordering::Relaxed)
    }

    /// Stops the threads, flushes the pcap, and reports.
    pub(crate) fn stop(self) -> CaptureReport {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        let mut errors = std::mem::take(&mut *lock(&self.shared.errors));
        let pcap_packets = lock(&self.shared.pcap).take().map(|sink| {
            if let Some(e) = sink.error {
                errors.push(e);
            }
            match sink.writer.finish() {
                Ok(n) => n,
                Err(e) => {
                    errors.push(format!("pcap: {e}"));
                    0
                }
            }
        });
        CaptureReport {
            interfaces: self.interfaces,
            packets: self.shared.packets.load(Ordering::Relaxed),
            pcap_packets,
            errors,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read_loop(
    mut rx: Box<dyn datalink::DataLinkReceiver>,
    link: LinkType,
    loopback: bool,
    iface: Arc<str>,
    shared: &Shared,
) {
    // On the loopback every frame is seen twice (leaving and arriving), byte for byte.
    let mut previous: Vec<u8> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let frame = match rx.next() {
            Ok(frame) => frame,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                lock(&shared.errors).push(format!("{iface}: {e}"));
                return;
            }
        };
        if loopback {
            if frame == previous.as_slice() {
                previous.clear();
                continue;
            }
            previous.clear();
            previous.extend_from_slice(frame);
        }
        let at = Instant::now();
        let wall = SystemTime::now();
        shared.packets.fetch_add(1, Ordering::Relaxed);
        let packet = Packet::parse(link, frame);
        record_pcap(shared, link, frame, packet.as_ref(), wall);
        if let Some(packet) = packet {
            dispatch(shared, at, &iface, packet);
        }
    }
}

fn record_pcap(
    shared: &Shared,
    link: LinkType,
    frame: &[u8],
    packet: Option<&Packet>,
    wall: SystemTime,
) {
    let mut guard = lock(&shared.pcap);
    let Some(sink) = guard.as_mut() else {
        return;
    };
    if sink.error.is_some() || shared.full.load(Ordering::Relaxed) || !sink.filter.matches(packet) {
        return;
    }
    // A file has one link type; an Ethernet frame going into a raw-IP file loses its header.
    let bytes = match (link, sink.link) {
        (LinkType::Ethernet, LinkType::RawIp) => match frame.get(14..) {
            Some(ip) if packet.is_some() => ip,
            _ => return,
        },
        _ => frame,
    };
    if let Err(e) = sink.writer.write(wall, bytes, bytes.len()) {
        sink.error = Some(format!("pcap: {e}"));
    }
    if sink
        .max_packets
        .is_some_and(|max| sink.writer.packets >= max)
    {
        shared.full.store(true, Ordering::Relaxed);
    }
}

fn dispatch(shared: &Shared, at: Instant, iface: &Arc<str>, packet: Packet) {
    let mut watched = lock(&shared.watched);
    if watched.is_empty() {
        return;
    }
    let (key, outgoing) = match &packet.l4 {
        L4::IcmpError {
            proto, inner_src, ..
        } => ((*proto, *inner_src), false),
        _ => match packet.ports() {
            Some((proto, src, dst)) => {
                if watched.contains_key(&(proto, src)) {
                    ((proto, src), true)
                } else {
                    ((proto, dst), false)
                }
            }
            None => return,
        },
    };
    if let Some(list) = watched.get_mut(&key) {
        list.push(Seen {
            at,
            iface: Arc::clone(iface),
            outgoing,
            packet,
        });
    }
}
