//! Pure protocol pieces for who may read what: signed tokens and topic selectors.

pub mod selector;
pub mod token;
