//! The properties the fuzz targets check, shared by the targets in `fuzz/fuzz_targets/`
//! and the stable corpus replay test `tests/fuzz_corpus.rs` (both include this file
//! with `#[path = "…"] mod checks;`). Each function takes the fuzzer's raw bytes and
//! panics if a property fails; errors from the library are fine where documented.
//!
//! * [`codec`]: an event built from the bytes survives `encode` → `decode` at every
//!   `max_event_bytes` tried (one cell, two cells, the default 2 KiB, the 16 KiB limit
//!   and one size the input picks): decoding succeeds, an event whole at one size is
//!   whole, byte for byte, at every larger one, the record path's cell count covers the
//!   encoding exactly, every string is a prefix of the original (cuts fall
//!   on character boundaries), and without the truncated flag everything round-trips
//!   exactly.
//! * [`decode_raw`]: `decode` never panics on arbitrary bytes; whatever it accepts
//!   encodes back to the same event.
//! * [`import`]: `Snapshot::from_json` and `read_jsonl` never panic; what they accept
//!   exports back to text that loads to the same thing.
//! * [`settings`]: the bytes as `NAME=VALUE` lines (an environment) and as TOML: never
//!   a panic; an error names the variable, or the line of the file; what is accepted
//!   gives a valid configuration.
//! * [`recording`]: the bytes as a file the recording loaders open (any format, plain
//!   or gzip, small line and document limits), as a document, and as stream lines
//!   plain and gunzipped: never a panic; every `*_partial` reader keeps what a strict
//!   read of the same bytes keeps; a document that loads writes back to one that loads.

use flightring::internals::{cells_needed, decode, encode};
use flightring::{Event, FieldValue, Severity, Snapshot, MAX_FIELDS};

/// `max_event_bytes` budgets tried for every input: one 64-byte cell's payload, two
/// cells', the default, and the largest accepted (an input-chosen one is added).
pub const PAYLOAD_SIZES: [usize; 4] = [56, 112, 2048, 16384];
/// Payload bytes of one cell.
const CELL_PAYLOAD: usize = 56;

/// The kind id that makes `encode` store the kind name inline.
const INLINE_KIND: u16 = u16::MAX;
/// Bytes of the payload header (timestamp and fixed fields).
const HEADER: usize = 16;
/// The longest inline kind name.
const MAX_INLINE_KIND: usize = 64;

/// Reads the fuzzer's bytes as a sequence of small values; past the end, every read
/// gives zeros, so any input builds some event.
struct Input<'a> {
    b: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.b.split_first() {
            Some((&x, rest)) => {
                self.b = rest;
                x
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        let mut w = [0u8; 8];
        for x in &mut w {
            *x = self.byte();
        }
        u64::from_le_bytes(w)
    }

    /// A string of up to `u16` length-prefixed bytes, decoded lossily: invalid bytes
    /// become U+FFFD (three bytes), so inputs easily carry multi-byte characters.
    fn string(&mut self) -> String {
        let n = usize::from(self.u16()).min(self.b.len());
        let (s, rest) = self.b.split_at(n);
        self.b = rest;
        String::from_utf8_lossy(s).into_owned()
    }
}

/// An owned field value, built from the input before the event borrows it.
#[derive(Debug, Clone)]
enum OwnedValue {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl OwnedValue {
    fn as_field(&self) -> FieldValue<'_> {
        match self {
            OwnedValue::Str(s) => FieldValue::Str(s),
            OwnedValue::I64(v) => FieldValue::I64(*v),
            OwnedValue::U64(v) => FieldValue::U64(*v),
            OwnedValue::F64(v) => FieldValue::F64(*v),
            OwnedValue::Bool(v) => FieldValue::Bool(*v),
        }
    }
}

/// Everything an event is built from, owned.
#[derive(Debug)]
struct Spec {
    kind: String,
    kind_id: u16,
    severity: Severity,
    peer: Option<String>,
    message: String,
    fields: Vec<(String, OwnedValue)>,
    raw_ts: u64,
}

