//! Losses with PyTorch semantics (filled in by the losses work).
