//! Port sets: which (protocol, port) pairs a pair of pods may use, for `reach`. Computed from the
//! same rule matching as `decide`; a property test keeps the two in agreement.

use std::collections::BTreeMap;
use std::fmt;

use super::Protocol;

/// Sets of inclusive port ranges per protocol, kept sorted and merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSet(BTreeMap<Protocol, Vec<(u16, u16)>>);

pub(super) const PROTOCOLS: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

impl PortSet {
    pub fn empty() -> Self {
        PortSet::default()
    }

    /// Every port of every protocol.
    pub fn all() -> Self {
        let mut s = PortSet::default();
        for p in PROTOCOLS {
            s.add(p, 1, 65535);
        }
        s
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    pub fn is_all(&self) -> bool {
        *self == PortSet::all()
    }

    pub fn add(&mut self, proto: Protocol, from: u16, to: u16) {
        let ranges = self.0.entry(proto).or_default();
        ranges.push((from.min(to), from.max(to)));
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges.iter() {
            match merged.last_mut() {
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *ranges = merged;
    }

    pub fn union(&mut self, other: &PortSet) {
        for (p, ranges) in &other.0 {
            for &(a, b) in ranges {
                self.add(*p, a, b);
            }
        }
    }

    pub fn intersect(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet::default();
        for (p, mine) in &self.0 {
            let Some(theirs) = other.0.get(p) else {
                continue;
            };
            for &(a, b) in mine {
                for &(c, d) in theirs {
                    let (lo, hi) = (a.max(c), b.min(d));
                    if lo <= hi {
                        out.add(*p, lo, hi);
                    }
                }
            }
        }
        out
    }

    /// This set without the ports of `other`.
    pub fn minus(&self, other: &PortSet) -> PortSet {
        let mut out = PortSet::default();
        for (p, mine) in &self.0 {
            let theirs = other.0.get(p).cloned().unwrap_or_default();
            for &(a, b) in mine {
                let mut pieces = vec![(a, b)];
                for &(c, d) in &theirs {
                    let mut next = Vec::new();
                    for (x, y) in pieces {
                        if d < x || c > y {
                            next.push((x, y));
                            continue;
                        }
                        if c > x {
                            next.push((x, c - 1));
                        }
                        if d < y {
                            next.push((d + 1, y));
                        }
                    }
                    pieces = next;
                }
                for (x, y) in pieces {
                    out.add(*p, x, y);
                }
            }
        }
        out
    }

    pub fn contains(&self, proto: Protocol, port: u16) -> bool {
        self.0
            .get(&proto)
            .is_some_and(|r| r.iter().any(|&(a, b)| a <= port && port <= b))
    }

    /// Ranges per protocol, for output.
    pub fn ranges(&self) -> impl Iterator<Item = (Protocol, &[(u16, u16)])> {
        self.0
            .iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(p, r)| (*p, r.as_slice()))
    }
}

impl fmt::Display for PortSet {
    /// "all", "TCP 80, 8000-8100; UDP 53", or "none".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all");
        }
        if self.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self
            .ranges()
            .map(|(p, r)| {
                let list: Vec<String> = r
                    .iter()
                    .map(|&(a, b)| match (a, b) {
                        (1, 65535) => "all".to_string(),
                        (a, b) if a == b => a.to_string(),
                        (a, b) => format!("{a}-{b}"),
                    })
                    .collect();
                format!("{p} {}", list.join(", "))
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_intersect_and_subtract() {
        let mut s = PortSet::empty();
        s.add(Protocol::Tcp, 80, 80);
        s.add(Protocol::Tcp, 81, 90);
        s.add(Protocol::Tcp, 100, 100);
        s.add(Protocol::Udp, 53, 53);
        assert_eq!(s.to_string(), "TCP 80-90, 100; UDP 53");
        let mut t = PortSet::empty();
        t.add(Protocol::Tcp, 85, 120);
        assert_eq!(s.intersect(&t).to_string(), "TCP 85-90, 100");
        assert_eq!(s.minus(&t).to_string(), "TCP 80-84; UDP 53");
        assert!(PortSet::all().is_all());
        assert_eq!(PortSet::all().to_string(), "all");
        assert_eq!(PortSet::all().minus(&PortSet::all()).to_string(), "none");
        assert!(
            s.contains(Protocol::Tcp, 90)
                && !s.contains(Protocol::Tcp, 91)
                && !s.contains(Protocol::Sctp, 80)
        );
    }
}
