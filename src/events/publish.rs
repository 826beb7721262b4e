//! `POST /publish`: one event per request, from anywhere that can reach the
//! server, when a token is configured.
//!
//! ```text
//! POST /publish?topic=sensors/kitchen&event=reading HTTP/1.1\r\n
//! Host: 127.0.0.1:8080\r\n
//! Authorization: Bearer s3cret\r\n
//! Content-Length: 4\r\n
//! \r\n
//! 21.5
//! ```
//!
//! is answered `200` with the event's id as the body (`1764096030123-7`),
//! and every `/events` client of `sensors/kitchen` (or of every topic) receives
//! `id: 1764096030123-7\nevent: reading\ndata: 21.5\n\n`.
//!
//! Refusals, checked in this order, publish nothing: 401 (no or wrong
//! token, with `WWW-Authenticate`), 411 (no `Content-Length`), 413 (over
//! `--max-event-bytes` as sent), 400 (an event name that is empty, not
//! UTF-8, or with CR, LF or NUL; a bad topic name; `?event=` or `?topic=`
//! given twice, or with a `%` not followed by two hex digits; a body that
//! is not UTF-8), 408 (the body did not arrive in `--head-timeout`).
//! Without `?topic=` the event goes to the topic `default`.

use std::fmt;
use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use crate::auth::{find_token, now_seconds, Auth, Denied, Offered, TokenSource};
use crate::config::Config;
use crate::conn::short_answer::{self, AfterAnswer, Ended};
use crate::conn::socket::{read_within, ReadOutcome};
use crate::events::hub::{EventId, Hub, NewEvent, PublishError};
use crate::ops::shared::Shared;
use crate::proto::close::CloseReason;
use crate::proto::mercure::id::urn_uuid_v4;
use crate::proto::mercure::update::{parse_update, UpdateError};
use crate::proto::request::{Request, Version};
use crate::proto::sse::{FieldError, SingleLine};
use crate::proto::token::hmac::constant_time_eq;
use crate::proto::token::jwt::Claims;
use crate::proto::topic::{publish_topic, value_given_once, QueryValueError, TopicError};

/// Why a publish request was refused. Each maps to one status in
/// [`Self::status`]; the `Display` text is the body and the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishRefusal {
    /// No `Authorization: Bearer` header, or the wrong token.
    Unauthorized,
    /// A signed token that does not verify (401), or does not allow the
    /// topic (403 `insufficient_scope`), or came by cookie alone without
    /// `Origin` or `Referer`, or from a page neither listed in
    /// `--cors-origin` nor of this server (403).
    Token(Denied),
    /// A Mercure form that breaks a rule: no topic, a bad id, type or
    /// retry, bad encoding (400).
    BadUpdate(UpdateError),
    /// No randomness for a new event's `urn:uuid:` (503; nothing published).
    NoRandomness(std::io::ErrorKind),
    /// No `Content-Length` (ssed reads no chunked bodies).
    LengthRequired,
    /// The data, as it would be sent, is over `--max-event-bytes`.
    TooLarge {
        /// What the data costs as sent (line breaks at 7 bytes).
        bytes: u64,
        /// `--max-event-bytes`.
        limit: usize,
    },
    /// `?event=` names no event: empty, percent-encoded bytes that are not
    /// UTF-8, or a CR, LF or NUL in it.
    BadEventName(EventNameError),
    /// The body is not UTF-8, which an event stream cannot carry.
    DataNotUtf8,
    /// `?topic=` breaks the topic name rule.
    BadTopic(TopicError),
    /// The event could not be stored (the journal's disk is full, Redis
    /// unreachable): 503 with `Retry-After`, and nothing was published.
    Unavailable(std::io::ErrorKind),
    /// The event went to Redis and no answer came in time: 504; it may be
    /// published, and a retry may publish it twice.
    OutcomeUnknown(std::io::ErrorKind),
    /// The body did not arrive within `--head-timeout`.
    BodyTimedOut {
        /// `--head-timeout` in ms.
        limit_ms: u64,
    },
}

