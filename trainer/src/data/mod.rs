//! Data sets and readers (filled in by the data work).
