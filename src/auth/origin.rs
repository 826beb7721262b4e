//! Which page sent a publish that carries its token in a cookie, and
//! whether this server trusts that page (Mercure rule 19, checked as the
//! Mercure hub checks it: against the origins allowed to publish).
//!
//! ```text
//! POST /publish?topic=a HTTP/1.1
//! Host: events.example
//! Cookie: mercureAuthorization=eyJ…
//! Origin: https://app.example            ─► listed in --cors-origin: let in
//! Origin: https://events.example         ─► the server's own page (Host): let in
//! Origin: https://evil.example           ─► 403: any site's form carries the cookie
//! Referer: https://app.example/chat?x=1  ─► without Origin: the Referer's origin
//! ```
//!
//! A browser attaches the cookie to a form another site posts here
//! (`SameSite=None`, which a cross-site `EventSource` with credentials
//! needs), and it sends that site's `Origin` too: the presence of the
//! header proves nothing, its value does.

use crate::proto::request::Request;

/// The origin of the page that sent `request`: its `Origin` header, or
/// else the `scheme://host[:port]` of its `Referer`; `None` with neither.
pub(crate) fn page_origin(request: &Request) -> Option<&[u8]> {
    if let Some(origin) = request.header("origin") {
        return Some(origin);
    }
    request.header("referer").map(origin_of_url)
}

/// `https://app.example:8443/chat?x=1` → `https://app.example:8443`.
fn origin_of_url(url: &[u8]) -> &[u8] {
    let after_scheme = find(url, b"://").map_or(0, |at| at + 3);
    let end = url[after_scheme..]
        .iter()
        .position(|&byte| matches!(byte, b'/' | b'?' | b'#'))
        .map_or(url.len(), |at| after_scheme + at);
    &url[..end]
}

/// Whether a page of `origin` may publish by cookie: it is one of
/// `listed` (the `--cors-origin` list; `*` lists nobody, since it grants no
/// credentials), or its host is this server's own `Host`.
pub(crate) fn trusted(origin: &[u8], host: Option<&[u8]>, listed: &[String]) -> bool {
    let is_listed = listed.iter().any(|name| name != "*" && name.as_bytes() == origin);
    let own = find(origin, b"://")
        .map(|at| &origin[at + 3..])
        .zip(host)
        .is_some_and(|(authority, host)| !host.is_empty() && authority.eq_ignore_ascii_case(host));
    is_listed || own
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_referers() {
        let cases: [(&[u8], &[u8]); 5] = [
            (b"https://app.example/chat?x=1", b"https://app.example"),
            (b"https://app.example:8443", b"https://app.example:8443"),
            (b"http://t/demo#x", b"http://t"),
            (b"https://a.example?q", b"https://a.example"),
            (b"garbage", b"garbage"),
        ];
        for (referer, origin) in cases {
            assert_eq!(origin_of_url(referer), origin, "{}", String::from_utf8_lossy(referer));
        }
    }

    /// An `Origin`, the `Host`, the listed origins, and whether it is trusted.
    type Case<'a> = (&'a [u8], Option<&'a [u8]>, &'a [String], bool);

    #[test]
    fn trusted_pages() {
        let listed = ["https://app.example".to_owned()];
        let cases: [Case; 9] = [
            (b"https://app.example", Some(b"t"), &listed, true),
            (b"https://app.example.evil", Some(b"t"), &listed, false),
            (b"https://APP.example", Some(b"t"), &listed, false),
            (b"null", Some(b"t"), &listed, false),
            (b"http://t", Some(b"t"), &listed, true),
            (b"https://events.example:8443", Some(b"Events.example:8443"), &listed, true),
            (b"https://evil.example", Some(b"t"), &[], false),
            (b"https://evil.example", None, &[], false),
            (b"*", Some(b"t"), &["*".to_owned()], false),
        ];
        for (origin, host, listed, expected) in cases {
            assert_eq!(trusted(origin, host, listed), expected, "{}", String::from_utf8_lossy(origin));
        }
    }
}
