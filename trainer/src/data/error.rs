//! The data layer's error: one line naming the file / field and what was expected.

use std::fmt;

/// A data set could not be read or is malformed. The message is one line that names the file,
/// line or field and says what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    msg: String,
}

impl DataError {
    /// An error with message `msg`.
    pub fn new(msg: impl Into<String>) -> Self {
        DataError { msg: msg.into() }
    }

    /// An I/O failure on `path`.
    pub fn io(path: &std::path::Path, e: &std::io::Error) -> Self {
        DataError::new(format!("{}: {e}", path.display()))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for DataError {}