/// What is wrong with an `?event=` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventNameError {
    /// `?event=` with nothing after it; leave the parameter out for an
    /// unnamed event.
    Empty,
    /// The percent-decoded bytes are not UTF-8.
    NotUtf8,
    /// A CR, LF or NUL.
    Field(FieldError),
    /// `?event=` more than once: which one was meant is not ours to guess.
    Repeated,
    /// A `%` not followed by two hex digits.
    BadPercentEncoding,
}

impl PublishRefusal {
    /// The status code that answers this refusal.
    pub(crate) fn status(self) -> u16 {
        match self {
            PublishRefusal::Unauthorized => 401,
            PublishRefusal::Token(denied) => denied.status(),
            PublishRefusal::BadUpdate(error) => error.status(),
            PublishRefusal::NoRandomness(_) => 503,
            PublishRefusal::LengthRequired => 411,
            PublishRefusal::TooLarge { .. } => 413,
            PublishRefusal::BadEventName(_) | PublishRefusal::DataNotUtf8 | PublishRefusal::BadTopic(_) => {
                400
            }
            PublishRefusal::BodyTimedOut { .. } => 408,
            PublishRefusal::Unavailable(_) => 503,
            PublishRefusal::OutcomeUnknown(_) => 504,
        }
    }
}

impl fmt::Display for PublishRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishRefusal::Token(denied) => write!(f, "{denied}"),
            PublishRefusal::BadUpdate(error) => write!(f, "{error}"),
            PublishRefusal::NoRandomness(kind) => {
                write!(f, "could not read randomness for an id ({kind}); nothing was published")
            }
            PublishRefusal::Unauthorized => f.write_str("a valid Authorization: Bearer token is required"),
            PublishRefusal::LengthRequired => f.write_str("Content-Length required"),
            PublishRefusal::TooLarge { bytes, limit } => {
                write!(f, "event of {bytes} bytes as sent is over the limit of {limit}")
            }
            PublishRefusal::BadEventName(EventNameError::Empty) => {
                f.write_str("bad event name: empty (leave out ?event= for an unnamed event)")
            }
            PublishRefusal::BadEventName(EventNameError::NotUtf8) => f.write_str("bad event name: not UTF-8"),
            PublishRefusal::BadEventName(EventNameError::Field(error)) => {
                write!(f, "bad event name: {error}")
            }
            PublishRefusal::BadEventName(EventNameError::Repeated) => {
                f.write_str("bad event name: ?event= given more than once; an event has one name")
            }
            PublishRefusal::BadEventName(EventNameError::BadPercentEncoding) => {
                f.write_str("bad event name: bad percent-encoding in the query (% needs two hex digits)")
            }
            PublishRefusal::DataNotUtf8 => f.write_str("event data is not UTF-8"),
            PublishRefusal::BadTopic(error) => write!(f, "bad topic: {error}"),
            PublishRefusal::Unavailable(kind) => {
                write!(f, "could not store the event ({kind}); nothing was published")
            }
            PublishRefusal::OutcomeUnknown(kind) => {
                write!(
                    f,
                    "no answer from Redis in time ({kind}); outcome unknown, a retry may duplicate the event"
                )
            }
            PublishRefusal::BodyTimedOut { limit_ms } => write!(f, "body not received within {limit_ms} ms"),
        }
    }
}

impl From<PublishError> for PublishRefusal {
    fn from(error: PublishError) -> PublishRefusal {
        match error {
            PublishError::TooLarge { bytes, limit } => {
                PublishRefusal::TooLarge { bytes: bytes as u64, limit }
            }
            PublishError::BadEventName(error) => PublishRefusal::BadEventName(EventNameError::Field(error)),
            PublishError::Unavailable(kind) => PublishRefusal::Unavailable(kind),
            PublishError::OutcomeUnknown(kind) => PublishRefusal::OutcomeUnknown(kind),
        }
    }
}

/// How a publish request went wrong.
enum Failure {
    /// Answer with this refusal.
    Refused(PublishRefusal),
    /// The client left mid-body: there is no one to answer.
    ClientLeft,
}

