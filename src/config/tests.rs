use super::*;

fn parse(words: &str) -> Result<Command, ArgError> {
    parse_args(words.split_whitespace().map(str::to_owned), &Environment::default())
}

fn config(words: &str) -> Config {
    match parse(words) {
        Ok(Command::Run(config)) => *config,
        other => panic!("{words}: {other:?}"),
    }
}

#[test]
fn every_flag_sets_its_field() {
    let parsed = config(
        "--addr [::1]:0 --interval 20 --keep-alive 15000 --retry=0 --max-clients 3 --max-pending 4 --stack-size 32k \
         --head-timeout 100 --write-timeout 200 --max-head-bytes 1024 \
         --max-target-bytes 100 --cors-origin https://a.test --quiet --history 5 \
         --max-event-bytes 10 --publish-token s3cret --stdin --stdin-event line \
         --stdin-topic room/a --max-topics 4 --journal /var/lib/ssed/j --journal-max-bytes 8m --fsync \
         --publish-idle-timeout 250 --max-requests-per-connection 7",
    );
    let expected = Config {
        addr: "[::1]:0".parse().expect("valid address"),
        limits: Limits {
            max_clients: 3,
            max_pending: 4,
            stack_size: 32 * 1024,
            max_head_bytes: 1024,
            max_target_bytes: 100,
            max_requests_per_connection: 7,
        },
        timeouts: Timeouts {
            interval: Duration::from_millis(20),
            keep_alive: Some(Duration::from_millis(15_000)),
            retry: Duration::ZERO,
            head_timeout: Duration::from_millis(100),
            write_timeout: Duration::from_millis(200),
            mercure_heartbeat: Duration::from_millis(40_000),
            publish_idle_timeout: Duration::from_millis(250),
        },
        events: EventOptions {
            history: 5,
            max_event_bytes: 10,
            max_topics: 4,
            publish_token: Some(Secret("s3cret".to_owned())),
            stdin: true,
            stdin_event: Some("line".to_owned()),
            stdin_topic: Some("room/a".to_owned()),
            stdin_private: false,
        },
        journal: Some(JournalOptions { path: "/var/lib/ssed/j".into(), max_bytes: 8 << 20, fsync: true }),
        redis: None,
        auth: None,
        cors_origins: vec!["https://a.test".to_owned()],
        quiet: true,
    };
    assert_eq!(parsed, expected);
    assert_eq!(config(""), Config::default());
    assert_eq!(parse("--help"), Ok(Command::Help));
    assert_eq!(parse("--quiet -V"), Ok(Command::Version));
}

#[test]
fn the_publish_token_comes_from_the_flag_or_the_environment() {
    let with_env = |words: &str, env: Option<&str>| match parse_args(
        words.split_whitespace().map(str::to_owned),
        &Environment { publish_token: env.map(str::to_owned), ..Environment::default() },
    ) {
        Ok(Command::Run(config)) => Ok(config.events.publish_token.map(|Secret(token)| token)),
        Ok(other) => panic!("{other:?}"),
        Err(ArgError(message)) => Err(message),
    };
    assert_eq!(with_env("", None), Ok(None));
    assert_eq!(with_env("", Some("from-env")), Ok(Some("from-env".to_owned())));
    assert_eq!(with_env("--publish-token flag", Some("env")), Ok(Some("flag".to_owned())));
    assert!(with_env("", Some("has space")).is_err());
    assert!(with_env("", Some("")).is_err());
    assert_eq!(format!("{:?}", Secret("s3cret".to_owned())), "Secret(<redacted>)");
}

#[test]
fn bad_command_lines_name_the_flag() {
    let cases = [
        ("--nope", "unknown flag \"--nope\""),
        ("--interval", "--interval needs a value"),
        ("--interval 0", "--interval: \"0\" is not a whole number from 1 to 3600000 (milliseconds)"),
        ("--keep-alive 0", "--keep-alive: \"0\" is not a whole number from 1 to 3600000 (milliseconds)"),
        ("--publish-idle-timeout 0", "--publish-idle-timeout: \"0\" is not a whole number from 1"),
        ("--max-requests-per-connection 0", "--max-requests-per-connection: \"0\""),
        ("--interval abc", "--interval: \"abc\""),
        ("--max-clients 0", "--max-clients: \"0\""),
        ("--stack-size 1k", "--stack-size: \"1k\" is not a size from 16384"),
        ("--addr localhost", "--addr: \"localhost\" is not an address"),
        ("--cors-origin a\u{7f}b", "--cors-origin"),
        ("--max-head-bytes 100 --max-target-bytes 100", "--max-target-bytes (100) must be below"),
        ("--stdin-event x", "--stdin-event needs --stdin"),
        ("--stdin-topic x", "--stdin-topic needs --stdin"),
        ("--fsync", "--fsync needs --journal"),
        ("--redis redis://h --journal j", "--redis (or SSED_REDIS_URL) and --journal together"),
        ("--journal-max-bytes 1m", "--journal-max-bytes needs --journal"),
        ("--redis localhost:6379", "--redis: a Redis URL starts with redis://"),
        ("--journal j --journal-max-bytes 1k", "--journal-max-bytes: \"1k\""),
        ("--stdin --stdin-topic a%b", "--stdin-topic: byte 0x25 in a topic name"),
        ("--max-topics 0", "--max-topics: \"0\""),
        ("--history 0", "--history: \"0\""),
        ("--publish-token", "--publish-token needs a value"),
    ];
    for (words, expected) in cases {
        match parse(words) {
            Err(ArgError(message)) => {
                assert!(message.starts_with(expected), "{words}: {message}")
            }
            other => panic!("{words}: {other:?}"),
        }
    }
}

