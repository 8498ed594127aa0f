//! Event kinds interned to small ids, so per-kind counters are an array indexed by id
//! instead of a map looked up per event.
//!
//! The [`Interner`] is a fixed-capacity, open-addressing hash table. Looking a name up
//! is lock-free (a hash, one or two atomic loads and a byte compare); adding a new name
//! takes a mutex, which only the first event of each kind ever touches. Names past the
//! capacity are not interned: such events keep their kind name inline in the slot and
//! are counted under an overflow row, so nothing is lost and memory stays bounded.
//!
//! Callers on a hot path can skip even the lookup with a cached [`Kind`] handle from
//! [`Recorder::kind`](crate::Recorder::kind).

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::sync::{AtomicU32, Mutex, Ordering};

use crate::model::Kind;

/// Marks "not interned" where an id is stored.
pub(crate) const NO_ID: u16 = u16::MAX;

/// A fixed-capacity string interner with lock-free lookups.
pub struct Interner {
    /// Interned names by id; entries `0..len` are set, never changed afterwards.
    names: Box<[OnceLock<Arc<str>>]>,
    /// Open-addressing index: `0` is empty, else `id + 1`. Twice `names.len()` rounded
    /// up to a power of two, so probes stay short. Entries go from empty to set once.
    index: Box<[AtomicU32]>,
    /// Number of interned names, `0..=names.len()`.
    len: AtomicU32,
    /// Serialises inserts (never taken by lookups).
    insert: Mutex<()>,
    /// Unique among all interners of the process, so a [`Kind`] from another recorder
    /// is recognised.
    table_id: u64,
}

/// Process-wide and only for uniqueness, so `std`'s (see `crate::sync`).
static NEXT_TABLE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Loads 8 bytes at `at` (little-endian); the caller guarantees `at + 8 <= b.len()`.
#[inline(always)]
fn load8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The first and last 8 bytes of a name of 8 to 16 bytes, or its bytes packed into
/// one word if shorter: two words that, with the length, identify names up to 16 bytes.
#[inline(always)]
fn short_words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 8 {
        (load8(b, 0), load8(b, n - 8))
    } else {
        let mut w = 0u64;
        for (i, &c) in b.iter().enumerate() {
            w |= u64::from(c) << (8 * i);
        }
        (w, 0)
    }
}

/// Hashes a name: kinds and metric names are short, so names up to 16 bytes take two
/// loads and a multiply; longer ones fold every 8 bytes.
#[inline]
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let n = bytes.len();
    let mut h = if n <= 16 {
        let (a, b) = short_words(bytes);
        (a ^ K).wrapping_mul(K) ^ b.rotate_left(29)
    } else {
        let mut h = 0u64;
        let mut at = 0;
        while at + 8 <= n {
            h = (h.rotate_left(5) ^ load8(bytes, at)).wrapping_mul(K);
            at += 8;
        }
        h ^ load8(bytes, n - 8)
    };
    h = (h ^ n as u64).wrapping_mul(K);
    h ^ (h >> 29)
}

/// Byte equality, inline for short names (no call to `memcmp`).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && if a.len() <= 16 {
            short_words(a) == short_words(b)
        } else {
            a == b
        }
}

impl Interner {
    /// An interner that holds up to `capacity` names (`capacity < u16::MAX`).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.min(usize::from(NO_ID) - 1);
        let slots = (capacity * 2).next_power_of_two().max(2);
        Interner {
            names: (0..capacity).map(|_| OnceLock::new()).collect(),
            index: (0..slots).map(|_| AtomicU32::new(0)).collect(),
            len: AtomicU32::new(0),
            insert: Mutex::new(()),
            table_id: NEXT_TABLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub(crate) fn table_id(&self) -> u64 {
        self.table_id
    }

    /// How many names it can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.names.len()
    }

    /// Whether it holds no name.
    #[cfg(any(loom, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many names it holds.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire) as usize
    }

    /// The id of `name`, if interned. Lock-free.
    #[inline(always)]
    pub fn lookup(&self, name: &str) -> Option<u16> {
        let mask = self.index.len() - 1;
        let mut i = hash(name.as_bytes()) as usize & mask;
        loop {
            // Acquire: pairs with the Release store in `intern`, so the name is visible.
            let e = self.index[i].load(Ordering::Acquire);
            if e == 0 {
                return None;
            }
            let id = (e - 1) as usize;
            if self.names[id]
                .get()
                .is_some_and(|n| same(n.as_bytes(), name.as_bytes()))
            {
                return Some(id as u16);
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `name`, interning it if new. `None` when the table is full.
    #[cold]
    pub fn intern(&self, name: &str) -> Option<u16> {
        if let Some(id) = self.lookup(name) {
            return Some(id);
        }
        let _guard = self.insert.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = self.lookup(name) {
            return Some(id);
        }
        let id = self.len.load(Ordering::Relaxed) as usize;
        if id >= self.names.len() {
            return None;
        }
        let _ = self.names[id].set(Arc::from(name));
        let mask = self.index.len() - 1;
        let mut i = hash(name.as_bytes()) as usize & mask;
        while self.index[i].load(Ordering::Relaxed) != 0 {
            i = (i + 1) & mask;
        }
        self.index[i].store(id as u32 + 1, Ordering::Release);
        self.len.store(id as u32 + 1, Ordering::Release);
        Some(id as u16)
    }

    /// The name with id `id`.
    pub fn name(&self, id: u16) -> Option<&Arc<str>> {
        self.names.get(usize::from(id)).and_then(OnceLock::get)
    }

    /// A cached handle for `name` (interning it if there is room).
    pub(crate) fn handle(&self, name: &str) -> Kind {
        match self.intern(name) {
            Some(id) => Kind {
                id,
                table: self.table_id,
                name: Arc::clone(self.name(id).expect("interned above")),
            },
            None => Kind {
                id: NO_ID,
                table: self.table_id,
                name: Arc::from(name),
            },
        }
    }

    /// Bytes of memory the table holds (names not counted: bounded by the capacity).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.names.len() * std::mem::size_of::<OnceLock<Arc<str>>>() + self.index.len() * 4
    }
}

impl fmt::Debug for Interner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_looks_up_and_overflows() {
        let t = Interner::new(3);
        assert_eq!(t.lookup("a"), None);
        let a = t.intern("a").unwrap();
        let b = t.intern("bb").unwrap();
        assert_ne!(a, b);
        assert_eq!(t.intern("a"), Some(a));
        assert_eq!(t.lookup("bb"), Some(b));
        assert_eq!(&**t.name(b).unwrap(), "bb");
        assert!(t.intern("ccc").is_some());
        assert_eq!(t.intern("dddd"), None, "full");
        assert_eq!(t.len(), 3);
        let k = t.handle("dddd");
        assert_eq!(k.id, NO_ID);
        assert_eq!(k.name(), "dddd");
    }

    #[test]
    fn concurrent_interning_gives_one_id_per_name() {
        let t = Arc::new(Interner::new(64));
        let ids: Vec<Vec<u16>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let t = &t;
                    s.spawn(move || {
                        (0..50)
                            .map(|i| t.intern(&format!("k{i}")).unwrap())
                            .collect()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for v in &ids[1..] {
            assert_eq!(v, &ids[0]);
        }
        assert_eq!(t.len(), 50);
    }
}