impl From<PublishRefusal> for Failure {
    fn from(refusal: PublishRefusal) -> Failure {
        Failure::Refused(refusal)
    }
}

/// Which publish endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishEndpoint {
    /// `POST /publish?topic=T`: the body is the data; the answer is the
    /// id and a line break.
    Ssed,
    /// `POST /.well-known/mercure`: the body is a form (`topic`, `data`,
    /// `id`, `type`, `retry`, `private`); the answer is the id alone
    /// (Mercure rules 3–9).
    Mercure,
}

/// Serves a publish: checks the request, reads its body, publishes it and
/// answers. `already_read` is what arrived after the head in the same
/// reads.
///
/// With `may_keep_open` (the client keeps the connection and the server
/// may too), a request read whole, body included, is answered with
/// `Connection: keep-alive` and the connection stays open: then the second
/// value holds the bytes that came after this request's body (the start of
/// a pipelined next request, often empty). A refusal that left the body
/// unread (401, 411, 413, …) closes, since where the next request would
/// start is not known; so does a failed write. `None`: the connection ends.
pub(crate) fn serve_publish(
    socket: &TcpStream,
    request: &Request,
    already_read: &[u8],
    shared: &Shared,
    (hub, auth, endpoint): (&Hub, &Auth, PublishEndpoint),
    may_keep_open: bool,
) -> (Ended, Option<Vec<u8>>) {
    let cors = shared.config.cors_for(request.header("origin"));
    let mut body_was_read = false;
    let read = &mut body_was_read;
    let published = match endpoint {
        PublishEndpoint::Ssed => publish_request(socket, request, already_read, shared, (hub, auth), read)
            .map(|id| format!("{id}\n")),
        PublishEndpoint::Mercure => publish_update(socket, request, already_read, shared, (hub, auth), read),
    };
    let after = if may_keep_open && body_was_read { AfterAnswer::KeepOpen } else { AfterAnswer::Close };
    let ended = match published {
        Ok(answer) => short_answer::ok_then(
            socket,
            shared,
            cors,
            ("text/plain; charset=utf-8", answer.as_bytes()),
            false,
            after,
        ),
        Err(Failure::Refused(refusal)) => {
            let retry_after = shared.config.timeouts.retry_after_secs().to_string();
            let extra: &[(&str, &str)] = match refusal {
                PublishRefusal::Unauthorized => &[("WWW-Authenticate", "Bearer realm=\"ssed\"")],
                PublishRefusal::Token(denied) => {
                    shared.metrics.token_refused();
                    &[("WWW-Authenticate", denied.challenge())]
                }
                PublishRefusal::Unavailable(_) => &[("Retry-After", &retry_after)],
                _ => &[],
            };
            let answer = (refusal.status(), refusal.to_string());
            short_answer::error_then(socket, shared, cors, (answer.0, &answer.1), extra, after)
        }
        Err(Failure::ClientLeft) => {
            let outcome = "left before sending the whole body".to_owned();
            return (Ended { reason: CloseReason::LeftMidRequest, outcome }, None);
        }
    };
    let stays_open = after == AfterAnswer::KeepOpen && matches!(ended.reason, CloseReason::Answered(_));
    // The body was read whole, so what follows its last byte is the next request.
    let body_length = request.content_length().unwrap_or(0) as usize;
    let carried = stays_open.then(|| already_read.get(body_length..).unwrap_or_default().to_vec());
    (ended, carried)
}

