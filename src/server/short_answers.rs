//! The short answers about the server itself and its mistakes: `/metrics`,
//! `/healthz`, the demo page, a stream's `HEAD`, CORS preflights, and 404,
//! 405, 501. Each is one write and a lingering close.
//!
//! ```text
//! GET /healthz     ─► 200 "ok\nevents: memory\n"
//! OPTIONS /events  ─► 204 with the methods and the CORS lines
//! DELETE /sse      ─► 405 with Allow
//! ```

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use super::connection::publishing_on;
use super::status::{health_text, metrics_text};
use crate::auth::Auth;
use crate::conn::short_answer::{self, Ended};
use crate::conn::stream_head::stream_head;
use crate::events::hub::Hub;
use crate::ops::log::log;
use crate::ops::shared::Shared;
use crate::proto::request::Request;
use crate::proto::response::{preflight, Cors};
use crate::proto::routes::{server_methods, Resource, Route};
use crate::proto::time::http_date;

/// The demo page, compiled into the binary.
const DEMO_PAGE: &str = include_str!("demo.html");

/// Answers a request that is not a stream.
#[inline(never)]
pub(super) fn answer(
    socket: &TcpStream,
    shared: &Shared,
    (hub, auth): (&Hub, &Auth),
    request: &Request,
    route: Route,
    cors: Cors<'_>,
) -> Ended {
    let publish_enabled = publishing_on(shared, auth);
    match route {
        // `HEAD` of a stream: its head alone. (A `GET` was readied as a
        // stream by `respond` and never comes here.)
        Route::Serve { resource: Resource::Pings(_) | Resource::Events | Resource::Mercure, .. } => {
            let reason = short_answer::raw(socket, shared, 200, &stream_head(cors));
            Ended { reason, outcome: "-> 200 (head only)".to_owned() }
        }
        // Publishes were served by `respond`.
        Route::Serve { resource: Resource::Publish, .. } => {
            short_answer::error(socket, shared, cors, 404, "not found", &[])
        }
        Route::Serve { resource: Resource::Metrics, head_only } => {
            let text = metrics_text(shared, hub);
            short_answer::ok(
                socket,
                shared,
                cors,
                "text/plain; version=0.0.4; charset=utf-8",
                text.as_bytes(),
                head_only,
            )
        }
        Route::Serve { resource: Resource::Health, head_only } => short_answer::ok(
            socket,
            shared,
            cors,
            "text/plain; charset=utf-8",
            health_text(&shared.config, hub).as_bytes(),
            head_only,
        ),
        Route::Serve { resource: Resource::DemoPage, head_only } => short_answer::ok(
            socket,
            shared,
            cors,
            "text/html; charset=utf-8",
            DEMO_PAGE.as_bytes(),
            head_only,
        ),
        Route::Preflight(resource) => {
            let allowed = resource.map_or(server_methods(publish_enabled), Resource::allowed_methods);
            let bytes = preflight(allowed, cors, &http_date(SystemTime::now()));
            Ended { reason: short_answer::raw(socket, shared, 204, &bytes), outcome: "-> 204".to_owned() }
        }
        Route::NotFound => short_answer::error(socket, shared, cors, 404, "not found", &[]),
        Route::PublishingOff => {
            if !shared.told_publishing_off.swap(true, Ordering::Relaxed) {
                log(format_args!(
                    "POST /publish answered 404: publishing is off: start with SSED_PUBLISH_TOKEN or --publish-token"
                ));
            }
            short_answer::error(socket, shared, cors, 404, "not found", &[])
        }
        Route::MethodNotAllowed(resource) => {
            let allowed = resource.allowed_methods();
            let detail = format!("method {} not allowed; allowed: {allowed}", request.method());
            short_answer::error(socket, shared, cors, 405, &detail, &[("Allow", allowed)])
        }
        Route::NotImplemented => short_answer::error(
            socket,
            shared,
            cors,
            501,
            &format!("method {} not implemented", request.method()),
            &[],
        ),
    }
}
