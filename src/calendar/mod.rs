//! The working calendar.

pub mod lunar;
