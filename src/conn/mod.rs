//! One socket: the one deadline read every reader uses, reading a request
//! head within its limits, short answers, and closing gently.
//!
//! ```text
//! accept ─► read_head (--head-timeout from accept) ─► Request
//!        └► short_answer: "HTTP/1.1 404 Not Found\r\n…" ─► shutdown(Write) ─► drain ─► close
//! ```
//!
//! Not here: what a request means (`server/`), streams (`ping.rs`, `events/`).

pub(crate) mod read_head;
pub(crate) mod short_answer;
pub(crate) mod socket;
pub(crate) mod stream_head;
