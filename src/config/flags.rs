//! The command line: `--flag value` (or `--flag=value`) words into a
//! [`Config`], each value checked against its range, and the `--help` text.
//!
//! ```text
//! ssed --addr 0.0.0.0:8080 --max-clients 2000 --journal /var/lib/ssed/events
//!   └─► Command::Run(Config { addr: 0.0.0.0:8080, max_clients: 2000, journal: Some(…), … })
//! ssed --interval 0
//!   └─► ArgError("--interval: \"0\" is not a whole number from 1 to 3600000 (milliseconds)")
//! ```

use std::path::PathBuf;
use std::time::Duration;

use super::token_flags::{auth_options, key_file, parse_token_args};
use super::{ArgError, AuthOptions, Command, Config, JournalOptions, RedisOptions, RedisUrl, Secret};

/// What a build without the `redis` feature says to `--redis`.
const WITHOUT_REDIS: &str =
    "--redis: this ssed was built without the Redis link; build it with: cargo build --release --features redis";

/// The `--help` text. A unit test keeps its defaults equal to `Config::default()`.
pub const USAGE: &str = "\
usage: ssed [flags]

A Server-Sent Events server: GET /sse (named pings), GET /messages
(unnamed pings), GET /events[?topic=T…] (published events), GET / (demo page).

flags (default in brackets):
  --addr ADDR              listen address [127.0.0.1:8080]
  --interval MS            time between pings [500]
  --keep-alive MS          /events: a comment after this long without an event [--interval]
  --retry MS               client reconnect time sent in retry: [3000]
  --mercure-heartbeat MS   Mercure streams: a comment after this long idle [40000]
  --max-clients N          streams at once; more are told to retry [512]
  --max-pending N          further connections still sending a request [64]
  --stack-size BYTES       stack per connection thread, k suffix ok [65536]
  --head-timeout MS        time to send the request head, then 408 [5000]
  --write-timeout MS       time a write may block, then drop [10000]
  --max-head-bytes N       request head limit, then 431 [8192]
  --max-target-bytes N     request target limit, then 414 [2048]
  --publish-idle-timeout MS
                           a publishing connection kept open waits this long
                           for its next request, then closes [5000]
  --max-requests-per-connection N
                           requests on one publishing connection [1000]
  --cors-origin ORIGINS    pages that may read answers: * (any, no cookies) [*]
                           or a comma list of origins, with cookies
  --quiet                  no per-connection log lines
  --history N              events kept for Last-Event-ID replay [1024]
  --max-event-bytes N      largest event data to publish, then 413 [65536]
  --publish-token TOKEN    enable POST /publish with this bearer token
                           (or set SSED_PUBLISH_TOKEN, kept out of ps) [none]
  --stdin                  publish each line of standard input as an event
  --stdin-event NAME       event name for --stdin lines [none]
  --stdin-topic TOPIC      topic for --stdin lines [default]
  --stdin-private          --stdin lines are private events
  --max-topics N           topics one /events request may follow [32]
  --journal PATH           keep published events in this file, and replay
                           them after a restart [none: memory only]
  --journal-max-bytes N    journal disk use, k/m suffix ok [64m]
  --fsync                  fdatasync each event before acknowledging it
  --redis URL              share events through a Redis stream:
                           redis://[:PASSWORD@]HOST:PORT[/DB]
                           (or set SSED_REDIS_URL, kept out of ps) [none]
  --redis-stream KEY       the Redis stream's key [ssed]
  --jwt-key-file PATH      HS256 key for tokens (or set SSED_JWT_KEY) [none]
  --jwt-publisher-key-file PATH
                           a key for publishers only (or SSED_JWT_PUBLISHER_KEY)
  --jwt-subscriber-key-file PATH
                           a key for subscribers only (or SSED_JWT_SUBSCRIBER_KEY)
  --jwt-previous-key-file PATH
                           the --jwt-key-file being rotated out: verifies
                           where it served, never signs (or SSED_JWT_PREVIOUS_KEY)
  --no-anonymous           /events without a valid token gets 401
  ssed token --subscribe SEL… --publish SEL… --ttl 1h
                           print a token signed with the configured key
  -h, --help               print this help
  -V, --version            print the version
";

