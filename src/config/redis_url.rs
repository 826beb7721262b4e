//! `--redis redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, checked when the
//! flags are read, so a bad URL is exit status 2 before anything starts.
//!
//! ```text
//! redis://127.0.0.1:6379            host, port
//! redis://:s3cret@10.0.0.5:6379/2   AUTH s3cret, SELECT 2
//! redis://ssed:s3cret@[::1]/0       AUTH ssed s3cret (an ACL user)
//! ```
//!
//! The password is a [`Secret`]: the URL prints without it, so logs never
//! show it.

use std::fmt;

use super::Secret;

/// A parsed Redis URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// Host name or address (an IPv6 address without brackets).
    pub host: String,
    /// Port; 6379 when the URL has none.
    pub port: u16,
    /// ACL user name, for `AUTH user password`.
    pub user: Option<String>,
    /// Password, for `AUTH`.
    pub password: Option<Secret>,
    /// Database number, for `SELECT`; 0 when the URL has none.
    pub db: u32,
}

impl fmt::Display for RedisUrl {
    /// The URL without its password: what logs show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        write!(f, "redis://{host}:{}/{}", self.port, self.db)
    }
}

impl RedisUrl {
    /// Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
    ///
    /// # Errors
    ///
    /// A message that says which part is wrong (without the password).
    pub fn parse(text: &str) -> Result<RedisUrl, String> {
        let rest =
            text.strip_prefix("redis://").ok_or("a Redis URL starts with redis:// (no TLS: see README)")?;
        let (authority, db) = match rest.split_once('/') {
            Some((authority, "")) => (authority, 0),
            Some((authority, db)) => {
                (authority, db.parse().map_err(|_| "the database after / must be a number".to_owned())?)
            }
            None => (rest, 0),
        };
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (user, password) = match userinfo.map(|info| info.split_once(':').unwrap_or(("", info))) {
            None => (None, None),
            Some((user, password)) => {
                let user = (!user.is_empty()).then(|| user.to_owned());
                (user, (!password.is_empty()).then(|| Secret(password.to_owned())))
            }
        };
        let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or("an IPv6 host needs its closing ]")?;
            (host, after.strip_prefix(':'))
        } else {
            match host_port.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (host_port, None),
            }
        };
        if host.is_empty() || host.contains(['/', ' ', '@']) {
            return Err("the URL needs a host, e.g. redis://127.0.0.1:6379".to_owned());
        }
        let port = match port {
            None => 6379,
            Some(port) => port.parse().ok().filter(|&port| port > 0).ok_or("the port must be 1 to 65535")?,
        };
        Ok(RedisUrl { host: host.to_owned(), port, user, password, db })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_print_without_their_password() {
        let cases = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/0", None, None, 0),
            ("redis://localhost", "redis://localhost:6379/0", None, None, 0),
            ("redis://:s3cret@10.0.0.5:6380/2", "redis://10.0.0.5:6380/2", None, Some("s3cret"), 2),
            ("redis://ssed:pa:ss@[::1]/", "redis://[::1]:6379/0", Some("ssed"), Some("pa:ss"), 0),
        ];
        for (text, shown, user, password, db) in cases {
            let url = RedisUrl::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(url.to_string(), shown);
            assert_eq!(url.user.as_deref(), user);
            assert_eq!(url.password.as_ref().map(|secret| secret.0.as_str()), password);
            assert_eq!(url.db, db);
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        for (text, reason) in [
            ("127.0.0.1:6379", "starts with redis://"),
            ("rediss://h:1", "starts with redis://"),
            ("redis://", "needs a host"),
            ("redis://h:0", "port"),
            ("redis://h:99999", "port"),
            ("redis://h:x", "port"),
            ("redis://h/x", "database"),
            ("redis://[::1:6379", "closing ]"),
        ] {
            let error = RedisUrl::parse(text).expect_err(text);
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