impl Spec {
    fn parse(data: &[u8]) -> Spec {
        let mut r = Input { b: data };
        let severity = Severity::ALL[usize::from(r.byte()) % Severity::ALL.len()];
        let flags = r.byte();
        let kind_id = if flags & 2 != 0 {
            INLINE_KIND
        } else {
            r.u16() % INLINE_KIND
        };
        let raw_ts = r.u64();
        let nfields = usize::from(r.byte() % (MAX_FIELDS as u8 + 3));
        let kind = r.string();
        let peer = (flags & 1 != 0).then(|| r.string());
        let message = r.string();
        let fields = (0..nfields)
            .map(|_| {
                let tag = r.byte();
                let key = r.string();
                let value = match tag % 5 {
                    0 => OwnedValue::Str(r.string()),
                    1 => OwnedValue::I64(r.u64() as i64),
                    2 => OwnedValue::U64(r.u64()),
                    3 => OwnedValue::F64(f64::from_bits(r.u64())),
                    _ => OwnedValue::Bool(r.byte() & 1 != 0),
                };
                (key, value)
            })
            .collect();
        Spec {
            kind,
            kind_id,
            severity,
            peer,
            message,
            fields,
            raw_ts,
        }
    }

    fn event(&self) -> Event<'_> {
        let mut ev = Event::new(&self.kind, self.severity).message(&self.message);
        if let Some(p) = &self.peer {
            ev = ev.peer(p);
        }
        for (k, v) in &self.fields {
            ev = ev.field(k, v.as_field());
        }
        ev
    }
}

