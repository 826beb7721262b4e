//! Which resource a request names, and which methods it takes.
//!
//! Pure: a method and a path in, a [`Route`] out. The table below is the
//! whole map of the server:
//!
//! ```text
//! GET /           the demo page (HTML, compiled into the binary)
//! GET /sse        pings as named events:   event: ping
//! GET /messages   pings as unnamed events: for EventSource.onmessage
//! ```
//!
//! Each path also answers `HEAD` (head only) and `OPTIONS` (CORS preflight).

/// What a path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `/`: the demo page.
    DemoPage,
    /// `/sse` and `/messages`: an endless stream of pings.
    Pings(PingStyle),
}

/// How a ping stream labels its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingStyle {
    /// `event: ping` on every frame; clients use `addEventListener('ping', …)`.
    Named,
    /// No `event:` field; clients use `onmessage`.
    Unnamed,
}

/// Every path ssed serves, and what it serves.
pub const RESOURCES: &[(&str, Resource)] = &[
    ("/", Resource::DemoPage),
    ("/sse", Resource::Pings(PingStyle::Named)),
    ("/messages", Resource::Pings(PingStyle::Unnamed)),
];

/// The methods every resource takes, as the `Allow` header lists them.
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `GET` (or `HEAD`, with `head_only`) on a known path.
    Serve {
        /// The resource the path names.
        resource: Resource,
        /// A `HEAD` request: send the head, not the body.
        head_only: bool,
    },
    /// `OPTIONS` on a known path or `*`: a CORS preflight answer (204).
    Preflight,
    /// A path ssed does not serve (404).
    NotFound,
    /// A method HTTP defines but the path does not take (405 with `Allow`).
    MethodNotAllowed,
    /// A method ssed does not know at all (501, RFC 9110 §9.1).
    NotImplemented,
}

/// The methods of RFC 9110 §9 and PATCH (RFC 5789).
const KNOWN_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Routes `method` on `path`. The query is not part of `path`, so
/// `/sse?x=1` routes as `/sse`.
pub fn route(method: &str, path: &str) -> Route {
    if !KNOWN_METHODS.contains(&method) {
        return Route::NotImplemented;
    }
    if path == "*" {
        return if method == "OPTIONS" {
            Route::Preflight
        } else {
            Route::NotFound
        };
    }
    let Some(&(_, resource)) = RESOURCES.iter().find(|(known, _)| *known == path) else {
        return Route::NotFound;
    };
    match method {
        "GET" => Route::Serve {
            resource,
            head_only: false,
        },
        "HEAD" => Route::Serve {
            resource,
            head_only: true,
        },
        "OPTIONS" => Route::Preflight,
        _ => Route::MethodNotAllowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table() {
        let named = Resource::Pings(PingStyle::Named);
        let unnamed = Resource::Pings(PingStyle::Unnamed);
        let cases = [
            (
                "GET",
                "/",
                Route::Serve {
                    resource: Resource::DemoPage,
                    head_only: false,
                },
            ),
            (
                "GET",
                "/sse",
                Route::Serve {
                    resource: named,
                    head_only: false,
                },
            ),
            (
                "HEAD",
                "/sse",
                Route::Serve {
                    resource: named,
                    head_only: true,
                },
            ),
            (
                "GET",
                "/messages",
                Route::Serve {
                    resource: unnamed,
                    head_only: false,
                },
            ),
            ("OPTIONS", "/sse", Route::Preflight),
            ("OPTIONS", "*", Route::Preflight),
            ("GET", "*", Route::NotFound),
            ("GET", "/sse/", Route::NotFound),
            ("GET", "/SSE", Route::NotFound),
            ("GET", "/nope", Route::NotFound),
            ("POST", "/sse", Route::MethodNotAllowed),
            ("DELETE", "/", Route::MethodNotAllowed),
            ("POST", "/nope", Route::NotFound),
            ("get", "/sse", Route::NotImplemented),
            ("BREW", "/sse", Route::NotImplemented),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path), expected, "{method} {path}");
        }
    }
}
