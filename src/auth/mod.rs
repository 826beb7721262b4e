//! Who may read what, and who may publish: the keys, read once at start,
//! and the decisions for one request, taken from its signed token.
//!
//! ```text
//! GET /events?topic=… HTTP/1.1
//! Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJtZXJjdXJlIjp7InN1YnNjcmliZSI6WyJ1c2Vycy80MiJdfX0.…
//!   └─► the first present of: Authorization: Bearer, ?authorization=, Cookie: mercureAuthorization=
//!   └─► HS256 against the subscriber key, then the previous key
//!   └─► Reader { selectors: ["users/42"], expires: Some(…) }   or 401 invalid_token
//! ```
//!
//! A request without a token reads public events (unless
//! `--no-anonymous`); a token that is present but invalid is refused, from
//! whichever source it came, never downgraded to anonymous (Mercure rule
//! 20). Not here: the token's bytes (`proto/token/`), which events a reader
//! gets (the hub decides, at publish time).

mod keys;
mod source;

pub(crate) use keys::Keys;
pub(crate) use source::{bearer_token, find_token, TokenSource};

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::proto::request::Request;
use crate::proto::selector::Selector;
use crate::proto::token::json;
use crate::proto::token::jwt::{self, Claims, TokenError};

/// Seconds since the Unix epoch, as tokens count time.
pub(crate) fn now_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// What a subscriber may read beyond public events.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reader {
    /// `mercure.subscribe` of its token: the topics whose private events it
    /// reads. Empty for a stream without a token.
    pub(crate) private_topics: Vec<Selector>,
    /// When its token expires (seconds since the epoch): the stream ends then.
    pub(crate) expires: Option<u64>,
}

impl Reader {
    /// Whether this reader may get the private events of `topic`.
    pub(crate) fn reads_private(&self, topic: &str) -> bool {
        self.private_topics.iter().any(|selector| selector.matches(topic))
    }
}

/// Why a request's token does not let it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No token, and this endpoint needs one: 401 with `WWW-Authenticate: Bearer`.
    NoToken,
    /// A token that does not verify: 401 with `error="invalid_token"`.
    Invalid(TokenError),
    /// A valid token that does not allow this topic: 403 `insufficient_scope`.
    NotAllowed,
    /// A publish authenticated by the cookie alone, without `Origin` or
    /// `Referer` (a cross-site form could send it): 403.
    CookieWithoutOrigin,
    /// A publish authenticated by the cookie alone from a page whose
    /// origin `--cors-origin` does not list: 403.
    CookieFromOtherOrigin,
}

impl Denied {
    /// The status that answers it.
    pub(crate) fn status(self) -> u16 {
        match self {
            Denied::NoToken | Denied::Invalid(_) => 401,
            Denied::NotAllowed | Denied::CookieWithoutOrigin | Denied::CookieFromOtherOrigin => 403,
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3).
    pub(crate) fn challenge(self) -> &'static str {
        match self {
            Denied::NoToken => "Bearer realm=\"ssed\"",
            Denied::Invalid(_) => "Bearer realm=\"ssed\", error=\"invalid_token\"",
            Denied::NotAllowed | Denied::CookieWithoutOrigin | Denied::CookieFromOtherOrigin => {
                "Bearer realm=\"ssed\", error=\"insufficient_scope\""
            }
        }
    }
}

impl fmt::Display for Denied {
    /// One line that names what is wrong, never the token or the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::NoToken => f.write_str("a token is required (Authorization: Bearer)"),
            Denied::Invalid(error) => write!(f, "invalid token: {error}"),
            Denied::NotAllowed => f.write_str("the token does not allow this topic"),
            Denied::CookieWithoutOrigin => {
                f.write_str("a publish authenticated by cookie needs an Origin or Referer header")
            }
            Denied::CookieFromOtherOrigin => {
                f.write_str("a publish authenticated by cookie from an origin --cors-origin does not list")
            }
        }
    }
}

/// The decisions of one server: its keys, and whether streams may come
/// without a token.
pub(crate) struct Auth {
    keys: Option<Keys>,
    anonymous: bool,
}

impl Auth {
    /// No keys: every stream reads public events, nobody private ones.
    pub(crate) fn without_keys() -> Auth {
        Auth { keys: None, anonymous: true }
    }

    /// With these keys.
    pub(crate) fn with_keys(keys: Keys, anonymous: bool) -> Auth {
        Auth { keys: Some(keys), anonymous }
    }

    /// Whether tokens are checked at all.
    pub(crate) fn has_keys(&self) -> bool {
        self.keys.is_some()
    }