/// Parses the words after the program name, with what `env` adds
/// (`SSED_PUBLISH_TOKEN`, `SSED_REDIS_URL`) where a flag is not given.
///
/// # Errors
///
/// An [`ArgError`] for an unknown flag, a missing value (a next word that
/// starts with `--` is a flag, not a value: write `--flag=--value`), or a
/// value out of its range; the message names the flag and the range.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I, env: &Environment) -> Result<Command, ArgError> {
    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|first| first == "token") {
        args.next();
        return parse_token_args(args, env).map(Command::Token);
    }
    let mut config = Config::default();
    // The journal's and Redis's flags are gathered first: each group exists
    // only when its main flag (or the environment) asks for it.
    let (mut journal_path, mut journal_max_bytes, mut fsync) = (None, None, false);
    let (mut redis_url, mut redis_stream) = (None, None);
    let mut keys = AuthOptions {
        key: None,
        publisher_key: None,
        subscriber_key: None,
        previous_key: None,
        anonymous: true,
    };
    while let Some(arg) = args.next() {
        let (flag, inline_value) = split_flag(arg);
        let mut value = || take_value(&flag, &inline_value, &mut args);
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--quiet" => config.quiet = true,
            "--addr" => {
                let text = value()?;
                config.addr = text.parse().map_err(|_| {
                    ArgError(format!("--addr: {text:?} is not an address like 127.0.0.1:8080 or [::1]:8080"))
                })?;
            }
            "--interval" => config.timeouts.interval = millis(&flag, &value()?, 1, 3_600_000)?,
            "--keep-alive" => config.timeouts.keep_alive = Some(millis(&flag, &value()?, 1, 3_600_000)?),
            "--retry" => config.timeouts.retry = millis(&flag, &value()?, 0, 86_400_000)?,
            "--mercure-heartbeat" => {
                config.timeouts.mercure_heartbeat = millis(&flag, &value()?, 1, 3_600_000)?;
            }
            "--max-clients" => config.limits.max_clients = number(&flag, &value()?, 1, 1_000_000)?,
            "--max-pending" => config.limits.max_pending = number(&flag, &value()?, 1, 1_000_000)?,
            "--stack-size" => config.limits.stack_size = bytes(&flag, &value()?, 16 * 1024, 64 << 20)?,
            "--head-timeout" => config.timeouts.head_timeout = millis(&flag, &value()?, 1, 600_000)?,
            "--write-timeout" => config.timeouts.write_timeout = millis(&flag, &value()?, 1, 600_000)?,
            "--max-head-bytes" => config.limits.max_head_bytes = number(&flag, &value()?, 64, 1 << 20)?,
            "--max-target-bytes" => config.limits.max_target_bytes = number(&flag, &value()?, 1, 1 << 20)?,
            "--publish-idle-timeout" => {
                config.timeouts.publish_idle_timeout = millis(&flag, &value()?, 1, 3_600_000)?;
            }
            "--max-requests-per-connection" => {
                config.limits.max_requests_per_connection = number(&flag, &value()?, 1, 1_000_000_000)?;
            }
            "--cors-origin" => config.cors_origins = cors_origins(&value()?)?,
            "--history" => config.events.history = number(&flag, &value()?, 1, 1_000_000)?,
            "--max-event-bytes" => config.events.max_event_bytes = number(&flag, &value()?, 1, 16 << 20)?,
            "--publish-token" => config.events.publish_token = Some(Secret(value()?)),
            "--stdin" => config.events.stdin = true,
            "--stdin-private" => config.events.stdin_private = true,
            "--stdin-event" => {
                let name = value()?;
                if let Err(error) = crate::proto::sse::SingleLine::new(&name) {
                    return Err(ArgError(format!("--stdin-event: {error}")));
                }
                config.events.stdin_event = Some(name);
            }
            "--stdin-topic" => {
                let topic = value()?;
                if let Err(error) = crate::proto::topic::TopicName::new(&topic) {
                    return Err(ArgError(format!("--stdin-topic: {error}")));
                }
                config.events.stdin_topic = Some(topic);
            }
            "--max-topics" => config.events.max_topics = number(&flag, &value()?, 1, 1024)?,
            "--journal" => {
                let path = value()?;
                if path.is_empty() {
                    return Err(ArgError("--journal needs a file path".to_owned()));
                }
                journal_path = Some(PathBuf::from(path));
            }
            "--journal-max-bytes" => {
                journal_max_bytes = Some(bytes(&flag, &value()?, 16 * 1024, 1 << 40)? as u64);
            }
            "--fsync" => fsync = true,
            "--redis" => {
                let text = value()?;
                redis_url =
                    Some(RedisUrl::parse(&text).map_err(|error| ArgError(format!("--redis: {error}")))?);
            }
            "--redis-stream" => {
                let key = value()?;
                if key.is_empty() || !key.bytes().all(|byte| (0x21..=0x7e).contains(&byte)) {
                    return Err(ArgError(
                        "--redis-stream: a key of printable ASCII without spaces".to_owned(),
                    ));
                }
                redis_stream = Some(key);
            }
            "--jwt-key-file" => keys.key = Some(key_file(&flag, value()?)?),
            "--jwt-publisher-key-file" => keys.publisher_key = Some(key_file(&flag, value()?)?),
            "--jwt-subscriber-key-file" => keys.subscriber_key = Some(key_file(&flag, value()?)?),
            "--jwt-previous-key-file" => keys.previous_key = Some(key_file(&flag, value()?)?),
            "--no-anonymous" => keys.anonymous = false,
            _ => return Err(ArgError(format!("unknown flag {flag:?}"))),
        }
    }
    config.auth = auth_options(keys, env)?;
    if config.events.publish_token.is_none() {
        config.events.publish_token = env.publish_token.clone().map(Secret);
    }
    if let Some(Secret(token)) = &config.events.publish_token {
        if token.is_empty() || !token.bytes().all(|byte| (0x21..=0x7e).contains(&byte)) {
            return Err(ArgError(
                "the publish token must be printable ASCII without spaces (--publish-token or SSED_PUBLISH_TOKEN)"
                    .to_owned(),
            ));
        }
    }
    if config.events.stdin_event.is_some() && !config.events.stdin {
        return Err(ArgError("--stdin-event needs --stdin".to_owned()));
    }
    if config.events.stdin_private && !config.events.stdin {
        return Err(ArgError("--stdin-private needs --stdin".to_owned()));
    }
    if config.events.stdin_topic.is_some() && !config.events.stdin {
        return Err(ArgError("--stdin-topic needs --stdin".to_owned()));
    }
    let redis_url = match (redis_url, env.redis_url.as_deref().filter(|text| !text.is_empty())) {
        (Some(url), _) => Some(url),
        (None, Some(text)) => {
            Some(RedisUrl::parse(text).map_err(|error| ArgError(format!("SSED_REDIS_URL: {error}")))?)
        }
        (None, None) => None,
    };
    if redis_url.is_some() && journal_path.is_some() {
        return Err(ArgError(
            "--redis (or SSED_REDIS_URL) and --journal together: with Redis, the Redis stream keeps the history; choose one"
                .to_owned(),
        ));
    }
    if redis_url.is_some() && !cfg!(feature = "redis") {
        return Err(ArgError(WITHOUT_REDIS.to_owned()));
    }
    if redis_stream.is_some() && redis_url.is_none() {
        return Err(ArgError("--redis-stream needs --redis (or SSED_REDIS_URL)".to_owned()));
    }
    config.redis =
        redis_url.map(|url| RedisOptions { url, stream: redis_stream.unwrap_or_else(|| "ssed".to_owned()) });
    if fsync && journal_path.is_none() {
        return Err(ArgError("--fsync needs --journal".to_owned()));
    }
    if journal_max_bytes.is_some() && journal_path.is_none() {
        return Err(ArgError("--journal-max-bytes needs --journal".to_owned()));
    }
    config.journal = journal_path.map(|path| JournalOptions {
        max_bytes: journal_max_bytes.unwrap_or(JournalOptions::at(&path).max_bytes),
        fsync,
        path,
    });
    let limits = &config.limits;
    if limits.max_target_bytes >= limits.max_head_bytes {
        return Err(ArgError(format!(
            "--max-target-bytes ({}) must be below --max-head-bytes ({})",
            limits.max_target_bytes, limits.max_head_bytes
        )));
    }
    Ok(Command::Run(Box::new(config)))
}

