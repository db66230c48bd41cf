//! Small dense linear algebra for second-order methods (filled in by the models work).
