//! [`ExporterError`], and the record of one failed file operation the exporter thread
//! keeps (an [`io::Error`] is not `Clone`; this is).

use std::io;
use std::path::{Path, PathBuf};

/// Starting, flushing or closing an [`Exporter`](super::Exporter) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// An output could not be opened or created at start: the stream file, its
    /// directory, or the snapshot file's directory (missing, permission denied, not a
    /// directory…).
    #[error("cannot open {} for writing: {source}", path.display())]
    Open {
        /// The path that could not be opened.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A setting is out of range.
    #[error("invalid exporter setting `{field}`: {reason}")]
    Config {
        /// The [`ExporterConfig`](super::ExporterConfig) field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The background thread could not be started.
    #[error("cannot start the exporter thread: {0}")]
    Spawn(#[source] io::Error),
    /// A file operation failed after start. The events not yet written are kept (up to
    /// the backlog bound) and retried every `flush_interval`.
    #[error("{what} {} failed: {source}", path.display())]
    Io {
        /// The operation: `writing`, `opening`, `syncing`, `rotating`, `compressing`,
        /// `removing`, `listing`, `snapshot`.
        what: &'static str,
        /// The file or directory it was applied to.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The exporter was closed.
    #[error("the exporter is closed")]
    Closed,
}

/// One failed file operation, as the exporter thread remembers it.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) what: &'static str,
    pub(crate) path: PathBuf,
    kind: io::ErrorKind,
    code: Option<i32>,
    message: String,
}

impl Failure {
    pub(crate) fn new(what: &'static str, path: &Path, e: &io::Error) -> Failure {
        Failure {
            what,
            path: path.to_owned(),
            kind: e.kind(),
            code: e.raw_os_error(),
            message: e.to_string(),
        }
    }

    /// `"<what> <path>: <os error>"`: the health reason and `last_error`.
    pub(crate) fn reason(&self) -> String {
        format!("{} {}: {}", self.what, self.path.display(), self.message)
    }

    pub(crate) fn to_error(&self) -> ExporterError {
        let source = match self.code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, self.message.clone()),
        };
        ExporterError::Io {
            what: self.what,
            path: self.path.clone(),
            source,
        }
    }
}
