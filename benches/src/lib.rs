//! Shared helpers for descent's criterion benchmarks.
