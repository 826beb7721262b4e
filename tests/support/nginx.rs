//! A real nginx in front of test servers: Debian's nginx on a free
//! loopback port, its own prefix directory, ended by its process group.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An nginx master process with its own prefix directory; killed by PID
/// and its directory removed on drop.
pub struct Nginx {
    child: Child,
    prefix: PathBuf,
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
pub fn start_nginx(nginx: &str, http_extra: &str, location: &str) -> (Nginx, std::net::SocketAddr) {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let prefix = std::env::temp_dir().join(format!("ssed-nginx-{}-{n}", std::process::id()));
    std::fs::create_dir_all(prefix.join("logs")).expect("nginx prefix");
    // A free port: bind one, note it, let it go for nginx.
    let port =
        TcpListener::bind("127.0.0.1:0").and_then(|probe| probe.local_addr()).expect("free port").port();
    let config = format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
         error_log {prefix}/logs/error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n\
         \x20 fastcgi_temp_path {prefix}/fastcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
         \x20 {http_extra}\n  server {{\n    listen 127.0.0.1:{port};\n{location}  }}\n}}\n",
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
    super::eventually(Duration::from_secs(5), "nginx listening", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
    });
    (nginx, addr)
}
