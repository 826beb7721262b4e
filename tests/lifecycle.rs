//! How streams end, how places are counted and given back, and what a full
//! server answers.

mod support;

use std::io::Write;
use std::net::Shutdown;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::{eventually, exchange, get, open_stream, read_to_close, read_until, start, status_of, SSED};

const INTERVAL: Duration = Duration::from_millis(500);

#[test]
fn client_fin_ends_the_stream_within_two_intervals() {
    let server = start(|_| {});
    let mut stream = open_stream(&server, "/sse");
    read_until(&mut stream, "data: ", 1);
    eventually(Duration::from_secs(1), "stream counted", || server.handle.live_streams() == 1);

    stream.shutdown(Shutdown::Write).expect("send FIN");
    let left = Instant::now();
    // The server closes its side too: we read to EOF.
    read_to_close(&mut stream);
    assert!(left.elapsed() < 2 * INTERVAL, "server closed after {:?}", left.elapsed());
    eventually(2 * INTERVAL, "stream and slot given back", || {
        server.handle.live_streams() == 0 && server.handle.live_connections() == 0
    });
}

#[test]
fn client_reset_ends_the_stream_within_two_intervals() {
    let server = start(|config| config.timeouts.interval = Duration::from_millis(20));
    let mut streams: Vec<_> = (0..5).map(|_| open_stream(&server, "/messages")).collect();
    for stream in &mut streams {
        read_until(stream, "data: ", 1);
    }
    eventually(Duration::from_secs(1), "five streams", || server.handle.live_streams() == 5);
    // Close with unread frames: a socket closed with unread input sends RST
    // instead of FIN. (`peek` waits for the first unread byte.)
    let mut pending = [0u8; 1];
    assert!(streams[0].peek(&mut pending).expect("peek") > 0, "unread data makes the close a reset");
    drop(streams);
    eventually(2 * INTERVAL, "all five reclaimed", || {
        server.handle.live_streams() == 0 && server.handle.live_connections() == 0
    });
}

#[test]
fn over_max_clients_a_stream_is_told_to_retry_and_the_server_stays_up() {
    let server = start(|config| {
        config.limits.max_clients = 2;
        config.timeouts.retry = Duration::from_millis(1500);
    });
    let first = open_stream(&server, "/sse");
    let _second = open_stream(&server, "/sse");
    eventually(Duration::from_secs(1), "two streams", || server.handle.live_streams() == 2);

    for _ in 0..3 {
        let started = Instant::now();
        let answer = support::exchange(&server, &support::get("/sse"));
        assert!(started.elapsed() < Duration::from_secs(1), "refusal took {:?}", started.elapsed());
        // 200 so that a browser's EventSource retries instead of giving up.
        assert_eq!(status_of(&answer), 200, "{answer}");
        assert!(answer.contains("\r\nContent-Type: text/event-stream\r\n"), "{answer}");
        assert!(answer.contains("\r\nRetry-After: 1\r\n"), "{answer}");
        let body = answer.split_once("\r\n\r\n").expect("head end").1;
        assert_eq!(
            body,
            "retry: 1500\n\n: ssed is busy (server full, 2 of 2 streams in use); retry in 1500 ms\n\n"
        );
        assert!(!body.contains("data:"), "no event is delivered: {body}");
    }
    // Short requests still get through while the streams are full.
    let health = support::exchange(&server, &support::get("/healthz"));
    assert!(health.ends_with("\r\n\r\nok\nevents: memory\n"), "{health}");

    drop(first);
    eventually(2 * INTERVAL, "a place frees", || server.handle.live_streams() == 1);
    let mut third = open_stream(&server, "/sse");
    let answer = read_until(&mut third, "data: ", 1);
    assert!(answer.contains("event: ping"), "{answer}");
}

#[test]
fn beyond_streams_and_pending_only_stream_requests_get_the_busy_stream() {
    let server = start(|config| {
        config.limits.max_clients = 1;
        config.limits.max_pending = 1;
        config.events.publish_token = Some(ssed::Secret("t0ken".to_owned()));
    });
    let stream = open_stream(&server, "/sse");
    let silent = server.connect(); // holds the one pending place
    eventually(Duration::from_secs(1), "both places taken", || server.handle.live_connections() == 2);

    // A stream request gets the 200 busy stream, so a browser retries.
    let started = Instant::now();
    let answer = support::exchange(&server, &support::get("/events"));
    assert!(started.elapsed() < Duration::from_secs(2), "refusal took {:?}", started.elapsed());
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.ends_with(": ssed is busy (server full, 2 of 2 connections in use); retry in 3000 ms\n\n"),
        "{answer}"
    );
    // Anything else gets 503 with Retry-After: never a 200 it did not earn.
    for request in [
        support::get("/healthz"),
        support::get("/metrics"),
        b"HEAD /sse HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(),
        b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n".to_vec(),
        b"POST /publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer t0ken\r\nContent-Length: 2\r\n\r\nhi"
            .to_vec(),
    ] {
        let answer = support::exchange(&server, &request);
        assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{answer}");
        assert!(answer.contains("\r\nRetry-After: 3\r\n"), "{answer}");
    }
    // None of those publishes was published.
    drop((stream, silent));
    eventually(Duration::from_secs(8), "places free again", || server.handle.live_connections() == 0);
    assert_eq!(support::metric(&server, "ssed_events_published_total"), 0);
}

