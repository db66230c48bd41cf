//! Mini-batch loader (filled in by the data work).
