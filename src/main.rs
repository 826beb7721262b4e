//! The `ssed` command: flags → [`ssed::Config`] → [`ssed::Server`] → exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = ssed::parse_args(std::env::args().skip(1), std::env::var("SSED_PUBLISH_TOKEN").ok());
    let parsed = parsed.and_then(|command| match command {
        ssed::Command::Run(mut config) => {
            ssed::config::apply_redis_env(&mut config, std::env::var("SSED_REDIS_URL").ok())?;
            Ok(ssed::Command::Run(config))
        }
        other => Ok(other),
    });
    let config = match parsed {
        Ok(ssed::Command::Run(config)) => *config,
        Ok(ssed::Command::Help) => {
            print!("{}", ssed::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(ssed::Command::Version) => {
            println!("ssed {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("ssed: {error}\nTry 'ssed --help' for the flags.");
            return ExitCode::from(2);
        }
    };
    let server = match ssed::Server::bind(config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("ssed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let config = server.config();
    let publish = if config.publish_token.is_some() { ", POST /publish" } else { "" };
    eprintln!(
        "ssed: listening on http://{}: /sse (named pings), /messages (unnamed pings), \
         /events (published events{publish}), / (demo page)",
        server.local_addr()
    );
    if let Some(clamped) = server.clamped() {
        eprintln!("ssed: {clamped}");
    }
    if config.stdin {
        let publisher = server.publisher();
        // The topic was checked with the flags.
        let publisher = match &config.stdin_topic {
            Some(topic) => publisher.on_topic(topic).unwrap_or(publisher),
            None => publisher,
        };
        ssed::stdin::spawn_reader(publisher, config.stdin_event.clone(), config.max_event_bytes);
    }
    server.run();
    ExitCode::SUCCESS
}
