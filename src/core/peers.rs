//! The set of peers currently connected, fed by `peer_connected`/`peer_disconnected`.
//!
//! A sharded map ([`dashmap`]) bounded by `max_peers`: a flood of new peers cannot grow
//! it without bound; peers beyond the bound are counted as untracked. Departed peers
//! stay until the sweeper forgets them (one sweep interval later), so a peer that
//! reconnects quickly keeps its entry. Connect and disconnect take a shard lock of the
//! map for the insert or update; plain `record` never touches this table.

use crate::sync::{AtomicU64, Ordering};
use std::time::Instant;

use dashmap::DashMap;

#[derive(Debug)]
struct PeerState {
    connected: bool,
    changed: Instant,
}

#[derive(Debug)]
pub(crate) struct Peers {
    map: DashMap<Box<str>, PeerState>,
    max: usize,
    /// Entries with `connected == true`.
    active: AtomicU64,
    /// Connects refused because the table was full.
    untracked: AtomicU64,
}

impl Peers {
    pub(crate) fn new(max: usize) -> Self {
        Peers {
            map: DashMap::new(),
            max,
            active: AtomicU64::new(0),
            untracked: AtomicU64::new(0),
        }
    }

    pub(crate) fn connect(&self, peer: &str) {
        let now = Instant::now();
        if let Some(mut e) = self.map.get_mut(peer) {
            if !e.connected {
                e.connected = true;
                self.active.fetch_add(1, Ordering::Relaxed);
            }
            e.changed = now;
            return;
        }
        if self.map.len() >= self.max {
            self.untracked.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut e = self.map.entry(peer.into()).or_insert(PeerState {
            connected: false,
            changed: now,
        });
        if !e.connected {
            e.connected = true;
            self.active.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn disconnect(&self, peer: &str) {
        if let Some(mut e) = self.map.get_mut(peer) {
            if e.connected {
                e.connected = false;
                e.changed = Instant::now();
                self.active.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Forgets peers that departed before `cutoff`; returns how many.
    pub(crate) fn forget_departed(&self, cutoff: Instant) -> usize {
        let before = self.map.len();
        self.map.retain(|_, e| e.connected || e.changed > cutoff);
        before.saturating_sub(self.map.len())
    }

    pub(crate) fn active(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }

    pub(crate) fn untracked(&self) -> u64 {
        self.untracked.load(Ordering::Relaxed)
    }

    pub(crate) fn active_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .map
            .iter()
            .filter(|e| e.connected)
            .map(|e| e.key().to_string())
            .collect();
        v.sort_unstable();
        v
    }

    pub(crate) fn is_connected(&self, peer: &str) -> bool {
        self.map.get(peer).is_some_and(|e| e.connected)
    }

    /// Entries held (connected or recently departed).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn connect_disconnect_forget_and_bound() {
        let p = Peers::new(2);
        p.connect("a");
        p.connect("a");
        p.connect("b");
        p.connect("c");
        assert_eq!(p.active(), 2);
        assert_eq!(p.untracked(), 1);
        p.disconnect("a");
        p.disconnect("a");
        p.disconnect("zzz");
        assert_eq!(p.active(), 1);
        assert_eq!(p.active_ids(), vec!["b".to_string()]);
        assert_eq!(
            p.forget_departed(Instant::now() - Duration::from_secs(60)),
            0
        );
        assert_eq!(
            p.forget_departed(Instant::now() + Duration::from_secs(1)),
            1
        );
        assert_eq!(p.len(), 1);
        assert!(p.is_connected("b"));
    }
}