#[test]
fn shutdown_ends_streams_and_stops_accepting() {
    let server = start(|config| config.timeouts.interval = Duration::from_millis(50));
    let mut stream = open_stream(&server, "/sse");
    read_until(&mut stream, "data: ", 1);
    let addr = server.addr;
    let handle = server.handle.clone();
    drop(server); // shuts down and joins the accept loop
    read_to_close(&mut stream);
    eventually(Duration::from_secs(1), "streams ended", || handle.live_streams() == 0);
    // The listener is closed with the accept loop: a new connection is refused.
    let late = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    let refused = late.as_ref().map_err(std::io::Error::kind);
    assert_eq!(refused.err(), Some(std::io::ErrorKind::ConnectionRefused), "{late:?}");
}

#[test]
fn many_streams_at_once_each_get_their_own_thread() {
    let server = start(|config| config.timeouts.interval = Duration::from_millis(100));
    let mut streams: Vec<_> = (0..50).map(|_| open_stream(&server, "/sse")).collect();
    for stream in &mut streams {
        read_until(stream, "id: 2\n", 1);
    }
    assert_eq!(server.handle.live_streams(), 50);
    for stream in &streams {
        stream.shutdown(Shutdown::Write).expect("FIN");
    }
    drop(streams);
    eventually(2 * INTERVAL, "all 50 reclaimed", || server.handle.live_connections() == 0);
}

#[test]
fn a_client_that_stops_reading_is_dropped_by_the_write_timeout() {
    // Pings as fast as the loop can write fill the socket buffers in a
    // moment; at 500 ms that would take hours.
    let server = start(|config| {
        config.timeouts.interval = Duration::from_micros(1);
        config.timeouts.write_timeout = Duration::from_millis(300);
    });
    let stalled = open_stream(&server, "/sse");
    eventually(Duration::from_secs(1), "stream counted", || server.handle.live_streams() == 1);

    // The stalled client still holds its socket open, sends no FIN or RST:
    // only the write timeout can end its stream.
    eventually(Duration::from_secs(10), "stalled stream dropped", || server.handle.live_streams() == 0);
    eventually(Duration::from_secs(2), "slot given back", || server.handle.live_connections() == 0);
    assert_eq!(support::metric(&server, "ssed_disconnects_total{reason=\"stopped_reading\"}"), 1);

    // Meanwhile the server serves others.
    let mut other = open_stream(&server, "/messages");
    read_until(&mut other, "id: 100\n", 1);
    drop(stalled);
}

#[test]
fn a_thread_the_os_refuses_is_answered_and_the_server_goes_on() {
    // No machine here can map a 1 TiB stack, so every spawn fails.
    let server = start(|config| config.limits.stack_size = 1 << 40);
    for _ in 0..3 {
        let answer = support::exchange(&server, &support::get("/sse"));
        assert_eq!(status_of(&answer), 200, "{answer}");
        assert!(answer.contains(": ssed is busy (could not start a thread: "), "{answer}");
        assert!(answer.contains("\nretry: 3000\n"), "{answer}");
    }
    assert_eq!(server.handle.live_connections(), 0);
}

