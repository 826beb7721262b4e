use super::*;

const LIMITS: HeadLimits = HeadLimits { max_head_bytes: 8192, max_target_bytes: 2048 };

fn parse(head: &[u8]) -> Result<Parsed, ParseError> {
    parse_request_head(head, &LIMITS)
}

fn complete(head: &[u8]) -> Request {
    match parse(head) {
        Ok(Parsed::Complete { request, head_len }) => {
            assert_eq!(head_len, head.len(), "whole head consumed: {head:?}");
            request
        }
        other => panic!("expected a complete head for {:?}, got {other:?}", String::from_utf8_lossy(head)),
    }
}

/// The one check every error case goes through.
fn check_error(head: &[u8], expected: ParseError) {
    assert_eq!(parse(head), Err(expected), "{:?}", String::from_utf8_lossy(head));
}

const VALID: &[&[u8]] = &[
    b"GET /sse HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /sse HTTP/1.0\r\n\r\n",
    b"GET /messages?x=1&y=2 HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\nLast-Event-ID: 7\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",
    b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://example.test:8080/sse?q HTTP/1.1\r\nHost: example.test:8080\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost:\r\nX-Empty:\r\nX-Tabs:\t v \t\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
    b"POST /publish HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
];

#[test]
fn valid_heads_parse_completely() {
    for head in VALID {
        complete(head);
    }
}

#[test]
fn every_proper_prefix_of_a_valid_head_is_incomplete() {
    for head in VALID {
        for end in 0..head.len() {
            assert_eq!(
                parse(&head[..end]),
                Ok(Parsed::Incomplete),
                "prefix {:?}",
                String::from_utf8_lossy(&head[..end])
            );
        }
    }
}

#[test]
fn header_lines_are_read_in_order_and_trimmed() {
    let request = complete(
        b"GET / HTTP/1.1\r\nHost: a:1\r\nX-Empty:\r\nX-Tabs:\t v: w \t\r\nX-Obs: caf\xc3\xa9\r\nx-tabs: second\r\n\r\n",
    );
    let lines: Vec<(&[u8], &[u8])> = request.headers().collect();
    assert_eq!(
        lines,
        [
            (&b"Host"[..], &b"a:1"[..]),
            (b"X-Empty", b""),
            (b"X-Tabs", b"v: w"),
            (b"X-Obs", b"caf\xc3\xa9"),
            (b"x-tabs", b"second"),
        ]
    );
    // The first of two lines with one name, in any letter case.
    assert_eq!(request.header("X-TABS"), Some(&b"v: w"[..]));
    assert_eq!(complete(b"GET / HTTP/1.0\r\n\r\n").headers().count(), 0);
    // Blank lines before the request line are not part of it.
    let late = complete(b"\r\n\nPOST /publish?topic=a HTTP/1.1\nHost: h\nContent-Length: 3\n\n");
    assert_eq!((late.method(), late.path(), late.query()), ("POST", "/publish", "topic=a"));
    assert_eq!((late.header("host"), late.content_length()), (Some(&b"h"[..]), Some(3)));
}

