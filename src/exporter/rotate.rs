//! Rotated files: their names, their compression and their retention.
//!
//! The current file `<dir>/<stem><ext>` (e.g. `flight_recorder.jsonl`) is renamed, when
//! full, to `<dir>/<stem>.<seq><ext>` with a sequence number of at least six digits
//! (`flight_recorder.000001.jsonl`), then — with `gzip` — compressed to
//! `<…>.jsonl.gz` through a temporary `<…>.jsonl.gz.tmp` renamed into place once
//! complete and synced, after which the uncompressed copy is removed. A name once given
//! is never reused or shifted: the next number is one more than the highest in the
//! directory (so a restarted exporter continues the sequence), and a rotated file is
//! never written again.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::error::Failure;

/// How the stream's files are named.
#[derive(Debug, Clone)]
pub(crate) struct Naming {
    dir: PathBuf,
    stem: String,
    ext: String,
}

/// A rotated file found in the directory.
#[derive(Debug, Clone)]
pub(crate) struct Rotated {
    pub(crate) seq: u64,
    pub(crate) path: PathBuf,
    /// Compressed (`.gz`).
    pub(crate) gz: bool,
    /// An unfinished compression (`.gz.tmp`), left by a crash.
    pub(crate) temp: bool,
}

impl Naming {
    pub(crate) fn new(path: &Path) -> Naming {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (stem, ext) = match name.rfind('.') {
            Some(i) if i > 0 => (name[..i].to_owned(), name[i..].to_owned()),
            _ => (name, String::new()),
        };
        Naming { dir, stem, ext }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The name of rotated file `seq`.
    pub(crate) fn rotated(&self, seq: u64, gz: bool) -> PathBuf {
        let gz = if gz { ".gz" } else { "" };
        self.dir
            .join(format!("{}.{seq:06}{}{gz}", self.stem, self.ext))
    }

    /// `(seq, gz, temp)` if `name` is one of this stream's rotated files.
    fn parse(&self, name: &str) -> Option<(u64, bool, bool)> {
        let rest = name.strip_prefix(self.stem.as_str())?.strip_prefix('.')?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let seq = rest[..digits].parse().ok()?;
        match rest[digits..].strip_prefix(self.ext.as_str())? {
            "" => Some((seq, false, false)),
            ".gz" => Some((seq, true, false)),
            ".gz.tmp" => Some((seq, true, true)),
            _ => None,
        }
    }

    /// This stream's rotated files, by sequence number (uncompressed before compressed).
    pub(crate) fn scan(&self) -> io::Result<Vec<Rotated>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some((seq, gz, temp)) = self.parse(&name.to_string_lossy()) else {
                continue;
            };
            out.push(Rotated {
                seq,
                path: entry.path(),
                gz,
                temp,
            });
        }
        out.sort_by_key(|r| (r.seq, r.gz, r.temp));
        Ok(out)
    }

    /// The sequence number the next rotation takes.
    pub(crate) fn next_seq(&self) -> io::Result<u64> {
        Ok(self.scan()?.last().map_or(1, |r| r.seq.saturating_add(1)))
    }
}

/// Compresses rotated file `src` into `dst`: through `dst.tmp`, synced, renamed into
/// place; then removes `src`. On failure `src` is left as it was and `dst.tmp` removed.
pub(crate) fn compress(src: &Path, dst: &Path) -> Result<(), Failure> {
    let mut tmp = dst.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = (|| -> io::Result<()> {
        let mut input = File::open(src)?;
        let mtime = input.metadata()?.modified().ok();
        let out = File::create(&tmp)?;
        let mut enc = GzEncoder::new(BufWriter::with_capacity(1 << 16, out), Compression::fast());
        io::copy(&mut input, &mut enc)?;
        let out = enc.finish()?.into_inner().map_err(|e| e.into_error())?;
        if let Some(t) = mtime {
            // Keeps the age of the data, not of the compression, for `max_age`.
            let _ = out.set_modified(t);
        }
        out.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Failure::new("compressing", src, &e));
    }
    if let Err(e) = fs::rename(&tmp, dst) {
        let _ = fs::remove_file(&tmp);
        return Err(Failure::new("compressing", src, &e));
    }
    fs::remove_file(src).map_err(|e| Failure::new("removing", src, &e))
}

