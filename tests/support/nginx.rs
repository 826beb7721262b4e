//! A real nginx in front of test servers: Debian's nginx on a free
//! loopback port, its own prefix directory, ended by its process group.
//!
//! nginx cannot report a port it picked, so the test picks one, below the
//! kernel's ephemeral range (which `bind(…:0)` and outgoing connections
//! draw from, so no other test's socket takes it in between), and tries
//! another if nginx could not listen on it.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// An nginx master process with its own prefix directory; killed by PID
/// and its directory removed on drop.
pub struct Nginx {
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    /// The directory nginx runs in: a place for files its config names.
    pub fn prefix(&self) -> &std::path::Path {
        &self.prefix
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // A killed master leaves its workers running, so end the whole
        // process group nginx was started in.
        super::kill_process_group(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// Starts `nginx` on a free loopback port with `http_extra` (an
/// `upstream` block, say) in its `http` block and `location` in its server.
pub fn start_nginx(nginx: &str, http_extra: &str, location: &str) -> (Nginx, SocketAddr) {
    start_nginx_servers(nginx, &|port, _| {
        format!("{http_extra}\n  server {{\n    listen 127.0.0.1:{port};\n{location}  }}\n")
    })
}

/// Starts `nginx` with the `http` block's contents that `servers` writes
/// for a free port and nginx's prefix directory (so a block can name
/// files made there before nginx starts: see [`start_nginx_with_files`]).
pub fn start_nginx_servers(
    nginx: &str,
    servers: &dyn Fn(u16, &std::path::Path) -> String,
) -> (Nginx, SocketAddr) {
    start_nginx_with_files(nginx, &|_| {}, servers)
}

/// [`start_nginx_servers`], after `prepare` made files in the prefix
/// directory (a certificate, say).
pub fn start_nginx_with_files(
    nginx: &str,
    prepare: &dyn Fn(&std::path::Path),
    servers: &dyn Fn(u16, &std::path::Path) -> String,
) -> (Nginx, SocketAddr) {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    for _attempt in 0..5 {
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let prefix = std::env::temp_dir().join(format!("ssed-nginx-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(prefix.join("logs")).expect("nginx prefix");
        prepare(&prefix);
        let port = free_port_below_ephemeral_range(n);
        let config = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/logs/error.log warn;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
             \x20 fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
             \x20 {servers}\n}}\n",
            prefix = prefix.display(),
            servers = servers(port, &prefix),
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
        let mut nginx_process = Nginx { child, prefix };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = nginx_process.child.try_wait() {
                // Most likely the port was taken after all: try another.
                let log =
                    std::fs::read_to_string(nginx_process.prefix.join("logs/error.log")).unwrap_or_default();
                assert!(log.contains("Address already in use"), "nginx exited ({status}): {log}");
                break;
            }
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return (nginx_process, addr);
            }
            assert!(started.elapsed() < Duration::from_secs(5), "nginx not listening on {addr} within 5 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    panic!("nginx found no free port in 5 attempts");
}

/// A loopback port that is free now and below the kernel's ephemeral
/// range, so that nothing in this machine's tests is handed it by
/// `bind(…:0)` or an outgoing connection before nginx binds it.
fn free_port_below_ephemeral_range(attempt: usize) -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let low = 10_000u16.min(ephemeral_low / 2);
    let span = usize::from(ephemeral_low - low);
    // Spread the test processes that run at once over the range.
    let start = (std::process::id() as usize * 7919 + attempt * 104_729) % span;
    (0..span)
        .map(|step| low + ((start + step * 61) % span) as u16)
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the ephemeral range")
}
