//! README.md's `curl -N` transcript is what the server really sends.

mod support;

use std::io::Write;

use support::{read_until, start};

/// The transcript block of README.md, without the fence and the `$` line.
fn readme_transcript() -> String {
    let readme = include_str!("../README.md");
    let start = readme.find("<!-- transcript:start -->").expect("transcript start marker");
    let end = readme.find("<!-- transcript:end -->").expect("transcript end marker");
    let block = &readme[start..end];
    let body = block.split_once("```text\n").expect("text fence").1;
    let body = body.rsplit_once("```").expect("closing fence").0;
    let (command, transcript) = body.split_once('\n').expect("command line");
    assert_eq!(command, "$ curl -N -i http://127.0.0.1:8080/sse");
    transcript.to_owned()
}

/// Puts placeholders where the wall clock shows, and nowhere else.
fn mask_times(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if line.starts_with("Date: ") {
                "Date: <date>\n".to_owned()
            } else if let Some(time) = line.strip_prefix("data: ") {
                let time = time.trim_end_matches('\n');
                assert!(time.len() == 24 && time.ends_with('Z'), "not a timestamp: {time}");
                "data: <time>\n".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect()
}

#[test]
fn readme_transcript_matches_the_bytes_on_the_wire() {
    let server = start(|config| config.interval = std::time::Duration::from_millis(20));
    let mut stream = server.connect();
    stream
        .write_all(
            b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        )
        .expect("send");
    // Three frames; the head's \r\n\r\n holds no "\n\n".
    let wire = read_until(&mut stream, "\n\n", 3);
    let end = wire.match_indices("\n\n").nth(2).expect("third frame").0 + 2;
    let wire = &wire[..end];

    // The README cannot show CR; every head line ends in CRLF on the wire.
    let (head, body) = wire.split_once("\r\n\r\n").expect("head end");
    assert!(!head.replace("\r\n", "").contains('\r') && !head.replace("\r\n", "").contains('\n'));
    assert!(!body.contains('\r'), "event lines end in LF only");
    let shown = format!("{}\n\n{body}", head.replace("\r\n", "\n"));
    assert_eq!(mask_times(&shown), mask_times(&readme_transcript()));
}
