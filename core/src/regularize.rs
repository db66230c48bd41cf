//! L1 / L2 penalty terms (filled in by the losses work).