/// Checks, reads and publishes; sets `body_was_read` once the body is read
/// whole, so the caller knows where the next request would start.
fn publish_request(
    socket: &TcpStream,
    request: &Request,
    already_read: &[u8],
    shared: &Shared,
    (hub, auth): (&Hub, &Auth),
    body_was_read: &mut bool,
) -> Result<EventId, Failure> {
    let config = &shared.config;
    // Every byte costs at least one byte as sent, so this refuses early
    // what the hub would refuse after reading it.
    let (publisher, length) = admit(request, config, auth, config.events.max_event_bytes)?;
    let event = event_name(request)?;
    let topic = publish_topic(request.query()).map_err(PublishRefusal::BadTopic)?;
    // Mercure rule 18: a token's publish selectors must match the topic.
    if let Publisher::Token(claims) = &publisher {
        if !claims.may_publish(topic.as_str()) {
            return Err(PublishRefusal::Token(Denied::NotAllowed).into());
        }
    }
    // `?private` present, with any value or none: only streams whose token
    // may read the topic get it.
    let private = request.query_bytes("private").is_some();
    let body = receive_body(socket, request, already_read, length, shared)?;
    *body_was_read = true;
    let data = String::from_utf8(body).map_err(|_| PublishRefusal::DataNotUtf8)?;
    Ok(hub.publish(&topic, event.as_deref(), &data, private).map_err(PublishRefusal::from)?)
}

/// `POST /.well-known/mercure`: the form read whole (within a bound that
/// leaves room for percent-encoding: three times `--max-event-bytes`, and
/// 16 KiB for topics and ids), then published with every topic allowed.
fn publish_update(
    socket: &TcpStream,
    request: &Request,
    already_read: &[u8],
    shared: &Shared,
    (hub, auth): (&Hub, &Auth),
    body_was_read: &mut bool,
) -> Result<String, Failure> {
    let config = &shared.config;
    let limit = config.events.max_event_bytes.saturating_mul(3).saturating_add(16 * 1024);
    let (publisher, length) = admit(request, config, auth, limit)?;
    let body = receive_body(socket, request, already_read, length, shared)?;
    *body_was_read = true;
    let update = parse_update(&body, config.events.max_topics).map_err(PublishRefusal::BadUpdate)?;
    // Mercure rule 18: every topic of the update, alternates included.
    if let Publisher::Token(claims) = &publisher {
        if !update.topics.iter().all(|topic| claims.may_publish(topic)) {
            return Err(PublishRefusal::Token(Denied::NotAllowed).into());
        }
    }
    // Rule 6: the publisher's id verbatim, or one the hub makes.
    let label = match update.id {
        Some(id) => id,
        None => random_urn_uuid().map_err(PublishRefusal::NoRandomness)?,
    };
    let topics: Vec<&str> = update.topics.iter().map(String::as_str).collect();
    let new = NewEvent {
        topics: &topics,
        event: update.event_type.as_deref(),
        data: &update.data,
        private: update.private,
        label: Some(&label),
        retry: update.retry,
    };
    hub.publish_new(&new, config.events.max_event_bytes).map_err(PublishRefusal::from)?;
    Ok(label)
}

/// A `urn:uuid:` version 4 from the OS's randomness.
fn random_urn_uuid() -> Result<String, std::io::ErrorKind> {
    let mut random = [0u8; 16];
    let mut urandom = std::fs::File::open("/dev/urandom").map_err(|error| error.kind())?;
    std::io::Read::read_exact(&mut urandom, &mut random).map_err(|error| error.kind())?;
    Ok(urn_uuid_v4(random))
}

/// Reads a publish's body of `length` bytes, first telling a client that
/// asked (`Expect: 100-continue`) to send it.
fn receive_body(
    mut socket: &TcpStream,
    request: &Request,
    already_read: &[u8],
    length: u64,
    shared: &Shared,
) -> Result<Vec<u8>, Failure> {
    // RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` may wait
    // for this before sending its body; every refusal before it went out
    // instead of it. An HTTP/1.0 request's expectation is ignored.
    let body_pending = (already_read.len() as u64) < length;
    if body_pending && request.version() == Version::Http11 && expects_continue(request) {
        socket.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").map_err(|_| Failure::ClientLeft)?;
        shared.metrics.sent_bytes(25);
    }
    read_body(socket, already_read, length as usize, shared)
}

/// The checks before a publish's body is read, in the order of their
/// statuses: who publishes (401), a `Content-Length` (411) of at most
/// `limit` bytes (413). Who, and the length.
fn admit(request: &Request, config: &Config, auth: &Auth, limit: usize) -> Result<(Publisher, u64), Failure> {
    let publisher = authenticate(request, config, auth)?;
    let Some(length) = request.content_length() else {
        return Err(PublishRefusal::LengthRequired.into());
    };
    if length > limit as u64 {
        return Err(PublishRefusal::TooLarge { bytes: length, limit }.into());
    }
    Ok((publisher, length))
}

