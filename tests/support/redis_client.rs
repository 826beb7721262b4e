//! A small RESP2 client for tests that talk to redis-server themselves
//! (to fill a stream, to break it on purpose). Written apart from ssed's
//! own codec, so that a test does not check ssed against itself, and so
//! that this file builds against any version of ssed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`
    Error(String),
    /// `:1`
    Integer(i64),
    /// `$3\r\nabc`, or `$-1` (none).
    Bulk(Option<Vec<u8>>),
    /// `*2\r\n…`, or `*-1` (none).
    Array(Option<Vec<Reply>>),
}

/// Appends `arguments` as one RESP command (an array of bulk strings).
pub fn encode_command(arguments: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", arguments.len()).as_bytes());
    for argument in arguments {
        out.extend_from_slice(format!("${}\r\n", argument.len()).as_bytes());
        out.extend_from_slice(argument);
        out.extend_from_slice(b"\r\n");
    }
}

/// Sends `commands` pipelined on `socket` and reads one reply each.
pub fn call(socket: TcpStream, commands: &[Vec<Vec<u8>>]) -> Vec<Reply> {
    let mut bytes = Vec::new();
    for command in commands {
        let arguments: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
        encode_command(&arguments, &mut bytes);
    }
    (&socket).write_all(&bytes).expect("send commands to redis");
    let mut reader = BufReader::new(socket);
    commands.iter().map(|_| read_reply(&mut reader)).collect()
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    let read = reader.read_line(&mut line).expect("a reply line from redis");
    assert!(read > 0, "redis closed the connection");
    line.trim_end_matches("\r\n").to_owned()
}

fn read_reply(reader: &mut impl BufRead) -> Reply {
    let line = read_line(reader);
    let (kind, rest) = line.split_at(1);
    let number = || rest.parse::<i64>().expect("a number in a reply");
    match kind {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Integer(number()),
        "$" if number() < 0 => Reply::Bulk(None),
        "$" => {
            let mut bulk = vec![0u8; number() as usize + 2];
            reader.read_exact(&mut bulk).expect("a bulk string from redis");
            bulk.truncate(bulk.len() - 2);
            Reply::Bulk(Some(bulk))
        }
        "*" if number() < 0 => Reply::Array(None),
        "*" => Reply::Array(Some((0..number()).map(|_| read_reply(reader)).collect())),
        other => panic!("not a RESP reply: {other}{rest}"),
    }
}
