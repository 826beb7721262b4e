//! The pure floor: bytes in, bytes or a named error out. Nothing here
//! touches a socket, a file, a thread or the clock (a time is passed in).
//!
//! ```text
//! request/    "GET /events?topic=a HTTP/1.1\r\n…\r\n\r\n" ─► Request, or ParseError ─► its status
//! response    status, headers, body ─► "HTTP/1.1 200 OK\r\n…\r\n\r\n"
//! sse         Event { id, event, data } ─► "id: 7\nevent: ping\ndata: …\n\n"
//! routes      method + path ─► Route
//! topic       "?topic=room%2Fa" ─► TopicName "room/a", or TopicError
//! close       how a connection ended, as one vocabulary
//! time        RFC 3339 and HTTP dates as text; the tick schedule
//! stack_text  short text formatted into a buffer on the stack
//! selector    a Mercure topic selector: "*", a topic, or an RFC 6570 template
//! token/      base64url, SHA-256, HMAC, JSON, HS256 JWTs: "eyJ…" ─► Claims, or TokenError
//! mercure/    draft-07's form, query, topics and ids: "topic=…&data=…" ─► Update, or UpdateError
//! ```

pub mod close;
pub mod mercure;
pub mod request;
pub mod response;
pub mod routes;
pub mod selector;
pub mod sse;
pub mod stack_text;
pub mod time;
pub mod token;
pub mod topic;
