//! The periodic snapshot file: the full JSON document ([`Recorder::write_json`]),
//! replaced atomically.
//!
//! Each write goes to a hidden temporary file in the target's directory
//! (`.<name>.tmp.<pid>.<n>`), is synced, and is renamed over the target; the directory
//! is synced after. `rename(2)` replaces the name in one step, so a reader opening the
//! target gets the previous complete document or the new complete one, never a mix or a
//! prefix; after a crash the target is one of them too. A failed write removes its
//! temporary file and leaves the previous document in place.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::read::export::ExportError;
use crate::recorder::Recorder;

use super::error::{ExporterError, Failure};

/// Distinguishes the temporary files of exporters in one process.
static NEXT_WRITER: AtomicU64 = AtomicU64::new(0);

/// Writes snapshots to one target.
#[derive(Debug)]
pub(crate) struct SnapshotFile {
    target: PathBuf,
    temp: PathBuf,
}

impl SnapshotFile {
    /// Checks that snapshots can be written to `target`: it is not a directory or a
    /// device (it will be replaced), and a file can be created beside it.
    pub(crate) fn new(target: &Path) -> Result<SnapshotFile, ExporterError> {
        if let Ok(md) = fs::symlink_metadata(target) {
            if !md.is_file() {
                return Err(ExporterError::Config {
                    field: "snapshot_path",
                    reason: format!(
                        "{} exists and is not a regular file (it would be replaced)",
                        target.display()
                    ),
                });
            }
        }
        let Some(name) = target.file_name() else {
            return Err(ExporterError::Config {
                field: "snapshot_path",
                reason: format!("{} has no file name", target.display()),
            });
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut temp = OsString::from(".");
        temp.push(name);
        temp.push(format!(
            ".tmp.{}.{}",
            std::process::id(),
            NEXT_WRITER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = dir.join(temp);
        File::create(&temp).map_err(|source| ExporterError::Open {
            path: target.to_owned(),
            source,
        })?;
        let _ = fs::remove_file(&temp);
        Ok(SnapshotFile {
            target: target.to_owned(),
            temp,
        })
    }

    /// Writes `rec`'s document and renames it over the target.
    pub(crate) fn write(&self, rec: &Recorder) -> Result<(), Failure> {
        let fail = |e: &io::Error| Failure::new("snapshot", &self.target, e);
        let written = (|| -> io::Result<()> {
            let f = File::create(&self.temp)?;
            rec.write_json(&f).map_err(|e| match e {
                ExportError::Io(e) => e,
                other => io::Error::other(other),
            })?;
            f.sync_all()?;
            fs::rename(&self.temp, &self.target)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&self.temp);
            return Err(fail(&e));
        }
        // Makes the rename itself durable; not every file system can sync a directory.
        if let Some(dir) = self.temp.parent() {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}
