//! `ssed token` and the keys' flags: what a token should allow, and where
//! the keys that sign and verify tokens come from.
//!
//! ```text
//! ssed token --subscribe 'users/{id}' --publish users/42 --ttl 1h
//!   └─► TokenRequest { subscribe: ["users/{id}"], publish: ["users/42"], ttl: 1 h, auth: from SSED_JWT_KEY }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use super::flags::{split_flag, take_value};
use super::{ArgError, AuthOptions, Environment, KeySource, Secret};

/// `ssed token --subscribe SEL… --publish SEL… --ttl 1h`: what to put in a
/// token, and the keys to sign it with (the server's own settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `mercure.subscribe` selectors.
    pub subscribe: Vec<String>,
    /// `mercure.publish` selectors.
    pub publish: Vec<String>,
    /// How long the token lives (`exp` = now + ttl); `None`: no `exp`.
    pub ttl: Option<Duration>,
    /// The keys, from the environment or `--jwt-*-key-file`.
    pub auth: AuthOptions,
}

/// The words after `ssed token`.
pub(super) fn parse_token_args(
    args: impl Iterator<Item = String>,
    env: &Environment,
) -> Result<TokenRequest, ArgError> {
    let mut request = TokenRequest {
        subscribe: Vec::new(),
        publish: Vec::new(),
        ttl: None,
        auth: AuthOptions {
            key: None,
            publisher_key: None,
            subscriber_key: None,
            previous_key: None,
            anonymous: true,
        },
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = split_flag(arg);
        let mut value = || take_value(&flag, &inline_value, &mut args);
        match flag.as_str() {
            "--subscribe" => request.subscribe.push(value()?),
            "--publish" => request.publish.push(value()?),
            "--ttl" => request.ttl = Some(ttl(&value()?)?),
            "--jwt-key-file" => request.auth.key = Some(key_file(&flag, value()?)?),
            "--jwt-publisher-key-file" => request.auth.publisher_key = Some(key_file(&flag, value()?)?),
            "--jwt-subscriber-key-file" => request.auth.subscriber_key = Some(key_file(&flag, value()?)?),
            _ => {
                return Err(ArgError(format!(
                    "ssed token: unknown flag {flag:?} (--subscribe, --publish, --ttl)"
                )))
            }
        }
    }
    if request.subscribe.is_empty() && request.publish.is_empty() {
        return Err(ArgError("ssed token needs --subscribe or --publish selectors".to_owned()));
    }
    let auth = request.auth.clone();
    request.auth = auth_options(auth, env)?
        .ok_or_else(|| ArgError("ssed token: no key; set SSED_JWT_KEY or give --jwt-key-file".to_owned()))?;
    Ok(request)
}

/// `90s`, `30m`, `12h`, `7d`, or whole seconds.
fn ttl(text: &str) -> Result<Duration, ArgError> {
    let (digits, unit) = match text.char_indices().last() {
        Some((at, 's')) => (&text[..at], 1),
        Some((at, 'm')) => (&text[..at], 60),
        Some((at, 'h')) => (&text[..at], 3600),
        Some((at, 'd')) => (&text[..at], 86_400),
        _ => (text, 1),
    };
    match digits.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)) {
        Some(seconds) if (1..=10 * 365 * 86_400).contains(&seconds) => Ok(Duration::from_secs(seconds)),
        _ => Err(ArgError(format!(
            "--ttl: {text:?} is not a time like 90s, 30m, 12h or 7d (at most 10 years)"
        ))),
    }
}

/// A `--jwt-*-key-file` path; the file is read when the server starts.
pub(super) fn key_file(flag: &str, path: String) -> Result<KeySource, ArgError> {
    if path.is_empty() {
        return Err(ArgError(format!("{flag} needs a file path")));
    }
    Ok(KeySource::File(PathBuf::from(path)))
}

/// The keys from the flags, or else from the environment; `None` when no
/// key is set at all.
pub(super) fn auth_options(
    mut keys: AuthOptions,
    env: &Environment,
) -> Result<Option<AuthOptions>, ArgError> {
    let from_env = |secret: &Option<Secret>| secret.clone().map(KeySource::Environment);
    keys.key = keys.key.or_else(|| from_env(&env.jwt_key));
    keys.publisher_key = keys.publisher_key.or_else(|| from_env(&env.jwt_publisher_key));
    keys.subscriber_key = keys.subscriber_key.or_else(|| from_env(&env.jwt_subscriber_key));
    keys.previous_key = keys.previous_key.or_else(|| from_env(&env.jwt_previous_key));
    let any_key = keys.key.is_some() || keys.publisher_key.is_some() || keys.subscriber_key.is_some();
    if !any_key && keys.previous_key.is_some() {
        return Err(ArgError(
            "a previous key (SSED_JWT_PREVIOUS_KEY or --jwt-previous-key-file) needs a current one"
                .to_owned(),
        ));
    }
    if !any_key && !keys.anonymous {
        return Err(ArgError("--no-anonymous needs a key: SSED_JWT_KEY or --jwt-key-file".to_owned()));
    }
    Ok(any_key.then_some(keys))
}
