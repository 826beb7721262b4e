//! Which resource a request names, and which methods it takes.
//!
//! Pure: a method and a path in, a [`Route`] out. The table below is the
//! whole map of the server:
//!
//! ```text
//! GET /           the demo page (HTML, compiled into the binary)
//! GET /sse        pings as named events:   event: ping
//! GET /messages   pings as unnamed events: for EventSource.onmessage
//! GET /events     published events, with Last-Event-ID replay
//! POST /publish   publish one event (only when a token is configured)
//! GET /metrics    counters in the Prometheus text format
//! GET /healthz    "ok"
//! GET /.well-known/mercure    a Mercure subscription (topic selectors)
//! POST /.well-known/mercure   a Mercure publish (a form)
//! ```
//!
//! Each `GET` path also answers `HEAD` (head only); every path answers
//! `OPTIONS` (CORS preflight).

/// What a path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `/`: the demo page.
    DemoPage,
    /// `/sse` and `/messages`: an endless stream of pings.
    Pings(PingStyle),
    /// `/events`: the stream of published events.
    Events,
    /// `/publish`: takes one event per `POST`.
    Publish,
    /// `/metrics`: counters for Prometheus.
    Metrics,
    /// `/healthz`: `ok` while the server runs.
    Health,
    /// `/.well-known/mercure`: the Mercure hub (`GET` subscribes, `POST`
    /// publishes).
    Mercure,
}

impl Resource {
    /// The methods this resource takes, as the `Allow` header lists them.
    pub fn allowed_methods(self) -> &'static str {
        match self {
            Resource::Publish => "POST, OPTIONS",
            Resource::Mercure => "GET, POST, OPTIONS",
            Resource::DemoPage
            | Resource::Pings(_)
            | Resource::Events
            | Resource::Metrics
            | Resource::Health => "GET, HEAD, OPTIONS",
        }
    }
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
    ("/events", Resource::Events),
    ("/publish", Resource::Publish),
    ("/metrics", Resource::Metrics),
    ("/healthz", Resource::Health),
    ("/.well-known/mercure", Resource::Mercure),
];

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
    /// `OPTIONS` on a known path, or on `*` (`None`): a CORS preflight
    /// answer (204).
    Preflight(Option<Resource>),
    /// A path ssed does not serve (404).
    NotFound,
    /// `/publish` on a server started without a token: 404 like any
    /// unknown path, since publishing does not exist there, but the
    /// operator is told why once.
    PublishingOff,
    /// A method HTTP defines but the path does not take (405 with `Allow`).
    MethodNotAllowed(Resource),
    /// A method ssed does not know at all (501, RFC 9110 §9.1).
    NotImplemented,
}

/// The methods the whole server takes, for `OPTIONS *`: `POST` only when
/// publishing is on.
pub fn server_methods(publish_enabled: bool) -> &'static str {
    if publish_enabled {
        "GET, HEAD, POST, OPTIONS"
    } else {
        "GET, HEAD, OPTIONS"
    }
}

/// The methods of RFC 9110 §9 and PATCH (RFC 5789).
const KNOWN_METHODS: &[&str] =
    &["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

/// Routes `method` on `path`. The query is not part of `path`, so
/// `/sse?x=1` routes as `/sse`. Without `publish_enabled` (no token
/// configured), `/publish` does not exist.
pub fn route(method: &str, path: &str, publish_enabled: bool) -> Route {
    if !KNOWN_METHODS.contains(&method) {
        return Route::NotImplemented;
    }
    if path == "*" {
        return if method == "OPTIONS" { Route::Preflight(None) } else { Route::NotFound };
    }
    let Some(&(_, resource)) = RESOURCES.iter().find(|(known, _)| *known == path) else {
        return Route::NotFound;
    };
    match (method, resource) {
        (_, Resource::Publish) if !publish_enabled => Route::PublishingOff,
        ("OPTIONS", _) => Route::Preflight(Some(resource)),
        ("POST", Resource::Publish) => Route::Serve { resource, head_only: false },
        ("GET" | "POST", Resource::Mercure) => Route::Serve { resource, head_only: false },
        (_, Resource::Mercure) => Route::MethodNotAllowed(resource),
        (_, Resource::Publish) => Route::MethodNotAllowed(resource),
        ("GET", _) => Route::Serve { resource, head_only: false },
        ("HEAD", _) => Route::Serve { resource, head_only: true },
        _ => Route::MethodNotAllowed(resource),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table() {
        let named = Resource::Pings(PingStyle::Named);
        let unnamed = Resource::Pings(PingStyle::Unnamed);
        let publish = Resource::Publish;
        let cases = [
            ("GET", "/", Route::Serve { resource: Resource::DemoPage, head_only: false }),
            ("GET", "/events", Route::Serve { resource: Resource::Events, head_only: false }),
            ("POST", "/publish", Route::Serve { resource: publish, head_only: false }),
            ("GET", "/publish", Route::MethodNotAllowed(publish)),
            ("OPTIONS", "/publish", Route::Preflight(Some(publish))),
            ("GET", "/metrics", Route::Serve { resource: Resource::Metrics, head_only: false }),
            ("HEAD", "/healthz", Route::Serve { resource: Resource::Health, head_only: true }),
            ("GET", "/sse", Route::Serve { resource: named, head_only: false }),
            ("HEAD", "/sse", Route::Serve { resource: named, head_only: true }),
            ("GET", "/messages", Route::Serve { resource: unnamed, head_only: false }),
            ("OPTIONS", "/sse", Route::Preflight(Some(named))),
            ("OPTIONS", "*", Route::Preflight(None)),
            ("GET", "*", Route::NotFound),
            ("GET", "/sse/", Route::NotFound),
            ("GET", "/SSE", Route::NotFound),
            ("GET", "/nope", Route::NotFound),
            ("POST", "/sse", Route::MethodNotAllowed(named)),
            ("DELETE", "/", Route::MethodNotAllowed(Resource::DemoPage)),
            ("POST", "/nope", Route::NotFound),
            ("get", "/sse", Route::NotImplemented),
            ("BREW", "/sse", Route::NotImplemented),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path, true), expected, "{method} {path}");
        }
    }

    #[test]
    fn without_a_token_publish_does_not_exist() {
        for method in ["POST", "GET", "OPTIONS", "PUT"] {
            assert_eq!(route(method, "/publish", false), Route::PublishingOff, "{method}");
        }
        assert!(!server_methods(false).contains("POST"));
        assert!(server_methods(true).contains("POST"));
        assert_eq!(route("POST", "/sse", false), Route::MethodNotAllowed(Resource::Pings(PingStyle::Named)));
    }
}
