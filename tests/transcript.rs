//! README.md's `curl -N` transcript is what the server really sends.

mod support;

use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

use support::{read_to_close, read_until, start};

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
    let server = start(|config| config.timeouts.interval = std::time::Duration::from_millis(20));
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

/// The log block of README.md, one line per element.
fn readme_log_lines() -> Vec<String> {
    let readme = include_str!("../README.md");
    let start = readme.find("<!-- log:start -->").expect("log start marker");
    let end = readme.find("<!-- log:end -->").expect("log end marker");
    let block = readme[start..end].split_once("```text\n").expect("text fence").1;
    let block = block.rsplit_once("```").expect("closing fence").0;
    block.lines().map(str::to_owned).collect()
}

/// Masks what changes from run to run: ports, seconds, event counts.
fn mask_log_line(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut masked = Vec::new();
    for (at, word) in words.iter().enumerate() {
        let next_is =
            |unit: &str| words.get(at + 1).is_some_and(|next| next.trim_end_matches([',', ':']) == unit);
        let masked_word = if let Some((before, port)) = word.split_once("127.0.0.1:") {
            let digits = port.chars().take_while(char::is_ascii_digit).count();
            format!("{before}127.0.0.1:<port>{}", &port[digits..])
        } else if word.parse::<f64>().is_ok() && (next_is("s") || next_is("events")) {
            "<n>".to_owned()
        } else {
            (*word).to_owned()
        };
        masked.push(masked_word);
    }
    masked.join(" ")
}

#[test]
fn readme_log_lines_are_what_the_binary_prints() {
    let server = support::run_binary(&[]);
    let mut printed = vec![server.banner.clone()];
    // Every line, kept in order, until one holds `needle`.
    let mut collect_until = |needle: &str| loop {
        let line = server.stderr.recv_timeout(support::IO_TIMEOUT).expect("a log line");
        let found = line.contains(needle);
        printed.push(line);
        if found {
            break;
        }
    };
    let mut stream = support::connect(server.addr);
    stream.write_all(&support::get("/sse")).expect("send");
    read_until(&mut stream, "id: 3\n", 1);
    stream.shutdown(Shutdown::Write).expect("FIN");
    read_to_close(&mut stream);
    collect_until("left after");
    let not_found = support::exchange_addr(server.addr, &support::get("/nope"));
    assert!(not_found.starts_with("HTTP/1.1 404"), "{not_found}");
    // A connection's line comes after its lingering close, which ends when
    // the client has gone: wait for it before the next request logs.
    collect_until("GET /nope");
    let publish = support::exchange_addr(
        server.addr,
        b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(publish.starts_with("HTTP/1.1 404"), "{publish}");
    // The same mistake again is answered the same, but logged only once.
    support::exchange_addr(server.addr, b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");

    collect_until("POST /publish ->");
    collect_until("POST /publish ->");
    let expected = readme_log_lines();
    let printed: Vec<String> = printed.iter().map(|line| mask_log_line(line)).collect();
    let expected: Vec<String> = expected.iter().map(|line| mask_log_line(line)).collect();
    assert_eq!(printed[..expected.len()], expected[..]);
    // The second publish added its own 404 line, and no second "publishing is off".
    assert_eq!(printed.len(), expected.len() + 1, "{printed:#?}");
    assert!(printed[expected.len()].ends_with("POST /publish -> 404 not found"), "{printed:#?}");
}

/// Puts `<id>` where an event id (`RUN-SEQ`) stands.
fn mask_ids(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (prefix, rest) = line.split_once("id: ").map_or(("", line), |(before, id)| (before, id));
            let candidate = rest.trim_end();
            let is_id = candidate.split_once('-').is_some_and(|(run, seq)| {
                !run.is_empty()
                    && !seq.is_empty()
                    && (run.to_owned() + seq).bytes().all(|byte| byte.is_ascii_digit())
            });
            if is_id {
                let prefix = if line.starts_with("id: ") { "id: " } else { prefix };
                format!("{prefix}<id>{}", &rest[candidate.len()..])
            } else {
                line.to_owned()
            }
        })
        .collect()
}

