//! The command line: flags, their defaults, and the usage text.

use std::net::SocketAddr;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
usage: loadgen --url http://127.0.0.1:PORT/PATH [flags]
       loadgen --startup PATH-TO-SSED [--port N]   (time from exec to accepting, 20 runs)
       loadgen --publish-for SECONDS --url http://127.0.0.1:PORT/publish --token T [--publish-keep-alive]
                                                    (one publish after another: events/s; each on
                                                    its own connection, or all on one kept open)
       loadgen --open N --url http://127.0.0.1:PORT/events [--bearer T] [--pid PID]
                                                    (N streams opened one after another: µs each)
  --streams N        streams to hold [1000]
  --ramp N           new connections per second [2000]
  --hold SECONDS     how long to hold them all, after the ramp [20]
  --interval MS      the server's ping interval, to count missed frames [500]
  --reader-wake MS   how often an idle stream's reader wakes to see whether the hold
                     is over (its read timeout) [250]; 10,000 readers at 250 ms are
                     40,000 wake-ups a second on the loadgen's core, which show in a
                     publish→receive tail: fanout.sh gives 2000
  --pid PID          the server's process: report RSS, threads, CPU, reclaim
  --close fin|rst    how the clients leave at the end [fin]
  --topics N         spread the streams over N topics t0…t(N-1) (/events?topic=tK);
                     each publish then goes to a random one of them [0: no topics]
  --publish-rate N   events per second to POST to /publish (with --token) [0]
  --publish-keep-alive
                     send those publishes on one kept-alive connection (a new one
                     only when the server closes it or an answer fails), not each
                     on its own connection with Connection: close
  --token TOKEN      bearer token for /publish
  --scrape           also GET /metrics once a second during the hold";

pub(crate) struct Options {
    pub(crate) addr: SocketAddr,
    pub(crate) path: String,
    pub(crate) streams: usize,
    pub(crate) ramp: usize,
    pub(crate) hold: Duration,
    pub(crate) interval: Duration,
    pub(crate) reader_wake: Duration,
    pub(crate) pid: Option<u32>,
    pub(crate) close_with_rst: bool,
    pub(crate) publish_rate: usize,
    pub(crate) topics: usize,
    pub(crate) publish_keep_alive: bool,
    pub(crate) token: Option<String>,
    pub(crate) scrape: bool,
}

pub(crate) fn parse_options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut options = Options {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        path: String::new(),
        streams: 1000,
        ramp: 2000,
        hold: Duration::from_secs(20),
        interval: Duration::from_millis(500),
        reader_wake: Duration::from_millis(250),
        pid: None,
        close_with_rst: false,
        publish_rate: 0,
        topics: 0,
        publish_keep_alive: false,
        token: None,
        scrape: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number =
            |text: String| text.parse::<u64>().map_err(|_| format!("{flag}: {text:?} is not a number"));
        match flag.as_str() {
            "--url" => url = Some(value()?),
            "--streams" => options.streams = number(value()?)?.clamp(1, 30_000) as usize,
            "--ramp" => options.ramp = number(value()?)?.clamp(1, 20_000) as usize,
            "--hold" => options.hold = Duration::from_secs(number(value()?)?.clamp(1, 600)),
            "--interval" => options.interval = Duration::from_millis(number(value()?)?.max(1)),
            "--reader-wake" => {
                options.reader_wake = Duration::from_millis(number(value()?)?.clamp(10, 10_000))
            }
            "--pid" => options.pid = Some(number(value()?)? as u32),
            "--close" => options.close_with_rst = value()? == "rst",
            "--publish-rate" => options.publish_rate = number(value()?)?.clamp(0, 1000) as usize,
            "--topics" => options.topics = number(value()?)?.clamp(0, 100_000) as usize,
            "--publish-keep-alive" => options.publish_keep_alive = true,
            "--token" => options.token = Some(value()?),
            "--scrape" => options.scrape = true,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    let url = url.ok_or(format!("--url is required\n{USAGE}"))?;
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    options.addr = authority.parse().map_err(|_| format!("{authority:?} is not an IP:port"))?;
    // Load goes to this machine only.
    if !options.addr.ip().is_loopback() {
        return Err(format!("{} is not a loopback address", options.addr.ip()));
    }
    options.path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
    Ok(options)
}

/// The address in `authority` ("127.0.0.1:PORT"), which must be loopback:
/// the loadgen talks to nothing else. Exits with a clear line otherwise.
pub(crate) fn loopback_or_exit(authority: &str) -> SocketAddr {
    match authority.parse() {
        Ok(addr) if SocketAddr::ip(&addr).is_loopback() => addr,
        _ => {
            eprintln!("loadgen: {authority:?} is not a loopback IP:port");
            std::process::exit(2);
        }
    }
}