/// What the environment adds to the command line: the values that are
/// secrets, so that they need not appear in `ps`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `SSED_PUBLISH_TOKEN`: used when `--publish-token` is not given.
    pub publish_token: Option<String>,
    /// `SSED_REDIS_URL`: used when `--redis` is not given.
    pub redis_url: Option<String>,
    /// `SSED_JWT_KEY`: used when `--jwt-key-file` is not given.
    pub jwt_key: Option<Secret>,
    /// `SSED_JWT_PUBLISHER_KEY`.
    pub jwt_publisher_key: Option<Secret>,
    /// `SSED_JWT_SUBSCRIBER_KEY`.
    pub jwt_subscriber_key: Option<Secret>,
    /// `SSED_JWT_PREVIOUS_KEY`.
    pub jwt_previous_key: Option<Secret>,
}

impl Environment {
    /// The variables of this process.
    pub fn of_process() -> Environment {
        let secret = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty()).map(Secret);
        Environment {
            publish_token: std::env::var("SSED_PUBLISH_TOKEN").ok(),
            redis_url: std::env::var("SSED_REDIS_URL").ok(),
            jwt_key: secret("SSED_JWT_KEY"),
            jwt_publisher_key: secret("SSED_JWT_PUBLISHER_KEY"),
            jwt_subscriber_key: secret("SSED_JWT_SUBSCRIBER_KEY"),
            jwt_previous_key: secret("SSED_JWT_PREVIOUS_KEY"),
        }
    }
}

