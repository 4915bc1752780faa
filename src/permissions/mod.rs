//! Permission check: what is granted, what is missing, and what to do about it.

pub mod analysis;
pub mod check;
pub mod report;