#[test]
fn a_flooding_client_never_holds_the_accept_loop_of_a_full_server() {
    let server = start(|config| {
        config.limits.max_clients = 1;
        config.limits.max_pending = 1;
    });
    let _stream = support::open_stream(&server, "/sse");
    let _silent = server.connect();
    support::eventually(Duration::from_secs(1), "places taken", || server.handle.live_connections() == 2);
    // A turned-away client that never stops sending.
    let addr = server.addr;
    let flooder = thread::spawn(move || {
        let mut flood = support::connect(addr);
        let _ = flood.set_write_timeout(Some(Duration::from_millis(200)));
        let chunk = vec![b'a'; 64 * 1024];
        let started = Instant::now();
        let _ = flood.write_all(b"POST /publish HTTP/1.1\r\nHost: t\r\nContent-Length: 999999999\r\n\r\n");
        while started.elapsed() < Duration::from_secs(3) {
            if flood.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    // The flood holds the one pending place once the server counts it.
    eventually(Duration::from_secs(5), "the flood's connection", || server.handle.live_connections() == 2);
    let started = Instant::now();
    let answer = exchange(&server, &get("/events"));
    assert!(answer.contains("ssed is busy"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    flooder.join().expect("flooder");
}

#[test]
fn max_clients_is_fitted_under_the_open_file_limit_and_beyond_it_clients_are_refused() {
    // 150 files less the 64 ssed keeps: 86 connections, of which a quarter
    // (21) stay for pending requests and 65 are stream places.
    let mut command = Command::new("sh");
    command.args([
        "-c",
        &format!("ulimit -n 150 && exec {SSED} --addr 127.0.0.1:0 --max-clients 1000 --interval 200"),
    ]);
    let server = support::run_command(command);
    let lowered = support::wait_for_line(&server.stderr, "lowered");
    assert!(
        lowered.contains(
            "--max-clients 1000 lowered: 86 connections at most, by the open-file limit (ulimit -n 150)"
        ),
        "{lowered}"
    );
    assert!(lowered.contains("to raise it: ulimit -n"), "{lowered}");
    let metrics = support::exchange_addr(server.addr, &get("/metrics"));
    assert!(metrics.contains("\nssed_max_clients 65\n"), "{metrics}");
    assert!(metrics.contains("\nssed_os_connection_ceiling 86\n"), "{metrics}");

    let mut streams = Vec::new();
    for _ in 0..65 {
        let mut stream = support::connect(server.addr);
        stream.write_all(&get("/sse")).expect("send");
        read_until(&mut stream, "event: ping", 1);
        streams.push(stream);
    }
    // One more is told to retry; short requests still get through.
    let busy = support::exchange_addr(server.addr, &get("/sse"));
    assert!(busy.contains("ssed is busy (server full, 65 of 65 streams in use)"), "{busy}");
    let health = support::exchange_addr(server.addr, &get("/healthz"));
    assert!(health.ends_with("\r\n\r\nok\nevents: memory\n"), "{health}");
    // Every stream is still served.
    for stream in &mut streams {
        read_until(stream, "event: ping", 1);
    }
}

/// Sends a publish of `body_bytes` the way HTTP clients do (the head, then
/// the body in 16 KiB writes), then reads until the server closes: the
/// whole answer, or what went wrong (a failed write, a reset).
fn publish_in_pieces(addr: std::net::SocketAddr, body_bytes: usize) -> Result<String, String> {
    use std::io::Read;
    let mut client = support::connect(addr);
    let head = format!(
        "POST /publish HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer t0ken\r\nContent-Length: {body_bytes}\r\n\r\n"
    );
    client.write_all(head.as_bytes()).map_err(|error| format!("head not sent: {error}"))?;
    let body = vec![b'x'; body_bytes];
    for (n, piece) in body.chunks(16 * 1024).enumerate() {
        client.write_all(piece).map_err(|error| format!("body piece {n} not sent: {error}"))?;
    }
    let mut answer = Vec::new();
    match client.read_to_end(&mut answer) {
        Ok(_) => Ok(String::from_utf8_lossy(&answer).into_owned()),
        Err(error) => Err(format!("{error} after {:?}", String::from_utf8_lossy(&answer))),
    }
}

/// Issue 18, item 17: on a full server the refusal thread answered 503 and
/// closed while the publisher was still sending its body; the unread bytes
/// made the kernel reset the connection, and the publisher's next write
/// failed before it could read the answer. The lingering close reads the
/// body away first, so every one of these publishers reads its whole 503.
#[test]
fn a_full_server_s_503_reaches_every_publisher_still_sending_its_body() {
    let server = support::run_binary(&[
        "--quiet",
        "--max-clients",
        "1",
        "--max-pending",
        "1",
        "--publish-token",
        "t0ken",
        "--head-timeout",
        "60000",
    ]);
    let mut stream = support::connect(server.addr);
    stream.write_all(&get("/sse")).expect("send");
    read_until(&mut stream, "data: ", 1);
    let _silent = support::connect(server.addr); // holds the one pending place
    eventually(Duration::from_secs(5), "both places taken", || {
        status_of(&support::exchange_addr(server.addr, &get("/healthz"))) == 503
    });
    let started = Instant::now();
    let mut failures = Vec::new();
    for round in 0..200 {
        // Within the default --max-event-bytes (64 KiB) and within what
        // the lingering close reads away.
        match publish_in_pieces(server.addr, 60_000) {
            Ok(answer)
                if answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n")
                    && answer.ends_with(
                        "\r\n\r\n503 ssed is busy (server full, 2 of 2 connections in use); retry in 3 s\n",
                    ) => {}
            Ok(answer) => failures.push(format!("round {round}: {answer:?}")),
            Err(problem) => failures.push(format!("round {round}: {problem}")),
        }
        assert!(started.elapsed() < Duration::from_secs(60), "200 refusals took over 60 s");
    }
    assert!(
        failures.is_empty(),
        "{} of 200 lost their answer, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}
