//! The `ssed` command: flags → [`ssed::Config`] → [`ssed::Server`] → exit code.
//!
//! Every line is written without panicking on a closed stdout or stderr;
//! once serving, lines go through the server's log thread.

use std::io::{stderr, stdout, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match ssed::parse_args(std::env::args().skip(1), &ssed::Environment::of_process()) {
        Ok(ssed::Command::Run(config)) => *config,
        Ok(ssed::Command::Help) => return say(stdout(), ssed::USAGE, ExitCode::SUCCESS),
        Ok(ssed::Command::Version) => return say(stdout(), ssed::VERSION_LINE, ExitCode::SUCCESS),
        Ok(ssed::Command::Token(request)) => match ssed::mint_token(&request) {
            Ok(token) => return say(stdout(), &format!("{token}\n"), ExitCode::SUCCESS),
            Err(error) => return say(stderr(), &format!("ssed token: {error}\n"), ExitCode::FAILURE),
        },
        Err(error) => {
            let text = format!("ssed: {error}\nTry 'ssed --help' for the flags.\n");
            return say(stderr(), &text, ExitCode::from(2));
        }
    };
    match ssed::Server::bind(config) {
        Ok(server) => {
            server.serve_command_line();
            ExitCode::SUCCESS
        }
        Err(error) => say(stderr(), &format!("ssed: {error}\n"), ExitCode::FAILURE),
    }
}

/// Writes `text` where it can (a closed pipe is not worth a panic), then exits with `code`.
fn say(mut to: impl Write, text: &str, code: ExitCode) -> ExitCode {
    let _ = to.write_all(text.as_bytes());
    code
}