#[test]
fn readme_topics_transcript_is_what_curl_and_the_server_do() {
    if !support::have_program("curl", "--version") {
        return;
    }
    let readme = include_str!("../README.md");
    let start_at = readme.find("<!-- topics:start -->").expect("topics start marker");
    let end_at = readme.find("<!-- topics:end -->").expect("topics end marker");
    let mut blocks = readme[start_at..end_at]
        .split("```text\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or(""));
    let commands = blocks.next().expect("commands block");
    let shown = blocks.next().expect("stream block");

    let server = start(|config| config.events.publish_token = Some(ssed::Secret("s3cret".to_owned())));
    let mut lines = commands.lines();
    let subscribe = lines.next().and_then(|line| line.strip_prefix("$ curl -N ")).expect("the curl -N line");
    let path = subscribe.trim_matches('\'').replace("http://127.0.0.1:8080", "");
    let mut stream = server.connect();
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).expect("send");
    read_until(&mut stream, "retry: 3000\n\n", 1);
    support::eventually(std::time::Duration::from_secs(2), "subscribed", || {
        server.handle.live_streams() == 1
    });
    let mut expected_answers = Vec::new();
    let mut answers = Vec::new();
    while let Some(line) = lines.next() {
        let command = line.strip_prefix("$ ").expect("a command line");
        expected_answers.push(lines.next().expect("its answer").to_owned());
        let command = command
            .replacen("curl ", "curl -sS --max-time 5 ", 1)
            .replace("127.0.0.1:8080", &server.addr.to_string());
        let output = std::process::Command::new("bash").args(["-c", &command]).output().expect("run bash");
        assert!(output.status.success(), "{command}: {output:?}");
        answers.push(String::from_utf8_lossy(&output.stdout).trim_end().to_owned());
    }
    assert_eq!(mask_ids(&answers.join("\n")), mask_ids(&expected_answers.join("\n")));
    // The last publish was to a room nobody here follows: after the second
    // event, the next bytes are a keep-alive at most.
    let wire = read_until(&mut stream, "data: 21.5\n\n", 1);
    let wire = wire.split_once("retry: 3000\n\n").map_or(wire.as_str(), |(_, rest)| rest);
    assert_eq!(mask_ids(&format!("retry: 3000\n\n{wire}")), mask_ids(shown));
    stream.set_read_timeout(Some(std::time::Duration::from_millis(300))).expect("timeout");
    let mut after = [0u8; 512];
    if let Ok(read) = std::io::Read::read(&mut stream, &mut after) {
        let after = String::from_utf8_lossy(&after[..read]);
        assert!(!after.contains("not for you"), "{after}");
    }
}

/// The ```text blocks between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn readme_blocks(name: &str) -> Vec<&'static str> {
    let readme = include_str!("../README.md");
    let start_at = readme.find(&format!("<!-- {name}:start -->")).expect("start marker");
    let end_at = readme.find(&format!("<!-- {name}:end -->")).expect("end marker");
    readme[start_at..end_at]
        .split("```text\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap_or(""))
        .collect()
}

/// `NAME` of a shell line `NAME=…` or `export NAME=…`.
fn assigned_name(command: &str) -> Option<&str> {
    let (name, _) = command.strip_prefix("export ").unwrap_or(command).split_once('=')?;
    name.bytes().all(|byte| byte.is_ascii_uppercase() || byte == b'_').then_some(name)
}

