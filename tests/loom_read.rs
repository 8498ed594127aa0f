//! Loom model tests of the two lock-free read paths outside the slot protocol proper:
//! the kind interner's publish (`src/core/interner.rs`: a name is stored, then its index
//! entry is released, and lock-free lookups acquire it) and the snapshot's copy of a
//! record's cells straight into its buffer (`Shard::read_record`, used by `read::snapshot`).
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" cargo test --release --test loom_read
//! ```
#![cfg(loom)]

use std::sync::Arc;

use loom::thread;

use flightring::internals::{Interner, Shard};

#[path = "support/loom_model.rs"]
mod loom_model;
use loom_model::{model, Seen};

/// Two threads intern different names while a third looks both up: each intern gets
/// its own id, a lookup finds nothing or the right id (never another name's, never a
/// half-published entry), and once `intern` returned, its own thread finds the name.
#[test]
fn interner_publish_is_seen_whole_by_lock_free_lookups() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let t = Arc::new(Interner::new(4));
        let names = ["peer_connected", "rpc_call"];
        let writers: Vec<_> = names
            .iter()
            .map(|&name| {
                let t = Arc::clone(&t);
                thread::spawn(move || {
                    let id = t.intern(name).expect("room for two names");
                    assert_eq!(t.lookup(name), Some(id), "its own thread sees it");
                    assert_eq!(t.name(id).map(|n| &**n), Some(name));
                    id
                })
            })
            .collect();
        let reader = {
            let t = Arc::clone(&t);
            let s = s.clone();
            thread::spawn(move || {
                for name in names {
                    match t.lookup(name) {
                        Some(id) => {
                            assert_eq!(
                                t.name(id).map(|n| &**n),
                                Some(name),
                                "a found id names what was looked up"
                            );
                            s.add("lookup found");
                        }
                        None => s.add("lookup missed"),
                    }
                }
            })
        };
        let ids: Vec<u16> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        reader.join().unwrap();
        assert_ne!(ids[0], ids[1], "two names, two ids");
        assert_eq!(t.len(), 2);
        for (name, id) in names.iter().zip(&ids) {
            assert_eq!(t.lookup(name), Some(*id));
        }
    });
    // The race the model is about: a lookup during an intern, both ways.
    seen.assert_saw(&["lookup found", "lookup missed"]);
}

/// The payload a write stores: the same tag in both words, so a torn copy shows.
fn payload(tag: u64) -> [u8; 16] {
    let mut p = [0u8; 16];
    p[..8].copy_from_slice(&tag.to_le_bytes());
    p[8..].copy_from_slice(&tag.to_le_bytes());
    p
}

/// A writer overwrites a one-slot shard twice while the snapshot path copies the slot
/// into its buffer: the copy is appended whole (both words from one write) or not at
/// all, and a refused copy leaves the buffer exactly as it was. (The writer runs on the
/// model's main thread and the reader is spawned, as in `loom_slot.rs`: loom explores a
/// race when the later access of the first execution finds the earlier one.)
#[test]
fn snapshot_copy_is_whole_or_nothing_under_overwrite() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let shard = Arc::new(Shard::new(1, 2, 1));
        let r = {
            let shard = Arc::clone(&shard);
            let s = s.clone();
            thread::spawn(move || {
                let mut out = vec![7u64]; // what an earlier slot left in the buffer
                match shard.read_record(0, &mut out, |_| true) {
                    Some(_) => {
                        assert_eq!(out.len(), 3, "{out:x?}");
                        assert_eq!(out[1], out[2], "a torn copy: {out:x?}");
                        assert!([0xA1, 0xB2].contains(&out[1]), "{out:x?}");
                        s.add(if out[1] == 0xA1 {
                            "copied first"
                        } else {
                            "copied second"
                        });
                    }
                    None if out == [7] => s.add("refused"),
                    None => panic!("a refused copy changed the buffer: {out:x?}"),
                }
                // `keep` sees the first word (the raw timestamp) and can refuse the
                // event, as the retention cut-off does; the buffer is then untouched.
                let mut kept = Vec::new();
                match shard.read_record(0, &mut kept, |w0| w0 != 0xB2) {
                    Some(_) => assert_eq!(kept, [0xA1, 0xA1]),
                    None => assert!(kept.is_empty(), "{kept:x?}"),
                }
            })
        };
        shard.write(&payload(0xA1));
        shard.write(&payload(0xB2));
        r.join().unwrap();
    });
    seen.assert_saw(&["copied first", "copied second", "refused"]);
}

/// The reserved tier (`Core::write_plain` sends Warning and above to a shard of their
/// own): while a Debug writer laps its one-cell main shard, an Error writer publishes
/// into the reserved shard and a reader copies it. The reader gets the error whole or
/// nothing (never a main-tier payload); afterwards the error is still there, the main
/// shard holds its newest event, and each tier's identity `overwritten = recorded +
/// extra − missing` gives 1 for the lapped main tier and 0 for the reserved one.
#[test]
fn a_main_tier_lap_leaves_the_reserved_tier_whole() {
    let seen = Seen::default();
    let s = seen.clone();
    model(move || {
        let main = Arc::new(Shard::new(1, 2, 1));
        let reserved = Arc::new(Shard::new(1, 2, 1));
        let error = {
            let reserved = Arc::clone(&reserved);
            thread::spawn(move || reserved.write(&payload(0xE1)))
        };
        let reader = {
            let reserved = Arc::clone(&reserved);
            let s = s.clone();
            thread::spawn(move || {
                let mut out = Vec::new();
                match reserved.read_record(0, &mut out, |_| true) {
                    Some(_) => {
                        assert_eq!(out, [0xE1, 0xE1], "{out:x?}");
                        s.add("reserved copied");
                    }
                    None => {
                        assert!(out.is_empty(), "{out:x?}");
                        s.add("reserved refused");
                    }
                }
            })
        };
        main.write(&payload(0xA1));
        main.write(&payload(0xA2));
        assert!(error.join().unwrap().is_some(), "the error was dropped");
        reader.join().unwrap();
        let mut out = Vec::new();
        assert!(reserved.read_record(0, &mut out, |_| true).is_some());
        assert_eq!(out, [0xE1, 0xE1]);
        out.clear();
        assert!(main.read_record(0, &mut out, |_| true).is_some());
        assert_eq!(out, [0xA2, 0xA2]);
        let overwritten =
            |sh: &Shard, recorded: u64| recorded + sh.overwrite_extra() - sh.overwrite_missing();
        assert_eq!((overwritten(&main, 2), main.dropped()), (1, 0));
        assert_eq!((overwritten(&reserved, 1), reserved.dropped()), (0, 0));
    });
    seen.assert_saw(&["reserved copied", "reserved refused"]);
}
