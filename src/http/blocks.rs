//! `/blocks`, `/blocks/missed` (an attached [`BlockMonitor`](crate::monitor::BlockMonitor))
//! and `/alerts` (an attached [`AlertManager`](crate::alert::AlertManager)). Without
//! one attached (or its feature), the endpoint answers 404 `not_configured`.

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::params::{ApiError, Params};
use super::HttpOptions;

fn not_configured(what: &str, how: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_configured",
        format!("no {what} is attached to this endpoint ({how})"),
    )
}

/// The routes, for any router state.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(opts: &HttpOptions) -> Router<S> {
    #[cfg(feature = "monitor")]
    let mon = opts.monitor.clone();
    #[cfg(not(feature = "monitor"))]
    let mon: Option<std::sync::Arc<()>> = {
        let _ = opts;
        None
    };
    #[cfg(feature = "alerts")]
    let alerts = opts.alerts.clone();
    #[cfg(not(feature = "alerts"))]
    let alerts: Option<std::sync::Arc<()>> = None;
    let m2 = mon.clone();
    Router::new()
        .route(
            "/blocks",
            get(move |RawQuery(q): RawQuery| {
                let mon = mon.clone();
                async move { blocks(mon, q) }
            }),
        )
        .route(
            "/blocks/missed",
            get(move |RawQuery(q): RawQuery| {
                let mon = m2.clone();
                async move { missed(mon, q) }
            }),
        )
        .route(
            "/alerts",
            get(move |RawQuery(q): RawQuery| {
                let a = alerts.clone();
                async move { alerts_page(a, q) }
            }),
        )
}

#[cfg(feature = "monitor")]
type Monitor = Option<std::sync::Arc<std::sync::Mutex<crate::monitor::BlockMonitor>>>;
#[cfg(not(feature = "monitor"))]
type Monitor = Option<std::sync::Arc<()>>;

#[cfg(feature = "monitor")]
fn lock(
    m: &std::sync::Mutex<crate::monitor::BlockMonitor>,
) -> std::sync::MutexGuard<'_, crate::monitor::BlockMonitor> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The attached monitor's and alert manager's metrics
/// ([`BlockMonitor::to_prometheus`](crate::monitor::BlockMonitor::to_prometheus),
/// [`AlertStats::to_prometheus`](crate::alert::AlertStats::to_prometheus)) as
/// Prometheus text, for `/metrics`; empty with neither attached.
pub(crate) fn to_prometheus(opts: &HttpOptions) -> String {
    #[allow(unused_mut)]
    let mut out = String::new();
    #[cfg(feature = "monitor")]
    if let Some(m) = &opts.monitor {
        // Rendered under the lock: the monitor's figures are small.
        out.push_str(&lock(m).to_prometheus());
    }
    #[cfg(feature = "alerts")]
    if let Some(a) = &opts.alerts {
        out.push_str(&a.stats().to_prometheus());
    }
    let _ = opts;
    out
}

const MONITOR_HOW: &str = "HttpOptions::monitor, feature monitor";

fn blocks(mon: Monitor, q: Option<String>) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    #[cfg(feature = "monitor")]
    if let Some(m) = mon {
        let stats = lock(&m).stats();
        return Ok(super::params::json_response(StatusCode::OK, &stats));
    }
    let _ = mon;
    Err(not_configured("block monitor", MONITOR_HOW))
}

fn missed(mon: Monitor, q: Option<String>) -> Result<Response, ApiError> {
    let p = Params::parse(q.as_deref(), &["format", "limit"])?;
    let format = p.get("format").unwrap_or("json");
    if !matches!(format, "json" | "jsonl" | "csv") {
        return Err(ApiError::bad_parameter(
            "format",
            format,
            "unknown format (expected json, jsonl or csv)",
        ));
    }
    let limit = p.count("limit", usize::MAX)?;
    #[cfg(feature = "monitor")]
    if let Some(m) = mon {
        use axum::http::{header, HeaderValue};
        use axum::response::IntoResponse;
        let guard = lock(&m);
        let (body, ctype) = match format {
            "csv" | "jsonl" => {
                let mut out = Vec::new();
                let r = if format == "csv" {
                    guard.write_csv(&mut out)
                } else {
                    guard.write_jsonl(&mut out)
                };
                r.map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?;
                let ctype = if format == "csv" {
                    "text/csv; charset=utf-8"
                } else {
                    "application/x-ndjson"
                };
                (out, ctype)
            }
            _ => {
                let all: Vec<&crate::monitor::MissedBlock> = guard.missed_blocks().collect();
                // The newest (highest) blocks when limited, lowest first.
                let skip = limit.map_or(0, |n| all.len().saturating_sub(n));
                let list = &all[skip..];
                let body =
                    serde_json::json!({"count": list.len(), "total": all.len(), "missed": list});
                (body.to_string().into_bytes(), "application/json")
            }
        };
        drop(guard);
        return Ok((
            [(header::CONTENT_TYPE, HeaderValue::from_static(ctype))],
            body,
        )
            .into_response());
    }
    let _ = (mon, limit);
    Err(not_configured("block monitor", MONITOR_HOW))
}

#[cfg(feature = "alerts")]
type Alerts = Option<std::sync::Arc<crate::alert::AlertManager>>;
#[cfg(not(feature = "alerts"))]
type Alerts = Option<std::sync::Arc<()>>;

fn alerts_page(a: Alerts, q: Option<String>) -> Result<Response, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    #[cfg(feature = "alerts")]
    if let Some(a) = a {
        let body = serde_json::json!({"stats": a.stats(), "recent": a.recent()});
        return Ok(super::params::json_response(StatusCode::OK, &body));
    }
    let _ = a;
    Err(not_configured(
        "alert manager",
        "HttpOptions::alerts, feature alerts",
    ))
}