/// A `curl -N` of the transcript, running until the test ends.
struct Following {
    curl: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Following {
    /// What it received, keep-alive comments aside, once it holds as many
    /// lines as `shown`, or what it holds after 5 s.
    fn received_like(&self, shown: &str) -> String {
        let wanted = shown.lines().filter(|line| !line.is_empty()).count();
        let deadline = std::time::Instant::now() + support::IO_TIMEOUT;
        let mut received = Vec::new();
        while received.iter().filter(|line: &&String| !line.is_empty()).count() < wanted {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else { break };
            if line.starts_with(':') {
                continue; // a keep-alive, and the blank line after it comes next
            }
            received.push(line);
        }
        let text = received.join("\n");
        // A keep-alive leaves its blank line: blank lines come in ones.
        let mut text = text.replace("\n\n\n", "\n\n");
        while text.contains("\n\n\n") {
            text = text.replace("\n\n\n", "\n\n");
        }
        text.trim_start_matches('\n').to_owned() + "\n\n"
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        // curl was exec'd in its own process group, started here.
        support::kill_process_group(&mut self.curl);
    }
}

/// Puts `<date>` in a `Date:` header line.
fn mask_date(text: &str) -> String {
    text.lines()
        .map(|line| if line.starts_with("Date: ") { "Date: <date>" } else { line })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn readme_tokens_transcript_is_what_ssed_token_curl_and_the_server_do() {
    use std::os::unix::process::CommandExt;
    if !support::have_program("curl", "--version") || !support::have_program("openssl", "version") {
        return;
    }
    let blocks = readme_blocks("tokens");
    let [commands, with_token, without_token] = blocks[..] else { panic!("three blocks: {blocks:?}") };
    // `ssed` in the README is the binary this test run built.
    let prelude = format!("ssed() {{ '{}' \"$@\"; }}; ", support::SSED);
    let mut environment: Vec<(String, String)> = Vec::new();
    let mut server: Option<support::Running> = None;
    let mut following: Vec<Following> = Vec::new();
    let mut lines = commands.lines().peekable();
    while let Some(line) = lines.next() {
        let command = line.strip_prefix("$ ").unwrap_or_else(|| panic!("not a command: {line}"));
        let mut expected = Vec::new();
        while let Some(answer) = lines.next_if(|next| !next.starts_with("$ ")) {
            expected.push(answer);
        }
        let bash = |script: &str| {
            std::process::Command::new("bash")
                .args(["-c", &format!("{prelude}{script}")])
                .envs(environment.iter().map(|(name, value)| (name, value)))
                .output()
                .expect("run bash")
        };
        if command == "ssed &" {
            let mut ssed = std::process::Command::new(support::SSED);
            ssed.args(["--addr", "127.0.0.1:0"]).envs(environment.iter().map(|(name, value)| (name, value)));
            server = Some(support::run_command(ssed));
            continue;
        }
        if let Some(name) = assigned_name(command) {
            let output = bash(&format!("{command}; printf %s \"${name}\""));
            assert!(output.status.success(), "{command}: {output:?}");
            let value = String::from_utf8(output.stdout).expect("UTF-8");
            assert!(!value.is_empty(), "{command} set nothing");
            environment.push((name.to_owned(), value));
            continue;
        }
        let addr = server.as_ref().expect("ssed started before curl").addr;
        let command = command.replace("127.0.0.1:8080", &addr.to_string());
        if let Some(rest) = command.strip_prefix("curl -N ") {
            let mut curl = std::process::Command::new("bash");
            curl.args(["-c", &format!("exec curl -sS -N --max-time 30 {rest}")])
                .envs(environment.iter().map(|(name, value)| (name, value)))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .process_group(0);
            let mut curl = curl.spawn().expect("start curl");
            let lines = support::lines_of(curl.stdout.take().expect("piped stdout"));
            following.push(Following { curl, lines });
            // Subscribed once the server counts it: then no publish can pass it by.
            let streams = following.len();
            support::eventually(Duration::from_secs(5), "curl -N subscribed", || {
                let metrics = support::exchange_addr(addr, &support::get("/metrics"));
                metrics.contains(&format!("\nssed_streams_live {streams}\n"))
            });
            continue;
        }
        let output = bash(&command.replacen("curl ", "curl -sS --max-time 5 ", 1));
        assert!(output.status.success(), "{command}: {output:?}");
        let answer = String::from_utf8_lossy(&output.stdout).replace('\r', "");
        assert_eq!(
            mask_ids(&mask_date(answer.trim_end())),
            mask_ids(&mask_date(&expected.join("\n"))),
            "{command}"
        );
    }
    let [reader, anonymous] = &following[..] else { panic!("two curl -N in the transcript") };
    assert_eq!(mask_ids(&reader.received_like(with_token)), mask_ids(with_token));
    // Events arrive in publish order: had the private one reached this
    // stream, it would stand before the public one.
    assert_eq!(mask_ids(&anonymous.received_like(without_token)), mask_ids(without_token));
}