/// Field values are equal (floats bit for bit, so NaN equals itself).
fn same_value(a: &FieldValue<'_>, b: &FieldValue<'_>) -> bool {
    match (a, b) {
        (FieldValue::F64(x), FieldValue::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// `got` is what survives of `orig` after truncation: same type, a string value may
/// be cut to a prefix.
fn value_survives(got: &FieldValue<'_>, orig: &FieldValue<'_>) -> bool {
    match (got, orig) {
        (FieldValue::Str(g), FieldValue::Str(o)) => o.starts_with(g),
        _ => same_value(got, orig),
    }
}

/// The longest prefix of `s` of at most `max` bytes ending on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut n = max.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// Builds an event from `data`, encodes it into a payload of every slot size and
/// decodes it back, checking what survived.
pub fn codec(data: &[u8]) {
    let spec = Spec::parse(data);
    let ev = spec.event();
    // The event keeps at most MAX_FIELDS fields; more set its truncated flag.
    let kept_fields = &spec.fields[..spec.fields.len().min(MAX_FIELDS)];

    let picked = 24 + (spec.raw_ts as usize ^ spec.message.len()) % (16384 - 24);
    let mut sizes = PAYLOAD_SIZES.to_vec();
    sizes.push(picked);
    sizes.sort_unstable();
    let mut whole_at: Option<Vec<u8>> = None;
    for size in sizes {
        // Garbage around the payload: decoding must not depend on zeroed buffers.
        let mut buf = vec![0xA5u8; size];
        let (len, truncated) = encode(&ev, spec.kind_id, spec.raw_ts, &mut buf);
        assert!((HEADER..=size).contains(&len), "size {size}: len {len}");
        // The record path takes the cells this encoding needs, no more.
        let (cells, cells_cut) = cells_needed(&ev, spec.kind_id, size);
        assert_eq!(
            cells,
            len.div_ceil(CELL_PAYLOAD),
            "size {size}: cells for {len}"
        );
        assert_eq!(
            cells_cut, truncated,
            "size {size}: the record path's truncation"
        );
        // Whole at a smaller budget: whole, and the same bytes, at this one.
        if let Some(w) = &whole_at {
            assert!(!truncated, "size {size}: whole at a smaller size");
            assert_eq!(&buf[..len], &w[..], "size {size}: a different encoding");
        } else if !truncated {
            whole_at = Some(buf[..len].to_vec());
        }
        assert_eq!(
            buf[..8],
            spec.raw_ts.to_le_bytes(),
            "size {size}: timestamp"
        );

        let whole = decode(&buf).unwrap_or_else(|e| panic!("size {size}: {e}"));
        let exact = decode(&buf[..len]).unwrap_or_else(|e| panic!("size {size}, {len}: {e}"));
        assert_eq!(
            format!("{whole:?}"),
            format!("{exact:?}"),
            "size {size}: bytes past `len` changed the decoded event"
        );
        let (kind_id, kind_inline, severity, peer, message, fields, flag) = exact;
        assert_eq!(flag, truncated, "size {size}: truncated flag");
        assert_eq!(kind_id, spec.kind_id, "size {size}");
        assert_eq!(severity, spec.severity, "size {size}");

        // Kind: inline (a prefix, at most 64 bytes) exactly when asked for.
        let mut used = HEADER;
        match (spec.kind_id == INLINE_KIND, kind_inline) {
            (true, Some(k)) => {
                assert!(spec.kind.starts_with(k), "size {size}: kind {k:?}");
                assert!(k.len() <= MAX_INLINE_KIND, "size {size}: kind {}", k.len());
                used += 1 + k.len();
            }
            (false, None) => {}
            (inline, k) => panic!("size {size}: inline {inline} but decoded {k:?}"),
        }

        // Peer: present exactly when set, a prefix of at most 255 bytes.
        match (&spec.peer, peer) {
            (Some(p), Some(d)) => {
                assert!(p.starts_with(d), "size {size}: peer {d:?}");
                assert!(d.len() <= 255, "size {size}: peer {}", d.len());
                used += d.len();
            }
            (None, None) => {}
            (p, d) => panic!("size {size}: peer {p:?} decoded as {d:?}"),
        }

        // Message: a prefix that keeps at least half the space left after the kind and
        // the peer (less up to 3 bytes to end on a character boundary).
        assert!(spec.message.starts_with(message), "size {size}: message");
        let avail = size - used;
        let floor = spec.message.len().min(avail / 2);
        assert!(
            message.len() + 3 >= floor,
            "size {size}: message kept {} of {} bytes with {avail} available",
            message.len(),
            spec.message.len()
        );

        // Fields: an in-order subsequence of the event's fields; keys cut to 255 bytes,
        // values whole except that a string may be cut.
        assert!(fields.len() <= kept_fields.len(), "size {size}: fields");
        let mut originals = kept_fields.iter();
        for (i, (key, value)) in fields.iter().enumerate() {
            let found =
                originals.any(|(k, v)| *key == cut(k, 255) && value_survives(value, &v.as_field()));
            assert!(
                found,
                "size {size}: field {i} {key:?} = {value:?} is not from the event"
            );
        }

        let round_trips = kind_inline.is_none_or(|k| k == spec.kind)
            && peer == spec.peer.as_deref()
            && message == spec.message
            && spec.fields.len() == fields.len()
            && fields
                .iter()
                .zip(&spec.fields)
                .all(|((k, v), (ok, ov))| k == ok && same_value(v, &ov.as_field()));
        // Truncated exactly when something was lost.
        assert_eq!(
            !truncated, round_trips,
            "size {size}: truncated {truncated}, but round trip exact: {round_trips}"
        );
    }
}

/// Decodes arbitrary bytes: must not panic. Whatever decodes encodes back, in a buffer
/// as long as the input, to a payload that decodes to the same event.
pub fn decode_raw(data: &[u8]) {
    let Ok((kind_id, kind_inline, severity, peer, message, fields, _)) = decode(data) else {
        return;
    };
    // Re-encode what `encode` can express: an inline kind is stored when the id is the
    // inline marker, and is at most 64 bytes.
    let id = match kind_inline {
        Some(k) if k.len() > MAX_INLINE_KIND => return,
        Some(_) => INLINE_KIND,
        None if kind_id == INLINE_KIND => return,
        None => kind_id,
    };
    let mut ev = Event::new(kind_inline.unwrap_or(""), severity).message(message);
    if let Some(p) = peer {
        ev = ev.peer(p);
    }
    for (k, v) in &fields {
        ev = ev.field(k, *v);
    }
    // Everything fits: the input held it all (possibly with more besides).
    let mut buf = vec![0u8; data.len().max(HEADER + 8)];
    let (len, truncated) = encode(&ev, id, 7, &mut buf);
    assert!(!truncated, "re-encoding a decoded payload truncated it");
    assert!(len <= data.len().max(HEADER + 8));
    let again = decode(&buf[..len]).expect("re-encoded payload decodes");
    assert_eq!(again.0, id);
    assert_eq!(again.1, kind_inline);
    assert_eq!(again.2, severity);
    assert_eq!(again.3, peer);
    assert_eq!(again.4, message);
    assert_eq!(again.5.len(), fields.len());
    for ((k1, v1), (k2, v2)) in again.5.iter().zip(&fields) {
        assert_eq!(k1, k2);
        assert!(same_value(v1, v2), "{v1:?} != {v2:?}");
    }
    assert!(!again.6);
}

/// Loads arbitrary bytes as an export document and as JSON Lines: must not panic
/// (errors are fine). What loads exports back to text that loads to the same thing.
pub fn import(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(snap) = Snapshot::from_json(&text) {
        let json = snap.to_json().expect("a loaded snapshot exports");
        let again = Snapshot::from_json(&json)
            .unwrap_or_else(|e| panic!("re-export does not load: {e}\n{json}"));
        assert_eq!(
            again.to_json().expect("exports"),
            json,
            "export is not stable"
        );
    }
    if let Ok(events) = flightring::read_jsonl(data) {
        let mut jsonl = String::new();
        for ev in &events {
            jsonl.push_str(&serde_json::to_string(ev).expect("an event serialises"));
            jsonl.push('\n');
        }
        let again = flightring::read_jsonl(jsonl.as_bytes())
            .unwrap_or_else(|e| panic!("re-written JSON Lines do not load: {e}\n{jsonl}"));
        let mut jsonl2 = String::new();
        for ev in &again {
            jsonl2.push_str(&serde_json::to_string(ev).expect("an event serialises"));
            jsonl2.push('\n');
        }
        assert_eq!(jsonl2, jsonl, "JSON Lines are not stable");
    }
}

/// The bytes as an environment (`NAME=VALUE` lines, `FLIGHTRING_` prefixed when they
/// are not, so the fuzzer reaches the real variables) and as a TOML file.
pub fn settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let env: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let k = k.trim().to_ascii_uppercase();
            let k = if k.starts_with("FLIGHTRING_") {
                k
            } else {
                format!("FLIGHTRING_{k}")
            };
            (k, v.to_owned())
        })
        // No file system: neither a settings file nor an output path.
        .filter(|(k, _)| k != "FLIGHTRING_CONFIG" && k != "FLIGHTRING_OUTPUT")
        .collect();
    let get = |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
    match flightring::Settings::from_env_map(get) {
        Ok(s) => {
            s.to_builder()
                .config()
                .expect("accepted settings give a valid configuration");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match flightring::Settings::from_toml_str(&text) {
        Ok(s) => {
            s.to_builder()
                .config()
                .expect("accepted settings give a valid configuration");
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            if let Some(line) = e.line() {
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "{e}");
            }
        }
    }
}

/// The bytes as every kind of file the recording loaders read.
pub fn recording(data: &[u8]) {
    use flightring::exporter::read_stream_partial;
    use flightring::recording::{Entries, Recording};
    use flightring::ReadLimits;
    use std::io::BufReader;

    let limits = ReadLimits::default()
        .max_line_bytes(512)
        .max_document_bytes(1 << 16);
    // As a file: the format told by content, as `flightring` and `Recording::open` do.
    let path = std::env::temp_dir().join(format!("flightring-fuzz-{}.in", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        if let Ok(entries) = Entries::open_with(&path, &limits) {
            let mut failed = false;
            for e in entries {
                assert!(!failed, "nothing after an error");
                failed = e.is_err();
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    // As a document.
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = Recording::from_json_str(&text, "fuzz.json") {
        let json = r.to_json().expect("a loaded recording writes");
        let again = Recording::from_json_str(&json, "again.json")
            .unwrap_or_else(|e| panic!("a written recording does not load: {e}\n{json}"));
        assert_eq!(again.events.len(), r.events.len());
    }
    // As stream lines, plain and gunzipped: the partial readers keep what they read.
    let (lines, err) = read_stream_partial(data, &limits);
    match flightring::exporter::read_stream_with(data, &limits) {
        Ok(all) => assert!(err.is_none() && all == lines),
        Err(e) => assert_eq!(Some(e.to_string()), err.map(|e| e.to_string())),
    }
    let (events, _) = flightring::read_jsonl_partial(data, &limits);
    assert!(events.len() <= lines.len() + data.len());
    let gz = BufReader::new(flate2::read::MultiGzDecoder::new(data));
    let _ = read_stream_partial(gz, &limits);
}
