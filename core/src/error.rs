//! The crate's one error type. Every public entry point validates shapes and arguments and
//! returns an [`Error`] instead of panicking.

use core::fmt;

/// What went wrong, naming the argument or buffer involved and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A slice had the wrong length: `what` names it, `expected` and `got` are element counts.
    ShapeMismatch {
        /// Name of the argument or buffer.
        what: &'static str,
        /// Required length.
        expected: usize,
        /// Length received.
        got: usize,
    },
    /// A scratch or state buffer was shorter than required.
    BufferTooSmall {
        /// Name of the buffer.
        what: &'static str,
        /// Minimum length.
        needed: usize,
        /// Length received.
        got: usize,
    },
    /// A hyperparameter or argument is outside its valid range.
    InvalidArgument {
        /// PyTorch's name for the argument (e.g. `lr`, `betas[0]`).
        name: &'static str,
        /// The value received, as f64 (integers converted).
        value: f64,
        /// What was expected, e.g. `">= 0"`.
        expected: &'static str,
    },
    /// A class index was outside `0..classes` (and not the ignore index).
    ClassOutOfRange {
        /// Position in the target slice.
        index: usize,
        /// The offending class value.
        class: i64,
        /// Number of classes.
        classes: usize,
    },
    /// A byte buffer (optimizer/scheduler state) could not be decoded.
    BadState {
        /// What was wrong with it.
        reason: &'static str,
    },
    /// A matrix was not positive definite (Cholesky failed at `pivot`).
    NotPositiveDefinite {
        /// Row at which the factorization broke down.
        pivot: usize,
    },
    /// An expression (a [`LrLambda`](crate::sched::LrLambda)'s source) could not be compiled.
    BadExpression {
        /// Byte offset in the source where the problem was found.
        at: usize,
        /// What was expected there (or what is not supported).
        expected: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ShapeMismatch {
                what,
                expected,
                got,
            } => write!(
                f,
                "shape mismatch: `{what}` has {got} elements, expected {expected}"
            ),
            Error::BufferTooSmall { what, needed, got } => write!(
                f,
                "buffer too small: `{what}` has {got} elements, needs at least {needed}"
            ),
            Error::InvalidArgument {
                name,
                value,
                expected,
            } => write!(
                f,
                "invalid argument `{name}` = {value}: expected {expected}"
            ),
            Error::ClassOutOfRange {
                index,
                class,
                classes,
            } => write!(
                f,
                "target[{index}] = {class} is not a class index in 0..{classes}"
            ),
            Error::BadState { reason } => write!(f, "invalid state bytes: {reason}"),
            Error::NotPositiveDefinite { pivot } => {
                write!(f, "matrix is not positive definite (pivot {pivot})")
            }
            Error::BadExpression { at, expected } => {
                write!(f, "bad expression at byte {at}: expected {expected}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// Shorthand for `core::result::Result<T, descent_core::Error>`.
pub type Result<T> = core::result::Result<T, Error>;

/// Return `ShapeMismatch` unless `got == expected`.
#[inline]
pub fn check_len(what: &'static str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Return `BufferTooSmall` unless `got >= needed`.
#[inline]
pub fn check_min_len(what: &'static str, got: usize, needed: usize) -> Result<()> {
    if got >= needed {
        Ok(())
    } else {
        Err(Error::BufferTooSmall { what, needed, got })
    }
}

/// Return `InvalidArgument` unless `ok`.
#[inline]
pub fn check_arg(ok: bool, name: &'static str, value: f64, expected: &'static str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            name,
            value,
            expected,
        })
    }
}