#[test]
fn fields_are_extracted() {
    let request = complete(b"GET /messages?x=1 HTTP/1.1\r\nHost: a:1\r\nLast-Event-ID:  41 \r\n\r\n");
    assert_eq!(request.method(), "GET");
    assert_eq!(request.path(), "/messages");
    assert_eq!(request.query(), "x=1");
    assert_eq!(request.version(), Version::Http11);
    assert_eq!(request.header("last-event-id"), Some(&b"41"[..]));
    assert_eq!(request.header("HOST"), Some(&b"a:1"[..]));
    assert_eq!(request.content_length(), None);

    let absolute = complete(b"GET HTTP://h/sse?q=2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((absolute.path(), absolute.query()), ("/sse", "q=2"));
    let bare_authority = complete(b"GET http://h HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((bare_authority.path(), bare_authority.query()), ("/", ""));
    let query_only = complete(b"GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((query_only.path(), query_only.query()), ("/", "q=1"));
    let asterisk = complete(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((asterisk.method(), asterisk.path(), asterisk.query()), ("OPTIONS", "*", ""));
    let with_length = complete(b"POST / HTTP/1.0\r\nContent-Length: 12\r\n\r\n");
    assert_eq!(with_length.content_length(), Some(12));
}

#[test]
fn bytes_after_the_head_are_not_part_of_it() {
    let head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
    let mut with_body = head.to_vec();
    with_body.extend_from_slice(b"abc");
    match parse(&with_body) {
        Ok(Parsed::Complete { head_len, .. }) => assert_eq!(head_len, head.len()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_heads_are_refused_with_a_named_error() {
    use ParseError::*;
    let cases: &[(&[u8], ParseError)] = &[
        (b"GET /sse\r\n\r\n", BadRequestLine),
        (b"GET  /sse HTTP/1.1\r\n", BadRequestLine),
        (b" GET /sse HTTP/1.1\r\n", BadRequestLine),
        (b"GET /sse HTTP/1.1 \r\n", BadRequestLine),
        (b"GET /sse http/1.1\r\n", BadRequestLine),
        (b"GET /sse HTTP/1\r\n", BadRequestLine),
        (b"GET /sse HTTP/1.1x", BadRequestLine),
        (b"GET sse HTTP/1.1\r\nHost: a\r\n\r\n", BadRequestLine),
        (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", BadRequestLine),
        (b"GET /s\xc3\xa9 HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a\rb HTTP/1.1\r\n", BadRequestLine),
        (b"GE\0T / HTTP/1.1\r\n", BadRequestLine),
        (b"\x16\x03\x01\x02\x00\x01\x00", BadRequestLine),
        (b"GET / HTTP/1.1\r\nHost a\r\n\r\n", HeaderWithoutColon),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", SpaceBeforeColon),
        (b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", SpaceBeforeColon),
        (b"GET / HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n", ObsoleteLineFolding),
        (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", ObsoleteLineFolding),
        (b"GET / HTTP/1.1\r\n: a\r\n\r\n", BadHeaderName),
        (b"GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", BadHeaderName),
        (b"GET / HTTP/1.1\r\nX(y): a\r\n\r\n", BadHeaderName),
        (b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", BadHeaderValue),
        (b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", BadHeaderValue),
        (b"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", BadHeaderValue),
        (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
        (b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", DuplicateHost),
        (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", DuplicateHost),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", BadContentLength),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n", BadContentLength),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", BadContentLength),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", BadContentLength),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            ContentLengthWithTransferEncoding,
        ),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", UnsupportedVersion),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", UnsupportedVersion),
        (b"GET / HTTP/0.9\r\n\r\n", UnsupportedVersion),
        (b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", UnsupportedVersion),
    ];
    for &(head, expected) in cases {
        check_error(head, expected);
    }
}

#[test]
fn target_limit_is_inclusive_and_checked_before_the_line_ends() {
    let at_limit = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(2047));
    complete(at_limit.as_bytes());
    let over = format!("GET /{}", "a".repeat(2048));
    check_error(over.as_bytes(), ParseError::TargetTooLong);
}

#[test]
fn head_limit_is_inclusive() {
    let base = b"GET / HTTP/1.1\r\nHost: a\r\nX: \r\n\r\n".len();
    let padded = |extra: usize| format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "v".repeat(extra));
    let at_limit = padded(8192 - base);
    assert_eq!(at_limit.len(), 8192);
    complete(at_limit.as_bytes());
    check_error(padded(8193 - base).as_bytes(), ParseError::HeadTooLarge);
    // Still arriving, but already at the limit: no point reading more.
    check_error(&padded(9000 - base).as_bytes()[..8192], ParseError::HeadTooLarge);
}

#[test]
fn every_error_has_its_own_short_lowercase_message() {
    use ParseError::*;
    let all = [
        BadRequestLine,
        HeaderWithoutColon,
        SpaceBeforeColon,
        ObsoleteLineFolding,
        BadHeaderName,
        BadHeaderValue,
        MissingHost,
        DuplicateHost,
        BadHost,
        TooManyHeaders,
        BadContentLength,
        ContentLengthWithTransferEncoding,
        TargetTooLong,
        HeadTooLarge,
        UnsupportedVersion,
    ];
    let mut seen = std::collections::HashSet::new();
    for error in all {
        let message = error.to_string();
        // Lowercase, unless the first word is an acronym such as HTTP.
        let first_word = message.split([' ', '/']).next().unwrap_or_default();
        let lowercase = !first_word.chars().any(char::is_uppercase);
        assert!(lowercase || first_word.chars().all(|c| c.is_ascii_uppercase()), "{message}");
        assert!(!message.ends_with('.') && message.len() < 60, "{message}");
        assert!(seen.insert(message.clone()), "two errors say {message:?}");
        assert!(matches!(error.status(), 400 | 414 | 431 | 505), "{error:?}");
    }
}

#[test]
fn query_parameters_are_percent_decoded() {
    let request = complete(b"GET /events?a=1&lastEventId=17-4&event=sensor%20reading&plus=a+b&bad=%zz&last HTTP/1.1\r\nHost: h\r\n\r\n");
    let cases = [
        ("a", Some("1")),
        ("lastEventId", Some("17-4")),
        ("event", Some("sensor reading")),
        ("plus", Some("a b")),
        ("bad", Some("%zz")),
        ("last", Some("")),
        ("missing", None),
    ];
    for (key, expected) in cases {
        assert_eq!(request.query_param(key).as_deref(), expected, "{key}");
    }
}

/// RFC 9112 §9.3: HTTP/1.1 stays open unless `close` is among the
/// `Connection` options; HTTP/1.0 closes unless `keep-alive` is.
#[test]
fn connection_options_decide_whether_the_client_keeps_the_connection() {
    let cases: [(&[u8], bool); 9] = [
        (b"POST /publish HTTP/1.1\r\nHost: a\r\n\r\n", true),
        (b"POST /publish HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
        (b"POST /publish HTTP/1.1\r\nHost: a\r\nconnection: CLOSE\r\n\r\n", false),
        (b"POST /publish HTTP/1.1\r\nHost: a\r\nConnection: TE, close\r\n\r\n", false),
        (b"POST /publish HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false),
        (b"POST /publish HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true),
        (b"POST /publish HTTP/1.0\r\n\r\n", false),
        (b"POST /publish HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        (b"POST /publish HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
    ];
    for (head, keeps) in cases {
        assert_eq!(complete(head).keeps_connection(), keeps, "{:?}", String::from_utf8_lossy(head));
    }
}
