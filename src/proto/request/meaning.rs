//! What a well-formed head means beyond its grammar: the `Host` and
//! body-framing rules of RFC 9112, and the four request-target forms
//! reduced to a path and a query.

use std::ops::Range;

use super::parsed::field_lines;
use super::{ParseError, Version};

/// Host and body-framing rules of RFC 9112 §3.2 and §6; returns the
/// Content-Length.
pub(super) fn check_framing_and_host(lines: &[u8], version: Version) -> Result<Option<u64>, ParseError> {
    let named = |name: &'static str| {
        field_lines(lines)
            .filter(move |(field, _)| field.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    };
    match (named("host").count(), version) {
        (0, Version::Http11) => return Err(ParseError::MissingHost),
        (0 | 1, _) => {}
        _ => return Err(ParseError::DuplicateHost),
    }
    if named("host").any(|host| !is_valid_host(host)) {
        return Err(ParseError::BadHost);
    }
    let mut content_length = None;
    for value in named("content-length") {
        let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
        let length = std::str::from_utf8(value)
            .ok()
            .filter(|_| digits)
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or(ParseError::BadContentLength)?;
        if content_length.is_some_and(|earlier| earlier != length) {
            return Err(ParseError::BadContentLength);
        }
        content_length = Some(length);
    }
    if content_length.is_some() && named("transfer-encoding").next().is_some() {
        return Err(ParseError::ContentLengthWithTransferEncoding);
    }
    Ok(content_length)
}

/// `Host = uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986 §3.2.2): an
/// IP literal in brackets or a reg-name (letters, digits, `-._~`,
/// sub-delims, `%XX`), then optional port digits. Empty is allowed: a
/// target without an authority sends an empty Host.
pub(super) fn is_valid_host(value: &[u8]) -> bool {
    let (host, port) = if value.starts_with(b"[") {
        let Some(close) = value.iter().position(|&byte| byte == b']') else { return false };
        let literal = &value[1..close];
        let literal_ok = !literal.is_empty()
            && literal.iter().all(|&byte| byte.is_ascii_hexdigit() || byte == b':' || byte == b'.');
        if !literal_ok {
            return false;
        }
        match &value[close + 1..] {
            [] => return true,
            [b':', port @ ..] => (&[][..], port),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|&byte| byte == b':') {
            Some(colon) => (&value[..colon], &value[colon + 1..]),
            None => (value, &[][..]),
        }
    };
    let reg_name_byte = |&byte: &u8| byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&byte);
    host.iter().all(reg_name_byte) && port.iter().all(u8::is_ascii_digit)
}

/// Reduces the four request-target forms (RFC 9112 §3.2) to path and query.
pub(super) fn split_target(
    method: &str,
    target: &str,
) -> Result<(Option<Range<usize>>, Range<usize>), ParseError> {
    let end = target.len();
    let origin_start = if target.starts_with('/') {
        0
    } else if target == "*" && method == "OPTIONS" {
        return Ok((Some(0..1), end..end));
    } else if let Some(after_scheme) =
        strip_prefix_ignore_case(target, "http://").or_else(|| strip_prefix_ignore_case(target, "https://"))
    {
        // "A server MUST accept the absolute-form in requests" (§3.2.2).
        let scheme_len = end - after_scheme.len();
        match after_scheme.find(['/', '?']) {
            Some(start) if after_scheme[start..].starts_with('/') => scheme_len + start,
            Some(start) => return Ok((None, scheme_len + start + 1..end)),
            None => return Ok((None, end..end)),
        }
    } else {
        return Err(ParseError::BadRequestLine);
    };
    Ok(match target[origin_start..].find('?') {
        Some(mark) => (Some(origin_start..origin_start + mark), origin_start + mark + 1..end),
        None => (Some(origin_start..end), end..end),
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Whether the client lets the connection stay open after the answer
/// (RFC 9112 §9.3): a `close` option in any `Connection` field ends it; a
/// client that sent `HTTP/1.1` otherwise keeps it; an `HTTP/1.0` client
/// keeps it only if it sent the `keep-alive` option (§C.2.2). Options are
/// a comma list, any letter case, in one or several `Connection` lines.
pub(super) fn client_keeps_connection(lines: &[u8], version: Version) -> bool {
    let options = field_lines(lines)
        .filter(|(field, _)| field.eq_ignore_ascii_case(b"connection"))
        .flat_map(|(_, value)| value.split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii);
    let (mut close, mut keep_alive) = (false, false);
    for option in options {
        close |= option.eq_ignore_ascii_case(b"close");
        keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
    }
    !close && (version == Version::Http11 || keep_alive)
}
