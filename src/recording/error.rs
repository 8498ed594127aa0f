//! [`RecordingError`]: why a file could not be opened as a recording, with the file,
//! the 1-based line and column, and what was wrong.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Opening, reading or writing a recording failed.
///
/// Every variant names the file; content errors also name the 1-based line and column
/// (column 0 when the position within the line is not known, e.g. invalid UTF-8 or a
/// truncated gzip stream, where the line is the one being read when it failed).
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The content is not valid: bad JSON, a field of the wrong type, invalid UTF-8, a
    /// truncated gzip stream, a line over the length limit.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (of the decompressed text).
        line: usize,
        /// 1-based column within the line, or 0 when unknown.
        column: usize,
        /// What was wrong (and where in the document, for JSON documents).
        message: String,
    },
    /// The file is valid JSON but of no shape this module reads.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was found.
        message: String,
    },
}

impl RecordingError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            RecordingError::Io { path, .. }
            | RecordingError::Invalid { path, .. }
            | RecordingError::Format { path, .. } => path,
        }
    }

    /// The 1-based line, for content errors.
    pub fn line(&self) -> Option<usize> {
        match self {
            RecordingError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The 1-based column, for content errors where it is known.
    pub fn column(&self) -> Option<usize> {
        match self {
            RecordingError::Invalid { column, .. } if *column > 0 => Some(*column),
            _ => None,
        }
    }

    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        RecordingError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn invalid(
        path: &Path,
        line: usize,
        column: usize,
        message: impl fmt::Display,
    ) -> Self {
        RecordingError::Invalid {
            path: path.to_owned(),
            line,
            column,
            message: message.to_string(),
        }
    }

    pub(crate) fn format(path: &Path, message: impl fmt::Display) -> Self {
        RecordingError::Format {
            path: path.to_owned(),
            message: message.to_string(),
        }
    }

    /// From the crate's [`crate::ImportError`], placed in `path` at `line_offset` lines.
    pub(crate) fn from_import(path: &Path, e: crate::ImportError, line_offset: usize) -> Self {
        match e {
            crate::ImportError::Invalid {
                line,
                column,
                path: at,
                message,
            } => RecordingError::Invalid {
                path: path.to_owned(),
                line: line + line_offset,
                column,
                message: if at == "." || at.is_empty() {
                    message
                } else {
                    format!("at {at}: {message}")
                },
            },
            crate::ImportError::Io(source) => RecordingError::Io {
                path: path.to_owned(),
                source,
            },
            crate::ImportError::LineTooLong { line, limit } => RecordingError::Invalid {
                path: path.to_owned(),
                line: line + line_offset,
                column: 0,
                message: format!(
                    "line is longer than {} (the line limit)",
                    crate::read::export::bytes_text(limit)
                ),
            },
            crate::ImportError::InvalidUtf8 { line, column } => RecordingError::Invalid {
                path: path.to_owned(),
                line: line + line_offset,
                column,
                message: "invalid UTF-8".into(),
            },
            crate::ImportError::Damaged {
                line,
                offset,
                message,
            } => RecordingError::Invalid {
                path: path.to_owned(),
                line: line + line_offset,
                column: 0,
                message: format!(
                    "damaged input (a truncated or corrupt gzip stream?) after {offset} bytes of whole lines: {message}"
                ),
            },
            other => RecordingError::format(path, other),
        }
    }
}
