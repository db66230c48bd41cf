//! Models with closed-form gradients (filled in by the models work).
