//! The "typical event" every bench and the bench command record, defined once: a kind,
//! a 20-character peer id, a 40-character message and two fields (`address` — a
//! string — and `size` — a `u64`). Encoded it takes 119 of the 120 payload bytes of the
//! default 128-byte slot, so it is recorded whole (not truncated).
//!
//! Included with `#[path = "support/typical.rs"] mod typical;` next to
//! `#[path = "support/baseline.rs"] mod baseline;` (it uses `crate::baseline`).

#![allow(dead_code)]

use flightring::{Event, Kind, Recorder, Severity};

use crate::baseline::{BaseValue, Baseline};

/// The kind of the typical event.
pub const KIND: &str = "block_received";
/// A peer id of 20 characters.
pub const PEER: &str = "12D3KooWHk9peer00042";
/// A message of 40 characters.
pub const MESSAGE: &str = "received block 812345 from peer in 850us";
/// The `address` field's value.
pub const ADDRESS: &str = "192.168.1.100:8333";
/// The `size` field's value.
pub const SIZE: u64 = 1024;
/// The severity of the typical event.
pub const SEVERITY: Severity = Severity::Info;

/// The histogram name `observe` benches use.
pub const HISTOGRAM: &str = "rpc.getReserves";

/// The typical event, kind given by name (looked up per record).
#[inline]
pub fn event() -> Event<'static> {
    Event::new(KIND, SEVERITY)
        .peer(PEER)
        .message(MESSAGE)
        .field("address", ADDRESS)
        .field("size", SIZE)
}

/// The typical event through a cached [`Kind`] handle.
#[inline]
pub fn event_with(kind: &Kind) -> Event<'_> {
    Event::with_kind(kind, SEVERITY)
        .peer(PEER)
        .message(MESSAGE)
        .field("address", ADDRESS)
        .field("size", SIZE)
}

/// Records the typical event into the baseline (same data, owned there).
#[inline]
pub fn record_baseline(b: &Baseline) {
    b.record(
        KIND,
        SEVERITY,
        Some(PEER),
        MESSAGE,
        &[
            ("address", BaseValue::Str(ADDRESS)),
            ("size", BaseValue::U64(SIZE)),
        ],
    );
}

/// Kinds used to fill a ring with a varied mix (for the read and export benches).
pub const MIX_KINDS: [&str; 4] = ["block_received", "peer_message", "rpc_call", "mempool_tx"];
/// Number of distinct peers in the mix (prime, so kind and peer are independent).
pub const MIX_PEERS: usize = 97;

/// The severity of the `i`-th mixed event: 40 % Debug, 40 % Info, 15 % Warning,
/// 4 % Error, 1 % Critical.
pub fn mix_severity(i: usize) -> Severity {
    match i % 100 {
        0..=39 => Severity::Debug,
        40..=79 => Severity::Info,
        80..=94 => Severity::Warning,
        95..=98 => Severity::Error,
        _ => Severity::Critical,
    }
}

/// The 20-character peer id of peer number `p`.
pub fn mix_peer(p: usize) -> String {
    format!("12D3KooWHk9peer{p:05}")
}

/// Peer ids of the mix, built once.
pub fn mix_peers() -> Vec<String> {
    (0..MIX_PEERS).map(mix_peer).collect()
}

/// Records mixed typical events into `rec` until every slot holds one (at least
/// `rec.capacity()` events: a thread's shard rotates over time, so the shards do not
/// fill evenly); returns how many were recorded, for [`fill_baseline`].
pub fn fill(rec: &Recorder) -> usize {
    let peers = mix_peers();
    let cap = rec.capacity();
    let mut i = 0;
    let mut target = cap;
    loop {
        while i < target {
            rec.record(
                &Event::new(MIX_KINDS[i % MIX_KINDS.len()], mix_severity(i))
                    .peer(&peers[i % MIX_PEERS])
                    .message(MESSAGE)
                    .field("address", ADDRESS)
                    .field("size", i as u64),
            );
            i += 1;
        }
        if rec.stats().retained >= cap as u64 || i >= 8 * cap {
            return i;
        }
        target += cap.div_ceil(16);
    }
}

/// Records the same `n` mixed events into the baseline.
pub fn fill_baseline(b: &Baseline, n: usize) {
    let peers = mix_peers();
    for i in 0..n {
        b.record(
            MIX_KINDS[i % MIX_KINDS.len()],
            mix_severity(i),
            Some(&peers[i % MIX_PEERS]),
            MESSAGE,
            &[
                ("address", BaseValue::Str(ADDRESS)),
                ("size", BaseValue::U64(i as u64)),
            ],
        );
    }
}

/// The kind and peer a filtered scan looks for (about 1 in 388 events match).
pub fn scan_target() -> (&'static str, String) {
    (MIX_KINDS[2], mix_peer(42))
}