/// Finishes what a crash may have left (unfinished `.gz.tmp` files; uncompressed files
/// whose compressed copy is complete), compresses uncompressed rotated files when
/// `gzip`, then removes the oldest beyond `keep` and those last written more than
/// `max_age` ago.
/// Returns what failed.
pub(crate) fn maintain(
    naming: &Naming,
    gzip: bool,
    keep: usize,
    max_age: Duration,
) -> Vec<Failure> {
    let mut m = Vec::new();
    let listing = |m: &mut Vec<Failure>| match naming.scan() {
        Ok(v) => Some(v),
        Err(e) => {
            m.push(Failure::new("listing", naming.dir(), &e));
            None
        }
    };
    let Some(files) = listing(&mut m) else {
        return m;
    };
    for (i, f) in files.iter().enumerate() {
        let remove = if f.temp {
            true
        } else if f.gz {
            false
        } else {
            // The compressed twin sorts right after; if it exists it is complete (it is
            // renamed into place only when finished).
            let twin = files
                .get(i + 1)
                .is_some_and(|n| n.seq == f.seq && n.gz && !n.temp);
            if !twin && gzip {
                if let Err(e) = compress(&f.path, &naming.rotated(f.seq, true)) {
                    m.push(e);
                }
            }
            twin
        };
        if remove {
            if let Err(e) = fs::remove_file(&f.path) {
                m.push(Failure::new("removing", &f.path, &e));
            }
        }
    }
    let Some(files) = listing(&mut m) else {
        return m;
    };
    let mut seqs: Vec<u64> = files.iter().filter(|f| !f.temp).map(|f| f.seq).collect();
    seqs.dedup();
    let excess = seqs.len().saturating_sub(keep);
    let cutoff = SystemTime::now().checked_sub(max_age);
    for f in files.iter().filter(|f| !f.temp) {
        let too_many = seqs[..excess].contains(&f.seq);
        let too_old = cutoff.is_some_and(|c| {
            fs::metadata(&f.path)
                .and_then(|md| md.modified())
                .is_ok_and(|t| t < c)
        });
        if too_many || too_old {
            if let Err(e) = fs::remove_file(&f.path) {
                if e.kind() != io::ErrorKind::NotFound {
                    m.push(Failure::new("removing", &f.path, &e));
                }
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let n = Naming::new(Path::new("/var/log/flight_recorder.jsonl"));
        let p = n.rotated(7, false);
        assert_eq!(p, Path::new("/var/log/flight_recorder.000007.jsonl"));
        assert_eq!(
            n.rotated(1_234_567, true),
            Path::new("/var/log/flight_recorder.1234567.jsonl.gz")
        );
        assert_eq!(
            n.parse("flight_recorder.000007.jsonl"),
            Some((7, false, false))
        );
        assert_eq!(
            n.parse("flight_recorder.1234567.jsonl.gz"),
            Some((1_234_567, true, false))
        );
        assert_eq!(
            n.parse("flight_recorder.000002.jsonl.gz.tmp"),
            Some((2, true, true))
        );
        for other in [
            "flight_recorder.jsonl",
            "flight_recorder..jsonl",
            "flight_recorder.7.json",
            "flight_recorder.7.jsonl.bak",
            "flight_recorder2.000001.jsonl",
            "other.000001.jsonl",
        ] {
            assert_eq!(n.parse(other), None, "{other}");
        }
        let bare = Naming::new(Path::new("events"));
        assert_eq!(bare.rotated(3, true), Path::new("./events.000003.gz"));
        assert_eq!(bare.parse("events.000003.gz"), Some((3, true, false)));
        assert_eq!(bare.parse("events"), None);
    }
}
