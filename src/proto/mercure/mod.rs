//! Mercure draft-07 on the wire, the pure part: what a publisher's form
//! and a subscriber's query say, which topics are allowed, the ids the hub
//! makes, and the `Last-Event-ID` it answers. The rules cited by number
//! are those of `mercure.md` (the shared list of draft-07 rules).
//!
//! ```text
//! POST /.well-known/mercure
//! Content-Type: application/x-www-form-urlencoded
//!
//! topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=%7B%7D&private=on
//!     form      ─► [("topic", "https://example.com/books/1"), ("data", "{}"), ("private", "on")]
//!     update    ─► Update { topics: ["https://example.com/books/1"], data: "{}", private: true, … }
//!
//! GET /.well-known/mercure?topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&lastEventID=urn%3Auuid%3A…
//!     query     ─► SubscribeQuery { topics: ["https://example.com/books/{id}"], last_event_id: Some("urn:uuid:…"), … }
//!
//! 16 bytes from /dev/urandom
//!     id        ─► "urn:uuid:919108f7-52d1-4320-9bac-f847db4148a8"
//!
//! Last-Event-ID asked, what the history found
//!     last_event_id ─► the Last-Event-ID response header, or none
//! ```
//!
//! Not here: reading the body or the randomness (the caller does, within
//! its limits), tokens and who may read what (`token/`, `selector`), the
//! `text/event-stream` bytes (`sse`), and the history itself.

pub mod form;
pub mod id;
pub mod iri;
pub mod last_event_id;
pub mod query;
pub mod update;

#[cfg(test)]
mod tests;
