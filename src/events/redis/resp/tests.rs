//! The RESP reader: valid replies in any pieces, named errors, and the
//! limits that bound what a hostile server can cost.

use super::*;

fn parse(bytes: &[u8]) -> Result<Parsed, RespError> {
    parse_reply(bytes, &Limits::default())
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(Some(text.as_bytes().to_vec()))
}

#[test]
fn commands_are_arrays_of_bulk_strings() {
    let mut out = Vec::new();
    encode_command(&[b"XADD", b"ssed", b"*", b"data", b"a\r\nb"], &mut out);
    assert_eq!(out, b"*5\r\n$4\r\nXADD\r\n$4\r\nssed\r\n$1\r\n*\r\n$4\r\ndata\r\n$4\r\na\r\nb\r\n");
}

#[test]
fn valid_replies_parse_and_every_proper_prefix_is_incomplete() {
    let cases: [(&[u8], Reply); 9] = [
        (b"+OK\r\n", Reply::Simple("OK".to_owned())),
        (b"-ERR unknown command\r\n", Reply::Error("ERR unknown command".to_owned())),
        (b":42\r\n", Reply::Integer(42)),
        (b":-7\r\n", Reply::Integer(-7)),
        (b"$5\r\nhello\r\n", bulk("hello")),
        (b"$0\r\n\r\n", bulk("")),
        (b"$-1\r\n", Reply::Bulk(None)),
        (b"*-1\r\n", Reply::Array(None)),
        (
            b"*2\r\n*2\r\n$15\r\n1795633887897-0\r\n*2\r\n$5\r\ntopic\r\n$1\r\na\r\n$3\r\nend\r\n",
            Reply::Array(Some(vec![
                Reply::Array(Some(vec![
                    bulk("1795633887897-0"),
                    Reply::Array(Some(vec![bulk("topic"), bulk("a")])),
                ])),
                bulk("end"),
            ])),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            parse(bytes),
            Ok(Parsed::Whole(expected, bytes.len())),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        for end in 0..bytes.len() {
            assert_eq!(
                parse(&bytes[..end]),
                Ok(Parsed::Incomplete),
                "{end} of {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    // What follows a reply is not part of it.
    assert_eq!(parse(b"+OK\r\n:1\r\n"), Ok(Parsed::Whole(Reply::Simple("OK".to_owned()), 5)));
}

#[test]
fn malformed_replies_are_named_errors() {
    let cases: [(&[u8], RespError); 11] = [
        (b"!oops\r\n", RespError::UnknownType(b'!')),
        (b"HTTP/1.1 200 OK\r\n", RespError::UnknownType(b'H')),
        (b":4x\r\n", RespError::BadNumber),
        (b":\r\n", RespError::BadNumber),
        (b"$abc\r\n", RespError::BadNumber),
        (b"$-2\r\n", RespError::BadNumber),
        (b"+OK\n", RespError::BadLineEnd),
        (b"+OK\rX", RespError::BadLineEnd),
        (b"$3\r\nabcd\r\n", RespError::BadLineEnd),
        (b"$99999999999\r\n", RespError::BulkTooLong),
        (b"*99999999999\r\n", RespError::ArrayTooLong),
    ];
    for (bytes, expected) in cases {
        assert_eq!(parse(bytes), Err(expected), "{:?}", String::from_utf8_lossy(bytes));
    }
    let deep = b"*1\r\n".repeat(9);
    assert_eq!(parse(&deep), Err(RespError::TooDeep));
    assert_eq!(parse(b"+\xff\r\n"), Err(RespError::NotUtf8));
}

#[test]
fn announced_sizes_allocate_nothing_before_the_bytes_arrive() {
    // A million elements announced, none sent: incomplete, and cheap.
    assert_eq!(parse(b"*1000000\r\n"), Ok(Parsed::Incomplete));
    let small = Limits { max_bulk_bytes: 4, max_array_len: 2, max_depth: 2, ..Limits::default() };
    assert_eq!(parse_reply(b"$5\r\nhello\r\n", &small), Err(RespError::BulkTooLong));
    assert_eq!(parse_reply(b"*3\r\n", &small), Err(RespError::ArrayTooLong));
}

/// Feeds `bytes` in pieces of `size`; the reply and the bytes taken.
fn read_in_pieces(bytes: &[u8], size: usize, limits: Limits) -> Result<(Reply, usize), RespError> {
    let mut reader = ReplyReader::new(limits);
    let mut taken = 0;
    for piece in bytes.chunks(size) {
        let (used, reply) = reader.read(piece)?;
        taken += used;
        if let Some(reply) = reply {
            return Ok((reply, taken));
        }
        assert_eq!(used, piece.len(), "an incomplete reply takes every byte");
    }
    panic!("no whole reply in {} bytes", bytes.len());
}

#[test]
fn a_reply_read_in_pieces_of_any_size_is_the_same_reply() {
    let entry = b"*1\r\n*2\r\n$15\r\n1795633887897-0\r\n*4\r\n$5\r\ntopic\r\n$1\r\na\r\n$4\r\ndata\r\n$12\r\nhello\r\nthere\r\n";
    let whole = parse(entry);
    for size in 1..=entry.len() {
        let (reply, taken) = read_in_pieces(entry, size, Limits::default()).expect("valid");
        assert_eq!(Ok(Parsed::Whole(reply, taken)), whole, "pieces of {size}");
    }
    // Two replies back to back: the reader stops after the first and
    // then reads the second.
    let mut reader = ReplyReader::new(Limits::default());
    assert_eq!(reader.read(b"+OK\r\n:1\r\n"), Ok((5, Some(Reply::Simple("OK".to_owned())))));
    assert_eq!(reader.read(b":1\r\n"), Ok((4, Some(Reply::Integer(1)))));
}

#[test]
fn an_endless_line_is_an_error_at_the_limit_not_a_growing_buffer() {
    let limits = Limits { max_line_bytes: 100, ..Limits::default() };
    let mut reader = ReplyReader::new(limits);
    assert_eq!(reader.read(b"+"), Ok((1, None)));
    let mut sent = 1;
    let error = loop {
        match reader.read(&[b'a'; 30]) {
            Ok((used, None)) => sent += used,
            Ok((_, Some(reply))) => panic!("a reply from an endless line: {reply:?}"),
            Err(error) => break error,
        }
        assert!(sent < 1000, "no error after {sent} bytes");
    };
    assert_eq!(error, RespError::LineTooLong);
    assert!(sent <= 101, "{sent} bytes taken");
    // The same for the length line of a bulk string.
    assert_eq!(parse_reply(&[b'$'; 200], &limits), Err(RespError::LineTooLong));
    // A line at the limit is fine.
    let mut at_limit = vec![b'+'];
    at_limit.extend_from_slice(&[b'a'; 100]);
    at_limit.extend_from_slice(b"\r\n");
    assert!(matches!(parse_reply(&at_limit, &limits), Ok(Parsed::Whole(Reply::Simple(_), 103))));
}

#[test]
fn a_bulk_string_over_the_keep_limit_is_read_past_and_only_its_length_kept() {
    let limits = Limits { keep_bulk_bytes: 5, ..Limits::default() };
    let reply = b"*3\r\n$5\r\nhello\r\n$6\r\nhello!\r\n:1\r\n";
    let expected = Reply::Array(Some(vec![bulk("hello"), Reply::Oversized(6), Reply::Integer(1)]));
    for size in [1, 3, reply.len()] {
        assert_eq!(read_in_pieces(reply, size, limits), Ok((expected.clone(), reply.len())));
    }
    // Still a bulk string: its CRLF must follow.
    assert_eq!(parse_reply(b"$6\r\nhello!!", &limits), Err(RespError::BadLineEnd));
}

#[test]
fn a_reply_that_would_keep_more_than_the_limit_is_an_error() {
    let limits = Limits { max_reply_bytes: 3 * REPLY_ELEMENT_BYTES + 10, ..Limits::default() };
    // An array and two strings of 5: 3 elements and 10 bytes, at the limit.
    assert!(matches!(parse_reply(b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", &limits), Ok(Parsed::Whole(..))));
    // One byte more, announced: refused before it arrives.
    assert_eq!(parse_reply(b"*2\r\n$5\r\nhello\r\n$6\r\n", &limits), Err(RespError::ReplyTooLarge));
    // Many small elements count too.
    assert_eq!(parse_reply(&b":1\r\n".repeat(9), &limits), Ok(Parsed::Whole(Reply::Integer(1), 4)));
    let many = [b"*9\r\n".as_slice(), &b":1\r\n".repeat(9)].concat();
    assert_eq!(parse_reply(&many, &limits), Err(RespError::ReplyTooLarge));
    // The count starts again with each reply.
    let mut reader = ReplyReader::new(limits);
    for _ in 0..10 {
        assert!(matches!(reader.read(b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n"), Ok((_, Some(_)))));
    }
}