/// Who is publishing, once let in.
enum Publisher {
    /// The holder of `--publish-token`: any topic.
    SharedToken,
    /// The holder of a signed token: the topics its claims allow.
    Token(Claims),
}

/// Lets in the holder of `--publish-token` or of a signed token that
/// verifies; refuses everyone else (401), and a signed token that does not
/// verify with its own reason.
fn authenticate(request: &Request, config: &Config, auth: &Auth) -> Result<Publisher, PublishRefusal> {
    // The one `Authorization: Bearer` header; two are never the shared token.
    let offered = match find_token(request) {
        Offered::One(TokenSource::Header, offered) => Some(offered),
        _ => None,
    };
    if let (Some(offered), Some(token)) = (offered, &config.events.publish_token) {
        if constant_time_eq(&offered, token.0.as_bytes()) {
            return Ok(Publisher::SharedToken);
        }
    }
    match auth.publisher(request, now_seconds(), &config.cors_origins) {
        Ok(Some(claims)) => Ok(Publisher::Token(claims)),
        Ok(None) => Err(PublishRefusal::Unauthorized),
        Err(denied) => Err(PublishRefusal::Token(denied)),
    }
}

/// The `?event=` name: `None` when there is none. Decoded as strictly as
/// a topic, by the same rule.
fn event_name(request: &Request) -> Result<Option<String>, PublishRefusal> {
    let refused = |error| Err(PublishRefusal::BadEventName(error));
    let bytes = match value_given_once(request.query(), "event") {
        Ok(None) => return Ok(None),
        Ok(Some(bytes)) => bytes,
        Err(QueryValueError::Repeated) => return refused(EventNameError::Repeated),
        Err(QueryValueError::BadPercentEncoding) => return refused(EventNameError::BadPercentEncoding),
    };
    if bytes.is_empty() {
        return refused(EventNameError::Empty);
    }
    let Ok(name) = String::from_utf8(bytes) else {
        return refused(EventNameError::NotUtf8);
    };
    if let Err(error) = SingleLine::new(&name) {
        return refused(EventNameError::Field(error));
    }
    Ok(Some(name))
}

/// Whether `Expect` asks for `100-continue` (case-insensitive, RFC 9110 §10.1.1).
fn expects_continue(request: &Request) -> bool {
    request.header("expect").is_some_and(|value| value.eq_ignore_ascii_case(b"100-continue"))
}

/// Reads exactly `length` body bytes within `--head-timeout`. The buffer
/// grows as bytes arrive, never to the announced length before they do: a
/// client that announces 16 MiB and sends one byte holds a few KiB.
fn read_body(
    socket: &TcpStream,
    already_read: &[u8],
    length: usize,
    shared: &Shared,
) -> Result<Vec<u8>, Failure> {
    // Read on the heap, a chunk at a time: a buffer on the stack would be
    // part of every connection thread's frame (stream threads included),
    // and its pages part of every stream's memory.
    const CHUNK: usize = 16 * 1024;
    let timeout = shared.config.timeouts.head_timeout;
    let deadline = Instant::now() + timeout;
    let mut body = already_read[..already_read.len().min(length)].to_vec();
    while body.len() < length {
        let filled = body.len();
        let wanted = (length - filled).min(CHUNK);
        body.resize(filled + wanted, 0);
        match read_within(socket, &mut body[filled..], deadline) {
            ReadOutcome::Bytes(read) => body.truncate(filled + read),
            ReadOutcome::TimedOut => {
                let limit_ms = timeout.as_millis() as u64;
                return Err(Failure::Refused(PublishRefusal::BodyTimedOut { limit_ms }));
            }
            ReadOutcome::Closed | ReadOutcome::Failed(_) => return Err(Failure::ClientLeft),
        }
    }
    Ok(body)
}
