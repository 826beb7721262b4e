//! TLS and HTTP/2 in front of ssed: nginx with exactly the block of
//! docs/operations.md's "TLS and HTTP/2", a certificate this test makes
//! with `openssl`, and two real clients through it: `curl -N --cacert`,
//! and Chromium trusting that one certificate's key. Skipped with a note
//! where a program is missing; required in CI.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::browser::Browser;
use support::nginx::{start_nginx_with_files, Nginx};
use support::{find_program, start, TestServer};

/// The nginx block of docs/operations.md's "TLS and HTTP/2".
fn tls_server_block() -> String {
    let page = include_str!("../docs/operations.md");
    let section = page.split("## TLS and HTTP/2").nth(1).expect("the TLS section");
    let block = section.split("```nginx\n").nth(1).expect("an nginx block");
    block.split("```").next().expect("block end").to_owned()
}

/// Makes a self-signed certificate for 127.0.0.1 in `dir`.
fn make_certificate(openssl: &str, dir: &Path) {
    let status = Command::new(openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl req -x509: {status}");
}

/// The base64 SHA-256 of the certificate's public key: what Chromium's
/// `--ignore-certificate-errors-spki-list` trusts, and nothing else.
fn spki_sha256(openssl: &str, dir: &Path) -> String {
    let script = format!(
        "{openssl} x509 -pubkey -noout -in cert.pem | {openssl} pkey -pubin -outform der \
         | {openssl} dgst -sha256 -binary | {openssl} base64 -A"
    );
    let output =
        Command::new("sh").args(["-c", &script]).current_dir(dir).output().expect("run openssl through sh");
    assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("base64").trim().to_owned()
}

/// ssed behind nginx with TLS and HTTP/2: the server, nginx, its address.
fn behind_tls(nginx: &str, openssl: &str) -> (TestServer, Nginx, std::net::SocketAddr) {
    let server = start(|config| config.events.publish_token = Some(ssed::Secret("tls-token".to_owned())));
    let upstream = server.addr.to_string();
    let (nginx, proxy) =
        start_nginx_with_files(nginx, &|prefix| make_certificate(openssl, prefix), &|port, prefix| {
            let prefix = prefix.display();
            tls_server_block()
                .replace("listen 443 ", &format!("listen 127.0.0.1:{port} "))
                .replace(
                    "/etc/letsencrypt/live/events.example.org/fullchain.pem",
                    &format!("{prefix}/cert.pem"),
                )
                .replace("/etc/letsencrypt/live/events.example.org/privkey.pem", &format!("{prefix}/key.pem"))
                .replace("127.0.0.1:8080", &upstream)
        });
    (server, nginx, proxy)
}

#[test]
fn curl_receives_events_over_tls_and_http2() {
    let (Some(nginx), Some(openssl), Some(curl)) =
        (find_program("nginx", "-v"), find_program("openssl", "version"), find_program("curl", "--version"))
    else {
        return;
    };
    let (server, nginx, proxy) = behind_tls(&nginx, &openssl);
    let mut child = Command::new(&curl)
        .args(["-sS", "-N", "-i", "--http2", "--max-time", "20", "--cacert"])
        .arg(nginx.prefix().join("cert.pem"))
        .arg(format!("https://{proxy}/events"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start curl");
    let lines = support::lines_of(child.stdout.take().expect("piped stdout"));
    let status_line = support::wait_for_line(&lines, "HTTP/");
    support::eventually(Duration::from_secs(10), "curl's stream at ssed", || {
        server.handle.live_streams() == 1
    });
    let id = server.handle.publisher().publish(Some("reading"), "over tls").expect("publish");
    let id_line = support::wait_for_line(&lines, "id: ");
    let data_line = support::wait_for_line(&lines, "data: ");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status_line.trim_end(), "HTTP/2 200", "curl spoke HTTP/2 through nginx");
    assert_eq!(id_line, format!("id: {id}"));
    assert_eq!(data_line, "data: over tls");
}

#[test]
fn chromium_loads_the_demo_over_h2_and_holds_ten_streams_in_one_tab() {
    let (Some(nginx), Some(openssl)) = (find_program("nginx", "-v"), find_program("openssl", "version"))
    else {
        return;
    };
    let (server, nginx, proxy) = behind_tls(&nginx, &openssl);
    let trusted = spki_sha256(&openssl, nginx.prefix());
    let flags = [format!("--ignore-certificate-errors-spki-list={trusted}")];
    let Some(mut browser) = Browser::open_with_flags(&format!("https://{proxy}/"), &flags) else { return };
    assert_eq!(browser.eval("performance.getEntriesByType('navigation')[0].nextHopProtocol"), "h2");
    browser.wait_until(
        Duration::from_secs(10),
        "the demo page's streams open, pings arriving",
        "document.getElementById('events-state').textContent.startsWith('open') && \
         Number(document.getElementById('pings-count').textContent) >= 2",
    );
    server
        .handle
        .publisher()
        .on_topic("room/a")
        .expect("topic")
        .publish(None, "through tls")
        .expect("publish");
    browser.wait_until(
        Duration::from_secs(5),
        "the published event on the page",
        "document.getElementById('events-log').textContent.includes('through tls')",
    );

    // Eight more streams from the same tab: ten in all, past the six
    // connections HTTP/1.1 would allow, all open at once over one HTTP/2
    // connection.
    browser.eval(
        "window.extra = { open: 0, pings: 0 };
         for (let i = 0; i < 8; i++) {
             const source = new EventSource('/sse');
             source.onopen = () => extra.open++;
             source.addEventListener('ping', () => extra.pings++);
         }
         'opened'",
    );
    browser.wait_until(
        Duration::from_secs(10),
        "eight more streams open",
        "extra.open === 8 && extra.pings >= 8",
    );
    assert_eq!(server.handle.live_streams(), 10);
}
