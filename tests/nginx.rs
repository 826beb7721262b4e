//! Behind Debian's nginx, with nginx's defaults (proxy buffering on, an
//! HTTP/1.0 upstream) and exactly the `location` block README.md shows:
//! frames must arrive on time, not in bursts.

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{find_program, start};

/// The nginx block of docs/operations.md's "Running behind nginx".
fn readme_location_block() -> String {
    let readme = include_str!("../docs/operations.md");
    let section = readme.split("## Running behind nginx").nth(1).expect("nginx section");
    let block = section.split("```nginx\n").nth(1).expect("nginx block");
    block.split("```").next().expect("block end").to_owned()
}

/// An nginx master process with its own prefix directory; killed by PID
/// and its directory removed on drop.
struct Nginx {
    child: Child,
    prefix: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A killed master leaves its workers running, so end the whole
        // process group nginx was started in.
        support::kill_process_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

fn start_nginx(nginx: &str, upstream: std::net::SocketAddr) -> (Nginx, std::net::SocketAddr) {
    let prefix = std::env::temp_dir().join(format!("ssed-nginx-{}", std::process::id()));
    std::fs::create_dir_all(prefix.join("logs")).expect("nginx prefix");
    // A free port: bind one, note it, let it go for nginx.
    let port =
        TcpListener::bind("127.0.0.1:0").and_then(|probe| probe.local_addr()).expect("free port").port();
    let location = readme_location_block().replace("127.0.0.1:8080", &upstream.to_string());
    let config = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
         error_log {prefix}/logs/error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
         \x20 fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
         \x20 server {{\n    listen 127.0.0.1:{port};\n{location}  }}\n}}\n",
        prefix = prefix.display()
    );
    std::fs::write(prefix.join("nginx.conf"), config).expect("write nginx.conf");
    let child = Command::new(nginx)
        .arg("-p")
        .arg(&prefix)
        .arg("-e")
        .arg(prefix.join("logs/error.log"))
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start nginx");
    let nginx = Nginx { child, prefix };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    support::eventually(Duration::from_secs(5), "nginx listening", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
    });
    (nginx, addr)
}

#[test]
fn frames_pass_through_nginx_on_time_not_in_bursts() {
    let Some(nginx) = find_program("nginx", "-v") else {
        return;
    };
    let server = start(|_| {});
    let (_nginx, proxy) = start_nginx(&nginx, server.addr);

    let mut stream = support::connect(proxy);
    let started = Instant::now();
    stream.write_all(b"GET /sse HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    let (seen, arrivals) = support::frame_arrivals(&mut stream, "\ndata: ", 5, started);
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    assert!(seen.contains("Content-Type: text/event-stream"), "{seen}");
    // The default interval is 500 ms. Through nginx the first frame still
    // comes before an interval, and then one per interval: a buffering
    // proxy would hold them back and deliver them in bursts (gaps near 0).
    let interval = Duration::from_millis(500);
    assert!(arrivals[0] < interval, "first frame after {:?}", arrivals[0]);
    for pair in arrivals.windows(2) {
        let gap = pair[1].saturating_sub(pair[0]);
        assert!(gap.abs_diff(interval) <= interval / 2, "gap {gap:?} in {arrivals:?}");
    }
}
