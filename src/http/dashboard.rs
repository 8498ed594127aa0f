//! The dashboard: one page and its script and style sheet, embedded in the binary (no
//! CDN, no fonts, no third-party code), served at `/` and `/assets/…` without the
//! bearer token (they hold no data: the page asks for the token when the API answers
//! 401). Also `/api/info`, which tells the page which panels have data behind them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use super::params::json_response;
use super::HttpOptions;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// Paths served without the token.
pub(crate) const PUBLIC_PATHS: [&str; 3] = ["/", "/assets/app.js", "/assets/app.css"];

/// What `/api/info` answers.
#[derive(Debug, Clone, Serialize)]
struct Info {
    version: &'static str,
    monitor: bool,
    alerts: bool,
    recordings: bool,
    hdr: bool,
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                ),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// The dashboard's routes, for any router state.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(opts: &HttpOptions) -> Router<S> {
    let info = Info {
        version: env!("CARGO_PKG_VERSION"),
        #[cfg(feature = "monitor")]
        monitor: opts.monitor.is_some(),
        #[cfg(not(feature = "monitor"))]
        monitor: false,
        #[cfg(feature = "alerts")]
        alerts: opts.alerts.is_some(),
        #[cfg(not(feature = "alerts"))]
        alerts: false,
        recordings: opts.recordings_dir.is_some(),
        hdr: cfg!(feature = "hdr"),
    };
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/api/info",
            get(move || {
                let info = info.clone();
                async move { json_response(StatusCode::OK, &info) }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_never_insert_html_and_load_nothing_from_elsewhere() {
        for (name, text) in [("app.js", APP_JS), ("index.html", INDEX_HTML)] {
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "http://",
                "https://",
            ] {
                let allowed = banned == "http://" && text.contains("http://www.w3.org/2000/svg");
                let count = text.matches(banned).count();
                let expected = if allowed { 1 } else { 0 };
                assert_eq!(count, expected, "{name} contains {banned}");
            }
        }
        assert!(INDEX_HTML.contains("/assets/app.js") && INDEX_HTML.contains("/assets/app.css"));
    }
}
