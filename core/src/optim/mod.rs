//! Optimizers (filled in by the optimizers work).
