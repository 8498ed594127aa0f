//! Query parameters of the HTTP endpoints, parsed strictly: an unknown, repeated or
//! malformed parameter is a 400 whose JSON body names it. Also the JSON answers
//! themselves ([`json_response`]), which that error body and every endpoint use.
//!
//! A leaf of the `http` module: it names nothing else in it, so the router and the
//! event stream can both build on it.

use std::time::Duration;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::{parse_duration, Query, Severity, Timestamp};

/// A JSON response with `status`.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// A request the server refuses, as the JSON body and status it answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ApiError {
    #[serde(skip)]
    pub(crate) status: StatusCode,
    /// A stable, machine-readable code: `bad_parameter`, `unauthorized`, `not_found`, …
    pub(crate) error: &'static str,
    /// The parameter at fault, for `bad_parameter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parameter: Option<String>,
    /// The body field at fault, for `bad_body` (`speed`, `filter.min_severity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<String>,
    /// The value given, cut to 200 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<String>,
    /// What was wrong, for humans.
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error,
            parameter: None,
            field: None,
            value: None,
            message: message.into(),
        }
    }

    pub(crate) fn bad_parameter(name: &str, value: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "bad_parameter",
            parameter: Some(name.to_owned()),
            field: None,
            value: Some(value.chars().take(200).collect()),
            message: format!("{name}: {}", message.into()),
        }
    }

    /// A request body (or path segment) whose `field` is wrong: 400 `bad_body`.
    pub(crate) fn bad_field(field: &str, value: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: "bad_body",
            parameter: None,
            field: Some(field.to_owned()),
            value: (!value.is_empty()).then(|| value.chars().take(200).collect()),
            message: format!("{field}: {}", message.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut resp = json_response(status, &self);
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"flightring\""),
            );
        }
        resp
    }
}

/// A route's one `{name}` segment, percent-decoded. A segment that does not decode to
/// UTF-8 (`%C3%28`) is a 400 whose JSON body names it, where axum's own extractor would
/// answer in plain text.
pub(crate) struct PathName(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PathName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(name)) => Ok(PathName(name)),
            Err(e) => Err(ApiError::bad_field("name", "", e.body_text())),
        }
    }
}

/// The decoded `name=value` pairs of a query string, each name at most once.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes `raw` and checks every name is in `allowed` and given once.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (raw_k, raw_v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(raw_k).map_err(|why| ApiError::bad_parameter(raw_k, raw_v, why))?;
            let v = decode(raw_v).map_err(|why| ApiError::bad_parameter(&k, raw_v, why))?;
            if !allowed.contains(&&*k) {
                let expected = if allowed.is_empty() {
                    "this endpoint takes no parameters".to_owned()
                } else {
                    format!(
                        "unknown parameter (expected one of: {})",
                        allowed.join(", ")
                    )
                };
                return Err(ApiError::bad_parameter(&k, &v, expected));
            }
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(ApiError::bad_parameter(&k, &v, "given more than once"));
            }
            pairs.push((k, v));
        }
        Ok(Params { pairs })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty string parameter.
    pub(crate) fn text(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some("") => Err(ApiError::bad_parameter(name, "", "must not be empty")),
            v => Ok(v),
        }
    }

    pub(crate) fn severity(&self, name: &str) -> Result<Option<Severity>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_parameter(
                        name,
                        v,
                        "unknown severity (expected debug, info, warning, error or critical)",
                    )
                })
            })
            .transpose()
    }

    /// An integer in `1..=max`.
    pub(crate) fn count(&self, name: &str, max: usize) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|v| match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_parameter(
                    name,
                    v,
                    format!("expected a whole number from 1 to {max}"),
                )),
            })
            .transpose()
    }

    pub(crate) fn duration(&self, name: &str) -> Result<Option<Duration>, ApiError> {
        self.get(name)
            .map(|v| parse_duration(v).map_err(|e| ApiError::bad_parameter(name, v, e.to_string())))
            .transpose()
    }

    /// An RFC 3339 time, or a duration meaning that long before `now`.
    pub(crate) fn time(&self, name: &str, now: Timestamp) -> Result<Option<Timestamp>, ApiError> {
        self.get(name)
            .map(|v| {
                if let Ok(t) = v.parse::<Timestamp>() {
                    return Ok(t);
                }
                match parse_duration(v) {
                    Ok(ago) => Ok(now.saturating_sub(ago)),
                    Err(_) => Err(ApiError::bad_parameter(
                        name,
                        v,
                        "expected an RFC 3339 time (2026-11-22T08:00:00Z) or a duration ago (5m)",
                    )),
                }
            })
            .transpose()
    }
}

/// Decodes one `application/x-www-form-urlencoded` name or value strictly: `+` is a
/// space, `%` must be followed by two hex digits, and the result must be UTF-8.
fn decode(raw: &str) -> Result<String, &'static str> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let (Some(hi), Some(lo)) = (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(
                        "malformed percent-encoding (% must be followed by two hex digits)",
                    );
                };
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "percent-encoding that is not UTF-8")
}

