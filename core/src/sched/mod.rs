//! Learning-rate schedules (filled in by the schedules work).