/// The value of `flag`: written after `=`, or the next word, unless that
/// looks like a flag. Then the value was left out (`--publish-token
/// --quiet`), and taking the flag as the value would lose it silently; a
/// value that does start with `--` can still be given as `--flag=--value`.
/// `--flag=value` as the flag and its value; any other word as itself.
pub(super) fn split_flag(arg: String) -> (String, Option<String>) {
    match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
        _ => (arg, None),
    }
}

pub(super) fn take_value<I: Iterator<Item = String>>(
    flag: &str,
    inline_value: &Option<String>,
    args: &mut std::iter::Peekable<I>,
) -> Result<String, ArgError> {
    if let Some(value) = inline_value.clone().or_else(|| args.next_if(|next| !next.starts_with("--"))) {
        return Ok(value);
    }
    Err(ArgError(match args.peek() {
        Some(next) => format!(
            "{flag} needs a value, not the flag {next:?} (for a value that starts with --, write {flag}=VALUE)"
        ),
        None => format!("{flag} needs a value"),
    }))
}

/// `--cors-origin`: `*`, or a comma list of origins such as
/// `https://app.example,http://localhost:3000`.
fn cors_origins(text: &str) -> Result<Vec<String>, ArgError> {
    let origins: Vec<String> = text.split(',').map(str::to_owned).collect();
    for origin in &origins {
        let printable = origin.bytes().all(|byte| (0x21..=0x7e).contains(&byte));
        if origin.is_empty() || !printable {
            return Err(ArgError(format!(
                "--cors-origin: {origin:?} must be printable ASCII without spaces, e.g. * or https://example.org"
            )));
        }
    }
    if origins.len() > 1 && origins.iter().any(|origin| origin == "*") {
        return Err(ArgError(
            "--cors-origin: * stands alone (any page, no cookies), not in a list".to_owned(),
        ));
    }
    Ok(origins)
}

fn number(flag: &str, text: &str, min: usize, max: usize) -> Result<usize, ArgError> {
    match text.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ArgError(format!("{flag}: {text:?} is not a whole number from {min} to {max}"))),
    }
}

fn millis(flag: &str, text: &str, min: usize, max: usize) -> Result<Duration, ArgError> {
    let ms = number(flag, text, min, max).map_err(|error| ArgError(format!("{error} (milliseconds)")))?;
    Ok(Duration::from_millis(ms as u64))
}

/// Bytes, or KiB and MiB with a `k` or `m` suffix (`64k` = 65536).
fn bytes(flag: &str, text: &str, min: usize, max: usize) -> Result<usize, ArgError> {
    let (digits, unit) = match (text.strip_suffix(['k', 'K']), text.strip_suffix(['m', 'M'])) {
        (Some(digits), _) => (digits, 1024),
        (_, Some(digits)) => (digits, 1 << 20),
        _ => (text, 1),
    };
    match digits.parse::<usize>().ok().and_then(|n| n.checked_mul(unit)) {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ArgError(format!("{flag}: {text:?} is not a size from {min} to {max} bytes"))),
    }
}