/// The parameters `/events` and `/events/stream` take: the filters [`event_query`]
/// reads, then `limit` (each endpoint bounds it its own way).
pub(crate) const EVENT_PARAMS: [&str; 9] = [
    "min_severity",
    "kind",
    "peer",
    "since",
    "until",
    "contains",
    "text",
    "ignore_case",
    "limit",
];

/// Builds a [`Query`] from the filter parameters (and `limit`, if given).
pub(crate) fn event_query(p: &Params, limit: Option<usize>) -> Result<Query, ApiError> {
    let now = Timestamp::now();
    let mut q = Query::new();
    if let Some(n) = limit {
        q = q.limit(n);
    }
    if let Some(s) = p.severity("min_severity")? {
        q = q.min_severity(s);
    }
    if let Some(k) = p.text("kind")? {
        q = q.kind(k);
    }
    if let Some(peer) = p.text("peer")? {
        q = q.peer(peer);
    }
    let since = p.time("since", now)?;
    let until = p.time("until", now)?;
    if let (Some(s), Some(u), Some(raw)) = (since, until, p.get("until")) {
        if u < s {
            return Err(ApiError::bad_parameter("until", raw, "is before since"));
        }
    }
    if let Some(t) = since {
        q = q.since(t);
    }
    if let Some(t) = until {
        q = q.until(t);
    }
    if let Some(c) = p.text("contains")? {
        q = q.contains(c);
    }
    if let Some(t) = p.text("text")? {
        q = q.text(t);
    }
    match p.get("ignore_case") {
        None => {}
        Some("true" | "1" | "yes") => q = q.ignore_case(true),
        Some("false" | "0" | "no") => {}
        Some(raw) => {
            return Err(ApiError::bad_parameter(
                "ignore_case",
                raw,
                "must be true or false",
            ))
        }
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(raw: &str, allowed: &[&str]) -> ApiError {
        Params::parse(Some(raw), allowed).unwrap_err()
    }

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        let e = err("limit=5&colour=red", &["limit"]);
        assert_eq!(e.parameter.as_deref(), Some("colour"));
        assert!(
            e.message.contains("expected one of: limit"),
            "{}",
            e.message
        );
        let e = err("limit=5&limit=6", &["limit"]);
        assert_eq!(e.parameter.as_deref(), Some("limit"));
        assert!(e.message.contains("more than once"));
        let e = err("x=1", &[]);
        assert!(e.message.contains("takes no parameters"));
    }

    #[test]
    fn malformed_percent_encoding_is_refused_naming_the_parameter() {
        for (raw, name) in [
            ("kind=%ZZ", "kind"),
            ("kind=%C3%28", "kind"),
            ("kind=a%2", "kind"),
            ("ki%nd=a", "ki%nd"),
        ] {
            let e = err(raw, &["kind"]);
            assert_eq!(e.parameter.as_deref(), Some(name), "{raw}");
            assert!(e.message.contains("percent-encoding"), "{}", e.message);
        }
        let p = Params::parse(Some("kind=a+b%2Fc%C3%A9"), &["kind"]).unwrap();
        assert_eq!(p.get("kind"), Some("a b/cé"));
    }

    #[test]
    fn values_are_checked() {
        let p = Params::parse(
            Some("limit=0&min_severity=loud&since=yesterday"),
            &EVENT_PARAMS,
        )
        .unwrap();
        assert_eq!(
            p.count("limit", 10).unwrap_err().parameter.as_deref(),
            Some("limit")
        );
        assert_eq!(
            p.severity("min_severity").unwrap_err().parameter.as_deref(),
            Some("min_severity")
        );
        let now = Timestamp::now();
        assert_eq!(
            p.time("since", now).unwrap_err().parameter.as_deref(),
            Some("since")
        );
    }

    #[test]
    fn times_are_rfc3339_or_durations_ago() {
        let p = Params::parse(
            Some("since=5m&until=2026-11-22T08%3A00%3A00Z&kind=rpc%20call"),
            &EVENT_PARAMS,
        )
        .unwrap();
        let now: Timestamp = "2026-11-22T09:00:00Z".parse().unwrap();
        assert_eq!(
            p.time("since", now).unwrap(),
            Some("2026-11-22T08:55:00Z".parse().unwrap())
        );
        assert_eq!(
            p.time("until", now).unwrap(),
            Some("2026-11-22T08:00:00Z".parse().unwrap())
        );
        assert_eq!(p.text("kind").unwrap(), Some("rpc call"));
        let p = Params::parse(Some("since=5m&until=2000-01-01T00:00:00Z"), &EVENT_PARAMS).unwrap();
        let e = event_query(&p, None).unwrap_err();
        assert_eq!(e.parameter.as_deref(), Some("until"), "until before since");
    }
}
