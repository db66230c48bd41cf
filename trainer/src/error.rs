//! The trainer's error type: every failure is one line naming the file, flag or value and what
//! was expected, mapped to a process exit status (never a panic).

use std::fmt;
use std::path::Path;

/// A trainer failure. [`Error::exit_code`] gives the process exit status.
#[derive(Debug, Clone)]
pub enum Error {
    /// Bad command line, config file key or hyperparameter (exit 2).
    Usage(String),
    /// An input file could not be read or parsed (exit 2). A failure to write an output is
    /// [`Error::output`], a runtime failure (exit 1).
    Io {
        /// The file involved.
        path: String,
        /// What failed.
        msg: String,
    },
    /// An error reported by descent-core (bad hyperparameter or shape), with context (exit 2).
    Core {
        /// What was being done.
        context: String,
        /// The core error.
        source: descent_core::Error,
    },
    /// The loss became NaN or infinite (exit 3).
    Diverged(String),
    /// Anything else that went wrong while running (exit 1).
    Runtime(String),
}

/// `Result` with the trainer's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A usage error with a message.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, err: impl fmt::Display) -> Self {
        Error::Io {
            path: path.display().to_string(),
            msg: err.to_string(),
        }
    }

    /// A failure to write the output file `path` (exit 1: not bad input).
    pub fn output(path: &Path, err: impl fmt::Display) -> Self {
        Error::Runtime(format!("{}: {err}", path.display()))
    }

    /// A core error with context.
    pub fn core(context: impl Into<String>, source: descent_core::Error) -> Self {
        Error::Core {
            context: context.into(),
            source,
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Io { .. } | Error::Core { .. } => 2,
            Error::Diverged(_) => 3,
            Error::Runtime(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Error::Usage(m) => m.clone(),
            Error::Io { path, msg } => format!("{path}: {msg}"),
            Error::Core { context, source } => format!("{context}: {source}"),
            Error::Diverged(m) => m.clone(),
            Error::Runtime(m) => m.clone(),
        };
        // One line, always.
        f.write_str(&s.replace(['\n', '\r'], " "))
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_codes_differ() {
        let e = Error::usage("bad\nthing");
        assert_eq!(e.to_string(), "bad thing");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(Error::Diverged("x".into()).exit_code(), 3);
        let e = Error::io(Path::new("a.toml"), "not found");
        assert_eq!(e.to_string(), "a.toml: not found");
    }
}
