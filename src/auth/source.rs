//! Where a request carries its token (Mercure rule 17): the first present
//! of these three is the only one used.
//!
//! ```text
//! Authorization: Bearer eyJ…                 1. the header
//! GET /events?authorization=eyJ…             2. the query (EventSource cannot send headers)
//! Cookie: theme=dark; mercureAuthorization=eyJ…
//!                                            3. the cookie (a page of the same site)
//! ```
//!
//! Whatever looks like a token counts, so a forged one is refused rather
//! than read as "no token" (Mercure rule 20): `Bearer` followed by a tab
//! or by nothing, a second `Authorization: Bearer` header, a second
//! `?authorization=`, `mercureAuthorization = …` with spaces.

use crate::proto::request::Request;
use crate::proto::topic::decode_strict;

/// Which of the three places the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSource {
    /// `Authorization: Bearer`.
    Header,
    /// `?authorization=`.
    Query,
    /// The `mercureAuthorization` cookie.
    Cookie,
}

/// The cookie that carries a token.
const COOKIE_NAME: &[u8] = b"mercureAuthorization";

/// What a request offers as its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Offered {
    /// No token in any of the three places.
    Nothing,
    /// One token, from the first place that has one.
    One(TokenSource, Vec<u8>),
    /// Two `Authorization: Bearer` headers, or two `?authorization=`:
    /// which one was meant is not ours to guess, and taking the first
    /// would let a valid token hide a forged one (refused, 401).
    Several(TokenSource),
}

/// The request's token and where it was. An `Authorization` header of
/// another scheme (`Basic …`) is no token; `Bearer` with no token after
/// it is an empty one (refused, never read as "no token").
pub(crate) fn find_token(request: &Request) -> Offered {
    let mut bearers = request
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case(b"authorization"))
        .filter_map(|(_, value)| bearer_token(value));
    match (bearers.next(), bearers.next()) {
        (Some(token), None) => return Offered::One(TokenSource::Header, token.to_vec()),
        (Some(_), Some(_)) => return Offered::Several(TokenSource::Header),
        (None, _) => {}
    }
    let mut queried = query_tokens(request.query());
    match (queried.next(), queried.next()) {
        (Some(token), None) => return Offered::One(TokenSource::Query, token),
        (Some(_), Some(_)) => return Offered::Several(TokenSource::Query),
        (None, _) => {}
    }
    // A browser sends a cookie twice when two paths set it, the most
    // specific first (RFC 6265 §5.4): the first is the one meant.
    request
        .headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case(b"cookie"))
        .find_map(|(_, value)| cookie_value(value, COOKIE_NAME))
        .map_or(Offered::Nothing, |token| Offered::One(TokenSource::Cookie, token.to_vec()))
}

/// The token of `Bearer <token>`: the scheme is case-insensitive (RFC 9110
/// §11.1) and ends at the first space or tab; what follows, trimmed, is the
/// token, empty when nothing follows.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    let scheme_end = value.iter().position(|&byte| byte == b' ' || byte == b'\t').unwrap_or(value.len());
    let (scheme, token) = value.split_at(scheme_end);
    scheme.eq_ignore_ascii_case(b"bearer").then(|| token.trim_ascii())
}

/// The values of `authorization` in a query, names and values
/// percent-decoded as `URLSearchParams` does; a value with a `%` not
/// followed by two hex digits is kept as sent, which no token verifies.
fn query_tokens(query: &str) -> impl Iterator<Item = Vec<u8>> + '_ {
    query.split('&').filter_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = |text: &str| decode_strict(text).unwrap_or_else(|_| text.as_bytes().to_vec());
        (decoded(name) == b"authorization").then(|| decoded(value))
    })
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`, RFC 6265
/// §4.2.1); spaces around the `=` are dropped as browsers drop them.
fn cookie_value<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    header.split(|&byte| byte == b';').find_map(|pair| {
        let equals = pair.iter().position(|&byte| byte == b'=')?;
        (pair[..equals].trim_ascii() == name).then(|| pair[equals + 1..].trim_ascii())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let cases: [(&[u8], Option<&[u8]>); 9] = [
            (b"Bearer abc", Some(b"abc")),
            (b"bearer abc", Some(b"abc")),
            (b"BEARER  abc ", Some(b"abc")),
            (b"Bearer\tabc", Some(b"abc")),
            (b"Basic abc", None),
            (b"Bearer", Some(b"")),
            (b"Bearer   ", Some(b"")),
            (b"Bearerabc", None),
            (b"Basic Bearer abc", None),
        ];
        for (header, token) in cases {
            assert_eq!(bearer_token(header), token, "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn cookies() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"mercureAuthorization = abc ;x=1", Some(b"abc")),
            (b"mercureAuthorization=abc", Some(b"abc")),
            (b"theme=dark; mercureAuthorization=abc; x=1", Some(b"abc")),
            (b"theme=dark;mercureAuthorization=abc", Some(b"abc")),
            (b"mercureauthorization=abc", None),
            (b"xmercureAuthorization=abc", None),
        ];
        for (header, token) in cases {
            assert_eq!(cookie_value(header, COOKIE_NAME), token, "{}", String::from_utf8_lossy(header));
        }
    }
}
