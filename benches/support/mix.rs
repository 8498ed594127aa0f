//! The realistic mix the record-path targets are measured on (issue "Record path v2"):
//! 1,000 peers — half libp2p-style 52-character ids with multiaddr addresses, half
//! `IP:port` ids with that address — 8 kinds, 64 logfmt-style messages of 30–60
//! characters (`handshake seq=01234 lat=0123us ok queue=123`), fields `address` (the
//! peer's address) and `size` (a random u64), severities 30 % Debug, 40 % Info, 15 %
//! Warning, 10 % Error, 5 % Critical. The inputs are generated once from a fixed seed
//! and cycled, so no event is a constant the caches make free.
//!
//! [`MutexRing`] is the simple baseline recorded beside it: a `Mutex<VecDeque>` of
//! owned events, three `String`s allocated per event.
//!
//! Included with `#[path = "support/mix.rs"] mod mix;`.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use flightring::{Event, Severity};

/// The kinds of the mix.
pub const KINDS: [&str; 8] = [
    "peer_connected",
    "peer_disconnected",
    "message_received",
    "message_sent",
    "block_received",
    "rpc_call",
    "gossip_validated",
    "dial_failed",
];

/// Pre-generated events, cycled.
pub const EVENTS: usize = 1 << 13;

/// One pre-generated event: indices into the tables, a severity and a size.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub peer: u16,
    pub message: u8,
    pub kind: u8,
    pub severity: Severity,
    pub size: u64,
}

/// The mix's tables and its event sequence.
#[derive(Debug)]
pub struct Mix {
    /// `(peer id, address)`.
    pub peers: Vec<(String, String)>,
    pub messages: Vec<String>,
    pub events: Vec<Spec>,
}

/// xorshift64*: deterministic, and enough for test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

impl Mix {
    /// The mix from the fixed seed.
    pub fn new() -> Mix {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let peers = (0..1000)
            .map(|i| {
                let ip = format!("198.51.{}.{}", r.below(256), 1 + r.below(254));
                if i % 2 == 0 {
                    let tail: String = (0..44)
                        .map(|_| BASE58[r.below(58) as usize] as char)
                        .collect();
                    let id = format!("12D3KooW{tail}");
                    let addr = format!("/ip4/{ip}/tcp/30333/p2p/{id}");
                    (id, addr)
                } else {
                    let id = format!("{ip}:{}", 30000 + r.below(5000));
                    (id.clone(), id)
                }
            })
            .collect();
        let verbs = [
            "handshake",
            "dial",
            "gossip",
            "sync",
            "ping",
            "request",
            "announce",
            "prune",
        ];
        let messages = (0..64)
            .map(|i| {
                let mut m = format!(
                    "{} seq={:05} lat={:04}us ok queue={}",
                    verbs[i % verbs.len()],
                    r.below(100_000),
                    r.below(10_000),
                    r.below(1000)
                );
                // 30–60 characters.
                let want = 30 + (r.below(31) as usize);
                while m.len() < want {
                    m.push_str(" x=1");
                }
                m.truncate(want.max(30));
                m
            })
            .collect();
        let events = (0..EVENTS)
            .map(|_| {
                let s = r.below(100);
                let severity = match s {
                    0..=29 => Severity::Debug,
                    30..=69 => Severity::Info,
                    70..=84 => Severity::Warning,
                    85..=94 => Severity::Error,
                    _ => Severity::Critical,
                };
                Spec {
                    peer: r.below(1000) as u16,
                    message: r.below(64) as u8,
                    kind: r.below(KINDS.len() as u64) as u8,
                    severity,
                    size: r.next(),
                }
            })
            .collect();
        Mix {
            peers,
            messages,
            events,
        }
    }

    /// The `i`-th event (cycled).
    #[inline]
    pub fn spec(&self, i: usize) -> Spec {
        self.events[i % EVENTS]
    }

    /// The `i`-th event as an [`Event`].
    #[inline]
    pub fn event(&self, i: usize) -> Event<'_> {
        let s = self.spec(i);
        let (peer, addr) = &self.peers[usize::from(s.peer)];
        Event::new(KINDS[usize::from(s.kind)], s.severity)
            .peer(peer)
            .message(&self.messages[usize::from(s.message)])
            .field("address", addr.as_str())
            .field("size", s.size)
    }

    /// Bytes of the `i`-th event's content: kind, peer, message, field keys and values
    /// (the size as 8 bytes).
    pub fn content_bytes(&self, i: usize) -> usize {
        let s = self.spec(i);
        let (peer, addr) = &self.peers[usize::from(s.peer)];
        KINDS[usize::from(s.kind)].len()
            + peer.len()
            + self.messages[usize::from(s.message)].len()
            + "address".len()
            + addr.len()
            + "size".len()
            + 8
    }

    /// Mean content bytes over the whole sequence.
    pub fn mean_content_bytes(&self) -> f64 {
        (0..EVENTS).map(|i| self.content_bytes(i)).sum::<usize>() as f64 / EVENTS as f64
    }
}

impl Default for Mix {
    fn default() -> Self {
        Mix::new()
    }
}

/// An owned event of the baseline.
#[derive(Debug)]
pub struct OwnedEvent {
    pub at: Instant,
    pub kind: &'static str,
    pub severity: Severity,
    pub peer: String,
    pub message: String,
    pub address: String,
    pub size: u64,
}

/// The simple baseline: a bounded `Mutex<VecDeque<OwnedEvent>>`, the oldest dropped on
/// overflow.
#[derive(Debug)]
pub struct MutexRing {
    ring: Mutex<VecDeque<OwnedEvent>>,
    capacity: usize,
}

impl MutexRing {
    pub fn new(capacity: usize) -> MutexRing {
        MutexRing {
            ring: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    /// Records the `i`-th event of `mix`: three strings built, then one lock.
    #[inline]
    pub fn record(&self, mix: &Mix, i: usize) {
        let s = mix.spec(i);
        let (peer, addr) = &mix.peers[usize::from(s.peer)];
        let ev = OwnedEvent {
            at: Instant::now(),
            kind: KINDS[usize::from(s.kind)],
            severity: s.severity,
            peer: peer.clone(),
            message: mix.messages[usize::from(s.message)].clone(),
            address: addr.clone(),
            size: s.size,
        };
        let mut q = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == self.capacity {
            q.pop_front();
        }
        q.push_back(ev);
    }

    /// Events held.
    pub fn len(&self) -> usize {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Copies every event's strings (what a reader of the baseline pays).
    pub fn copy_all(&self) -> usize {
        let q = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .map(|e| e.peer.clone().len() + e.message.clone().len())
            .sum()
    }
}