    /// What the subscriber behind `request` may read, at `now`.
    ///
    /// # Errors
    ///
    /// [`Denied::Invalid`] for a token that does not verify (whatever its
    /// source), [`Denied::NoToken`] for none with `--no-anonymous`.
    pub(crate) fn reader(&self, request: &Request, now: u64) -> Result<Reader, Denied> {
        let Some(keys) = &self.keys else { return Ok(Reader::default()) };
        match find_token(request) {
            None if self.anonymous => Ok(Reader::default()),
            None => Err(Denied::NoToken),
            Some((_, token)) => {
                let claims = jwt::verify(&token, keys.subscriber(), now).map_err(Denied::Invalid)?;
                Ok(Reader { private_topics: claims.subscribe, expires: claims.exp })
            }
        }
    }

    /// The publisher's claims, when its token verifies; `None` when this
    /// server has no keys or the request carries no token.
    ///
    /// # Errors
    ///
    /// [`Denied::Invalid`] for a token that does not verify;
    /// [`Denied::CookieWithoutOrigin`] for a cookie-only publish without
    /// `Origin` or `Referer` (Mercure rule 19);
    /// [`Denied::CookieFromOtherOrigin`] for one whose page's origin (the
    /// `Origin`, else the `Referer`'s) `origin_allowed` refuses.
    pub(crate) fn publisher(
        &self,
        request: &Request,
        now: u64,
        origin_allowed: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<Claims>, Denied> {
        let Some(keys) = &self.keys else { return Ok(None) };
        let Some((source, token)) = find_token(request) else { return Ok(None) };
        let claims = jwt::verify(&token, keys.publisher(), now).map_err(Denied::Invalid)?;
        if source == TokenSource::Cookie {
            // A browser sends the cookie with a form any site posts; the
            // Origin (or Referer) says which page did, as the Mercure.rocks
            // hub checks it against its publish origins.
            let page = request.header("origin").or_else(|| request.header("referer").map(origin_of_url));
            match page {
                None => return Err(Denied::CookieWithoutOrigin),
                Some(origin) if !origin_allowed(origin) => return Err(Denied::CookieFromOtherOrigin),
                Some(_) => {}
            }
        }
        Ok(Some(claims))
    }
}

/// The origin of a URL (`Referer`): its scheme, `://` and authority,
/// without the path, query or fragment. `http://a.test:8080/p?q` ─►
/// `http://a.test:8080`. Anything without `://` is taken whole (and
/// matches no listed origin).
fn origin_of_url(url: &[u8]) -> &[u8] {
    let Some(scheme_end) = url.windows(3).position(|three| three == b"://") else { return url };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .iter()
        .position(|&byte| matches!(byte, b'/' | b'?' | b'#'))
        .map_or(url.len(), |at| authority_start + at);
    &url[..authority_end]
}

/// A token for [`TokenRequest`](crate::config::TokenRequest), signed with
/// the key of its role, as `ssed token` prints it.
///
/// # Errors
///
/// A key that cannot be read or is too short; selectors for both roles
/// when each role has its own key (mint one token per role then).
pub fn mint_token(request: &crate::config::TokenRequest, now: u64) -> Result<String, String> {
    let keys = Keys::load(&request.auth)?;
    let signing = match (request.publish.is_empty(), request.subscribe.is_empty()) {
        (false, true) => keys.publisher_signing(),
        (true, false) => keys.subscriber_signing(),
        _ if request.auth.publisher_key.is_some() || request.auth.subscriber_key.is_some() => {
            return Err("publisher and subscriber keys differ: mint one token per role".to_owned());
        }
        _ => keys.publisher_signing(),
    };
    let key = signing.ok_or("no key for this role")?;
    let list = |selectors: &[String]| {
        selectors.iter().map(|selector| json::quote(selector)).collect::<Vec<_>>().join(",")
    };
    let mut claims = format!(
        "{{\"mercure\":{{\"publish\":[{}],\"subscribe\":[{}]}}",
        list(&request.publish),
        list(&request.subscribe)
    );
    if let Some(ttl) = request.ttl {
        claims.push_str(&format!(",\"exp\":{}", now + ttl.as_secs()));
    }
    claims.push('}');
    Ok(jwt::mint(key, &claims))
}

#[cfg(test)]
mod origin_tests {
    use super::origin_of_url;

    #[test]
    fn the_origin_of_a_referer_is_its_scheme_and_authority() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"http://page.test/page?x=1", b"http://page.test"),
            (b"https://page.test:8443", b"https://page.test:8443"),
            (b"http://page.test?x#y", b"http://page.test"),
            (b"http://page.test#y", b"http://page.test"),
            (b"http://page.test.evil.test/", b"http://page.test.evil.test"),
            (b"not a url", b"not a url"),
        ];
        for (url, origin) in cases {
            assert_eq!(origin_of_url(url), origin, "{}", String::from_utf8_lossy(url));
        }
    }
}
