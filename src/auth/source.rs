//! Where a request carries its token (Mercure rule 17): the first present
//! of these three is the only one used.
//!
//! ```text
//! Authorization: Bearer eyJ…                 1. the header
//! GET /events?authorization=eyJ…             2. the query (EventSource cannot send headers)
//! Cookie: theme=dark; mercureAuthorization=eyJ…
//!                                            3. the cookie (a page of the same site)
//! ```

use crate::proto::request::Request;

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

/// The request's token and where it was; `None` when it carries none. An
/// `Authorization` header of another scheme (`Basic …`) is no token.
pub(crate) fn find_token(request: &Request) -> Option<(TokenSource, Vec<u8>)> {
    if let Some(token) = request.header("authorization").and_then(bearer_token) {
        return Some((TokenSource::Header, token.to_vec()));
    }
    if let Some(token) = request.query_bytes("authorization") {
        return Some((TokenSource::Query, token));
    }
    request.headers().filter(|(name, _)| name.eq_ignore_ascii_case(b"cookie")).find_map(|(_, value)| {
        cookie_value(value, COOKIE_NAME).map(|token| (TokenSource::Cookie, token.to_vec()))
    })
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
pub(crate) fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then(|| token.trim_ascii())
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`, RFC 6265 §4.2.1).
fn cookie_value<'a>(header: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    header.split(|&byte| byte == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let equals = pair.iter().position(|&byte| byte == b'=')?;
        (&pair[..equals] == name).then(|| pair[equals + 1..].trim_ascii())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let cases: [(&[u8], Option<&[u8]>); 6] = [
            (b"Bearer abc", Some(b"abc")),
            (b"bearer abc", Some(b"abc")),
            (b"BEARER  abc ", Some(b"abc")),
            (b"Basic abc", None),
            (b"Bearer", None),
            (b"Bearerabc", None),
        ];
        for (header, token) in cases {
            assert_eq!(bearer_token(header), token, "{}", String::from_utf8_lossy(header));
        }
    }

    #[test]
    fn cookies() {
        let cases: [(&[u8], Option<&[u8]>); 5] = [
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