#[test]
fn keep_alive_follows_the_interval_unless_given() {
    assert_eq!(config("--interval 20").timeouts.keep_alive_after(), Duration::from_millis(20));
    assert_eq!(
        config("--interval 20 --keep-alive 9000").timeouts.keep_alive_after(),
        Duration::from_millis(9000)
    );
    assert_eq!(Config::default().timeouts.keep_alive_after(), Config::default().timeouts.interval);
}

#[test]
fn usage_lists_every_flag_with_its_default() {
    let defaults = Config::default();
    let lines = [
        ("--addr", defaults.addr.to_string()),
        ("--interval", defaults.timeouts.interval.as_millis().to_string()),
        ("--retry", defaults.timeouts.retry.as_millis().to_string()),
        ("--max-clients", defaults.limits.max_clients.to_string()),
        ("--max-pending", defaults.limits.max_pending.to_string()),
        ("--stack-size", defaults.limits.stack_size.to_string()),
        ("--head-timeout", defaults.timeouts.head_timeout.as_millis().to_string()),
        ("--write-timeout", defaults.timeouts.write_timeout.as_millis().to_string()),
        ("--max-head-bytes", defaults.limits.max_head_bytes.to_string()),
        ("--max-target-bytes", defaults.limits.max_target_bytes.to_string()),
        ("--publish-idle-timeout", defaults.timeouts.publish_idle_timeout.as_millis().to_string()),
        ("--max-requests-per-connection", defaults.limits.max_requests_per_connection.to_string()),
        ("--cors-origin", defaults.cors_origins.join(",")),
        ("--history", defaults.events.history.to_string()),
        ("--max-event-bytes", defaults.events.max_event_bytes.to_string()),
    ];
    for (flag, default) in lines {
        // A long flag's description may go on the lines below it, indented
        // further; the default ends one of its lines.
        let mut from_flag = USAGE.lines().skip_while(|line| !line.trim_start().starts_with(flag));
        let first = from_flag.next().unwrap_or_else(|| panic!("{flag} missing from USAGE"));
        let mut lines = std::iter::once(first).chain(from_flag.take_while(|line| line.starts_with("      ")));
        assert!(lines.any(|line| line.ends_with(&format!("[{default}]"))), "{first}");
    }
}

/// Issue 18, item 15: a flag that takes a value does not take the next
/// flag as its value (`--publish-token --quiet` started with the token
/// "--quiet" and without quiet mode); `--flag=--value` still can.
#[test]
fn a_flag_is_never_taken_as_the_value_of_the_flag_before_it() {
    let flags_with_values = [
        "--addr",
        "--interval",
        "--keep-alive",
        "--retry",
        "--max-clients",
        "--max-pending",
        "--stack-size",
        "--head-timeout",
        "--write-timeout",
        "--max-head-bytes",
        "--max-target-bytes",
        "--publish-idle-timeout",
        "--max-requests-per-connection",
        "--cors-origin",
        "--history",
        "--max-event-bytes",
        "--publish-token",
        "--stdin-event",
        "--stdin-topic",
        "--max-topics",
        "--journal",
        "--journal-max-bytes",
        "--redis",
        "--redis-stream",
        "--mercure-heartbeat",
        "--jwt-key-file",
        "--jwt-publisher-key-file",
        "--jwt-subscriber-key-file",
        "--jwt-previous-key-file",
    ];
    for flag in flags_with_values {
        assert!(USAGE.contains(&format!("  {flag} ")), "{flag} is not in USAGE");
        for next in ["--quiet", "--", "--no-such-flag"] {
            let expected = format!(
                "{flag} needs a value, not the flag {next:?} (for a value that starts with --, write {flag}=VALUE)"
            );
            assert_eq!(parse(&format!("{flag} {next}")), Err(ArgError(expected)), "{flag} {next}");
        }
    }
    // Every flag of USAGE that takes a value is in the table above.
    let in_usage = USAGE.lines().filter_map(|line| {
        let mut words = line.split_whitespace();
        let flag = words.next().filter(|word| word.starts_with("--"))?;
        words.next().filter(|word| word.chars().all(|c| c.is_ascii_uppercase()))?;
        Some(flag)
    });
    for flag in in_usage {
        assert!(flags_with_values.contains(&flag), "{flag} takes a value but is not checked here");
    }
    // Written with `=`, a value may start with `--`; a single dash is a value.
    let token = |words: &str| config(words).events.publish_token.map(|Secret(token)| token);
    assert_eq!(token("--publish-token=--quiet"), Some("--quiet".to_owned()));
    assert!(!config("--publish-token=--quiet").quiet);
    assert_eq!(token("--publish-token -x --quiet"), Some("-x".to_owned()));
    assert!(config("--publish-token -x --quiet").quiet);
    assert_eq!(config("--cors-origin=--odd").cors_origins, ["--odd"]);
}

