//! Mercure's tokens, by hand: compact JWS signed with HS256.
//!
//! ```text
//! eyJhbGciOiJIUzI1NiJ9 . eyJtZXJjdXJlIjp7InN1YnNjcmliZSI6WyIqIl19fQ . <43 chars>
//! base64url(header)      base64url(payload)                          base64url(HMAC-SHA256)
//! ```
//!
//! Each floor is its own module with its standard's test vectors:
//! [`base64url`] (RFC 4648 §5), [`sha256`] (FIPS 180-4), [`hmac`]
//! (RFC 2104, RFC 4231), [`json`] (RFC 8259, strict and bounded), and
//! [`jwt`] (RFC 7515/7518/7519 as Mercure uses them) on top. Pure: bytes
//! and the time in, claims or a named error out; no clock, no I/O.

pub mod base64url;
pub mod hmac;
pub mod json;
pub mod jwt;
pub mod sha256;
