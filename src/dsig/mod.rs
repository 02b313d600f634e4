//! XML digital signatures for the QCVN 102 profile. For now: canonicalization.

pub mod c14n;
pub mod sign;
pub mod verify;