#[test]
fn keys_come_from_files_or_the_environment_never_from_a_plain_flag() {
    let env = |key: Option<&str>| Environment {
        jwt_key: key.map(|key| Secret(key.to_owned())),
        ..Environment::default()
    };
    let parse_with =
        |words: &str, env: &Environment| parse_args(words.split_whitespace().map(str::to_owned), env);
    let auth = |words: &str, env: &Environment| match parse_with(words, env) {
        Ok(Command::Run(config)) => config.auth,
        other => panic!("{words}: {other:?}"),
    };
    assert_eq!(auth("", &env(None)), None);
    let from_env = auth("", &env(Some("k"))).expect("a key");
    assert_eq!(from_env.key, Some(KeySource::Environment(Secret("k".to_owned()))));
    assert!(from_env.anonymous);
    // The file wins over the environment, and is read at start, not here.
    let from_file = auth("--jwt-key-file /etc/ssed/key", &env(Some("k"))).expect("a key");
    assert_eq!(from_file.key, Some(KeySource::File("/etc/ssed/key".into())));
    assert!(!auth("--no-anonymous", &env(Some("k"))).expect("a key").anonymous);
    let refusals = [
        ("--no-anonymous", "--no-anonymous needs a key"),
        (
            "--jwt-previous-key-file /k",
            "a previous key (SSED_JWT_PREVIOUS_KEY or --jwt-previous-key-file) needs a current one",
        ),
        ("--jwt-key-file", "--jwt-key-file needs a value"),
        ("--jwt-key", "unknown flag \"--jwt-key\""),
        ("--cors-origin *,https://a.test", "--cors-origin: * stands alone"),
        ("--cors-origin https://a.test,", "--cors-origin: \"\" must be printable ASCII"),
    ];
    for (words, expected) in refusals {
        match parse_with(words, &env(None)) {
            Err(ArgError(message)) => assert!(message.starts_with(expected), "{words}: {message}"),
            other => panic!("{words}: {other:?}"),
        }
    }
    assert_eq!(
        config("--cors-origin https://a.test,http://b.test:8080").cors_origins,
        ["https://a.test", "http://b.test:8080"]
    );
}

#[test]
fn ssed_token_reads_its_selectors_ttl_and_keys() {
    let env = Environment { jwt_key: Some(Secret("k".to_owned())), ..Environment::default() };
    let parse_with = |words: &str| parse_args(words.split_whitespace().map(str::to_owned), &env);
    match parse_with("token --subscribe users/{id} --subscribe rooms/1 --publish users/42 --ttl 90m") {
        Ok(Command::Token(request)) => {
            assert_eq!(request.subscribe, ["users/{id}", "rooms/1"]);
            assert_eq!(request.publish, ["users/42"]);
            assert_eq!(request.ttl, Some(Duration::from_secs(90 * 60)));
            assert_eq!(request.auth.key, Some(KeySource::Environment(Secret("k".to_owned()))));
        }
        other => panic!("{other:?}"),
    }
    for (ttl, seconds) in [("30", 30), ("30s", 30), ("2h", 7200), ("7d", 604_800)] {
        match parse_with(&format!("token --publish * --ttl {ttl}")) {
            Ok(Command::Token(request)) => {
                assert_eq!(request.ttl, Some(Duration::from_secs(seconds)), "{ttl}")
            }
            other => panic!("{ttl}: {other:?}"),
        }
    }
    for words in [
        "token",
        "token --ttl 1h --publish *x --ttl 0",
        "token --publish * --ttl 1y",
        "token --publish * --ttl -1",
        "token --nope",
    ] {
        assert!(matches!(parse_with(words), Err(ArgError(_))), "{words}");
    }
    let no_key = parse_args(["token", "--publish", "*"].map(str::to_owned), &Environment::default());
    assert!(matches!(no_key, Err(ArgError(message)) if message.contains("no key")));
}
