//! The recordings REST API (JSON), over the directory given with
//! [`HttpOptions::recordings_dir`](super::HttpOptions::recordings_dir):
//!
//! | request | does |
//! | --- | --- |
//! | `GET /api/recordings` | `{"recordings": [{name, events, duration_secs, start_time, bytes}]}` |
//! | `GET /api/recordings/NAME` | the recording's [`Summary`] |
//! | `GET /api/recordings/NAME/events?kind=&severity=&limit=` | `{count, total, events: [{offset_ms, event}]}` (`severity`: the minimum) |
//! | `GET /api/recordings/NAME/fields` | `{fields: [{name, count, types}]}`: every metadata key |
//! | `POST /api/recordings` `{source, name, indices?, filter?}` | writes a filtered recording `name` (201) |
//! | `POST /api/record/start` `{session_name}` | starts a session over the served recorder |
//! | `POST /api/record/event` `{kind, severity?, message?, peer?, fields?}` | records an event |
//! | `POST /api/record/stop` | stops the session and saves it as `NAME.recording.json` |
//! | `GET /api/record/status` | `{recording, session_name, events, start_time}` |
//! | `POST /api/replay/start/NAME` `{speed?}` | replays NAME into the served recorder |
//! | `POST /api/replay/pause` · `resume` · `stop` · `speed` `{speed}` | steer it |
//! | `GET /api/replay/status` | `{state, name, done, total, speed, report}` |
//!
//! A NAME is 1–128 of `A-Z a-z 0-9 _ . -`, not starting with `.`: anything else (a
//! `/`, `..`) is a 400 naming `name`, so no request reaches outside the directory. A
//! bad body is a 400 `bad_body` whose `field` names the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::params::{json_response, ApiError, Params, PathName};
use super::HttpOptions;
use crate::recording::{Filter, Recording, RecordingSession};
use crate::replay::{check_speed, ReplayHandle, ReplayReport, Replayer};
use crate::{Event, Recorder, Severity, Timestamp};

const SUFFIX: &str = ".recording.json";

/// What the handlers share.
struct Api {
    rec: Recorder,
    dir: Option<PathBuf>,
    max_events: usize,
    session: Mutex<Option<RecordingSession>>,
    replay: Mutex<Option<Run>>,
}

/// The replay in progress (or the last one).
struct Run {
    name: String,
    speed: f64,
    total: u64,
    handle: Option<ReplayHandle>,
    report: Option<ReplayReport>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

/// Checks a recording name (see the module docs).
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_field(
            field,
            name,
            "a recording name is 1 to 128 of A-Z a-z 0-9 _ . - and does not start with . or hold ..",
        ))
    }
}

/// Parses a JSON body; an empty body reads as `{}`.
fn body<T: DeserializeOwned>(b: &Bytes) -> Result<T, ApiError> {
    let text: &[u8] = if b.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        b
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        let field = if path != "." {
            path
        } else {
            // A missing or unknown field is reported at the parent: take its name
            // from serde's message ("missing field `speed`").
            msg.split('`').nth(1).unwrap_or("(body)").to_owned()
        };
        ApiError::bad_field(&field, "", msg)
    })
}

impl Api {
    fn dir(&self) -> Result<&Path, ApiError> {
        self.dir.as_deref().ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_configured",
                "no recordings directory is configured (HttpOptions::recordings_dir)",
            )
        })
    }

    fn path_of(&self, field: &str, name: &str) -> Result<PathBuf, ApiError> {
        check_name(field, name)?;
        Ok(self.dir()?.join(format!("{name}{SUFFIX}")))
    }

    /// Opens recording `name` (off the async threads).
    async fn open(self: &Arc<Self>, field: &str, name: &str) -> Result<Recording, ApiError> {
        let path = self.path_of(field, name)?;
        if !path.is_file() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no recording named {name:?}"),
            ));
        }
        tokio::task::spawn_blocking(move || Recording::open(&path))
            .await
            .map_err(internal)?
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "bad_recording",
                    e.to_string(),
                )
            })
    }
}

/// The routes, for any router state.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(
    rec: Recorder,
    opts: &HttpOptions,
) -> Router<S> {
    let api = Arc::new(Api {
        rec,
        dir: opts.recordings_dir.clone(),
        max_events: opts.max_events,
        session: Mutex::new(None),
        replay: Mutex::new(None),
    });
    macro_rules! h {
        ($f:ident) => {{
            let api = api.clone();
            move || {
                let api = api.clone();
                async move { $f(api).await }
            }
        }};
        ($f:ident, body) => {{
            let api = api.clone();
            move |b: Bytes| {
                let api = api.clone();
                async move { $f(api, b).await }
            }
        }};
    }
    let (a1, a2, a3, a4) = (api.clone(), api.clone(), api.clone(), api.clone());
    Router::new()
        .route("/api/recordings", get(h!(list)).post(h!(create, body)))
        .route(
            "/api/recordings/{name}",
            get(move |PathName(name): PathName| {
                let api = a1.clone();
                async move { metadata(api, name).await }
            }),
        )
        .route(
            "/api/recordings/{name}/events",
            get(move |PathName(name): PathName, RawQuery(q): RawQuery| {
                let api = a2.clone();
                async move { events(api, name, q).await }
            }),
        )
        .route(
            "/api/recordings/{name}/fields",
            get(move |PathName(name): PathName| {
                let api = a3.clone();
                async move { fields(api, name).await }
            }),
        )
        .route("/api/record/start", post(h!(record_start, body)))
        .route("/api/record/event", post(h!(record_event, body)))
        .route("/api/record/stop", post(h!(record_stop, body)))
        .route("/api/record/status", get(h!(record_status)))
        .route(
            "/api/replay/start/{name}",
            post(move |PathName(name): PathName, b: Bytes| {
                let api = a4.clone();
                async move { replay_start(api, name, b).await }
            }),
        )
        .route("/api/replay/pause", post(h!(replay_pause, body)))
        .route("/api/replay/resume", post(h!(replay_resume, body)))
        .route("/api/replay/stop", post(h!(replay_stop, body)))
        .route("/api/replay/speed", post(h!(replay_speed, body)))
        .route("/api/replay/status", get(h!(replay_status)))
}

#[derive(Serialize)]
struct Listed {
    name: String,
    events: usize,
    duration_secs: f64,
    start_time: Timestamp,
    bytes: u64,
}

async fn list(api: Arc<Api>) -> Result<Response, ApiError> {
    let dir = api.dir()?.to_owned();
    let listed = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Listed>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(SUFFIX)) else {
                continue;
            };
            if check_name("name", name).is_err() {
                continue;
            }
            // A file that does not open is left out of the list, not an error.
            if let Ok(r) = Recording::open(entry.path()) {
                out.push(Listed {
                    name: name.to_owned(),
                    events: r.events.len(),
                    duration_secs: r.duration.as_secs_f64(),
                    start_time: r.start_time,
                    bytes: entry.metadata().map_or(0, |m| m.len()),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"count": listed.len(), "recordings": listed}),
    ))
}

async fn metadata(api: Arc<Api>, name: String) -> Result<Response, ApiError> {
    let r = api.open("name", &name).await?;
    let mut v = serde_json::to_value(r.summary()).map_err(internal)?;
    v["gaps"] = serde_json::to_value(&r.gaps).map_err(internal)?;
    Ok(json_response(StatusCode::OK, &v))
}

#[derive(Serialize)]
struct OffsetEvent<'a> {
    offset_ms: f64,
    event: &'a crate::EventRecord,
}

async fn events(api: Arc<Api>, name: String, q: Option<String>) -> Result<Response, ApiError> {
    check_name("name", &name)?;
    let p = Params::parse(q.as_deref(), &["kind", "severity", "limit"])?;
    let kind = p.text("kind")?.map(str::to_owned);
    let min = p.severity("severity")?;
    let limit = p
        .count("limit", api.max_events)?
        .unwrap_or(1000.min(api.max_events));
    let r = api.open("name", &name).await?;
    let matching: Vec<OffsetEvent<'_>> = r
        .events
        .iter()
        .filter(|e| kind.as_deref().is_none_or(|k| e.kind == k))
        .filter(|e| min.is_none_or(|s| e.severity >= s))
        .map(|e| OffsetEvent {
            offset_ms: r.offset(e).as_secs_f64() * 1e3,
            event: e,
        })
        .collect();
    let total = matching.len();
    let shown = &matching[..total.min(limit)];
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"count": shown.len(), "total": total, "events": shown}),
    ))
}

#[derive(Serialize, Default)]
struct FieldInfo {
    name: String,
    count: u64,
    types: Vec<&'static str>,
}

async fn fields(api: Arc<Api>, name: String) -> Result<Response, ApiError> {
    let r = api.open("name", &name).await?;
    let mut by: BTreeMap<String, FieldInfo> = BTreeMap::new();
    for e in &r.events {
        let v = serde_json::to_value(&e.metadata).map_err(internal)?;
        let Some(obj) = v.as_object() else { continue };
        for (k, val) in obj {
            let t = match val {
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(n) if n.is_f64() => "float",
                serde_json::Value::Number(_) => "integer",
                serde_json::Value::Bool(_) => "bool",
                serde_json::Value::Null => "null",
                _ => "other",
            };
            let f = by.entry(k.clone()).or_insert_with(|| FieldInfo {
                name: k.clone(),
                ..FieldInfo::default()
            });
            f.count += 1;
            if !f.types.contains(&t) {
                f.types.push(t);
            }
        }
    }
    let list: Vec<FieldInfo> = by.into_values().collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"count": list.len(), "fields": list}),
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    min_severity: Option<Severity>,
    max_severity: Option<Severity>,
    kind: Option<String>,
    peer: Option<String>,
    text: Option<String>,
    from_offset_ms: Option<u64>,
    to_offset_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    source: String,
    name: String,
    indices: Option<Vec<usize>>,
    filter: Option<FilterBody>,
}

async fn create(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let req: CreateBody = body(&b)?;
    check_name("source", &req.source)?;
    let target = api.path_of("name", &req.name)?;
    if target.exists() {
        return Err(conflict(format!("a recording named {:?} exists", req.name)));
    }
    let src = api.open("source", &req.source).await?;
    let mut out = match &req.indices {
        Some(ix) => {
            if let Some(&bad) = ix.iter().find(|&&i| i >= src.events.len()) {
                return Err(ApiError::bad_field(
                    "indices",
                    &bad.to_string(),
                    format!(
                        "index out of range: the source has {} events",
                        src.events.len()
                    ),
                ));
            }
            let events = ix.iter().map(|&i| src.events[i].clone()).collect();
            Recording::from_events(req.name.clone(), events)
        }
        None => src.clone(),
    };
    if let Some(f) = req.filter {
        let mut flt = Filter::new();
        if let Some(s) = f.min_severity {
            flt = flt.min_severity(s);
        }
        if let Some(s) = f.max_severity {
            flt = flt.max_severity(s);
        }
        if let Some(k) = f.kind.filter(|k| !k.is_empty()) {
            flt = flt.kind(k);
        }
        if let Some(p) = f.peer.filter(|p| !p.is_empty()) {
            flt = flt.peer(p);
        }
        if let Some(t) = f.text.filter(|t| !t.is_empty()) {
            flt = flt.text(t);
        }
        if let Some(ms) = f.from_offset_ms {
            flt = flt.from_offset(Duration::from_millis(ms));
        }
        if let Some(ms) = f.to_offset_ms {
            flt = flt.to_offset(Duration::from_millis(ms));
        }
        out = flt.apply(&out);
    }
    out.name = req.name.clone();
    let summary = out.summary();
    tokio::task::spawn_blocking(move || out.save_as(&target))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Ok(json_response(StatusCode::CREATED, &summary))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    session_name: String,
}

async fn record_start(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let req: StartBody = body(&b)?;
    check_name("session_name", &req.session_name)?;
    api.dir()?;
    let mut s = lock(&api.session);
    if let Some(cur) = s.as_ref() {
        return Err(conflict(format!(
            "session {:?} is already recording; stop it first",
            cur.name()
        )));
    }
    let session = api.rec.start_recording(req.session_name);
    let body = status_of(Some(&session));
    *s = Some(session);
    Ok(json_response(StatusCode::OK, &body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    kind: String,
    #[serde(default = "info")]
    severity: Severity,
    message: Option<String>,
    peer: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, serde_json::Value>,
}

fn info() -> Severity {
    Severity::Info
}

async fn record_event(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let req: EventBody = body(&b)?;
    if req.kind.is_empty() {
        return Err(ApiError::bad_field("kind", "", "must not be empty"));
    }
    let mut ev = Event::new(&req.kind, req.severity);
    if let Some(m) = &req.message {
        ev = ev.message(m);
    }
    if let Some(p) = &req.peer {
        ev = ev.peer(p);
    }
    for (k, v) in &req.fields {
        ev = match v {
            serde_json::Value::String(s) => ev.field(k, s.as_str()),
            serde_json::Value::Bool(x) => ev.field(k, *x),
            serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => ev.field(k, u),
                (None, Some(i), _) => ev.field(k, i),
                (None, None, Some(f)) => ev.field(k, f),
                _ => ev,
            },
            _ => {
                return Err(ApiError::bad_field(
                    &format!("fields.{k}"),
                    "",
                    "a field value is a string, a number or a boolean",
                ))
            }
        };
    }
    api.rec.record(&ev);
    let session = lock(&api.session).as_ref().map(|s| s.name().to_owned());
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"recorded": true, "session_name": session}),
    ))
}

fn status_of(s: Option<&RecordingSession>) -> serde_json::Value {
    match s {
        Some(s) => serde_json::json!({
            "recording": true,
            "session_name": s.name(),
            "events": s.len(),
            "start_time": s.start_time(),
        }),
        None => {
            serde_json::json!({"recording": false, "session_name": null, "events": 0, "start_time": null})
        }
    }
}

async fn record_stop(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let _: serde_json::Map<String, serde_json::Value> = body(&b)?;
    let dir = api.dir()?.to_owned();
    let Some(session) = lock(&api.session).take() else {
        return Err(conflict("no session is recording"));
    };
    let (r, path) = tokio::task::spawn_blocking(move || session.save(&dir))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "name": r.name, "events": r.events.len(), "duration_secs": r.duration.as_secs_f64(),
            "file": path.file_name().and_then(|f| f.to_str()),
        }),
    ))
}

async fn record_status(api: Arc<Api>) -> Result<Response, ApiError> {
    api.dir()?;
    let s = lock(&api.session);
    Ok(json_response(StatusCode::OK, &status_of(s.as_ref())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeedBody {
    speed: f64,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartReplay {
    speed: Option<f64>,
}

fn speed_of(field: &str, x: f64) -> Result<f64, ApiError> {
    check_speed(x).map_err(|e| ApiError::bad_field(field, &x.to_string(), e.to_string()))
}

async fn replay_start(api: Arc<Api>, name: String, b: Bytes) -> Result<Response, ApiError> {
    let req: StartReplay = body(&b)?;
    let speed = speed_of("speed", req.speed.unwrap_or(1.0))?;
    let r = api.open("name", &name).await?;
    let mut run = lock(&api.replay);
    if let Some(cur) = run.as_ref() {
        if cur.handle.as_ref().is_some_and(|h| !h.is_finished()) {
            return Err(conflict(format!(
                "replay of {:?} is running; stop it first",
                cur.name
            )));
        }
    }
    let total = r.events.len() as u64;
    let handle = Replayer::new(r)
        .speed(speed)
        .map_err(|e| ApiError::bad_field("speed", &speed.to_string(), e.to_string()))?
        .spawn(api.rec.clone())
        .map_err(internal)?;
    *run = Some(Run {
        name,
        speed,
        total,
        handle: Some(handle),
        report: None,
    });
    Ok(json_response(StatusCode::OK, &replay_body(run.as_mut())))
}

/// The status body; a finished replay's thread is joined here and its report kept.
fn replay_body(run: Option<&mut Run>) -> serde_json::Value {
    let Some(run) = run else {
        return serde_json::json!({"state": "idle", "name": null, "done": 0, "total": 0, "speed": null, "report": null});
    };
    if run.handle.as_ref().is_some_and(ReplayHandle::is_finished) {
        if let Some(h) = run.handle.take() {
            run.report = h.join().ok();
        }
    }
    let (state, done, total) = match &run.handle {
        Some(h) => {
            let (d, t) = h.progress();
            (if h.is_paused() { "paused" } else { "running" }, d, t)
        }
        None => {
            let r = run.report.as_ref();
            let stopped = r.is_some_and(|r| r.stopped);
            (
                if stopped { "stopped" } else { "finished" },
                r.map_or(0, |r| r.replayed),
                run.total,
            )
        }
    };
    serde_json::json!({
        "state": state, "name": run.name, "done": done, "total": total,
        "speed": run.speed, "report": run.report,
    })
}

fn with_running(
    api: &Api,
    f: impl FnOnce(&ReplayHandle) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    let mut run = lock(&api.replay);
    match run.as_ref().and_then(|r| r.handle.as_ref()) {
        Some(h) if !h.is_finished() => f(h)?,
        _ => return Err(conflict("no replay is running")),
    }
    Ok(json_response(StatusCode::OK, &replay_body(run.as_mut())))
}

async fn replay_pause(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let _: serde_json::Map<String, serde_json::Value> = body(&b)?;
    with_running(&api, |h| {
        h.pause();
        Ok(())
    })
}

async fn replay_resume(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let _: serde_json::Map<String, serde_json::Value> = body(&b)?;
    with_running(&api, |h| {
        h.resume();
        Ok(())
    })
}

async fn replay_stop(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let _: serde_json::Map<String, serde_json::Value> = body(&b)?;
    with_running(&api, |h| {
        h.stop();
        Ok(())
    })
}

async fn replay_speed(api: Arc<Api>, b: Bytes) -> Result<Response, ApiError> {
    let req: SpeedBody = body(&b)?;
    let x = speed_of("speed", req.speed)?;
    let mut guard = lock(&api.replay);
    let Some(run) = guard.as_mut() else {
        return Err(conflict("no replay is running"));
    };
    match &run.handle {
        Some(h) if !h.is_finished() => h
            .set_speed(x)
            .map_err(|e| ApiError::bad_field("speed", &x.to_string(), e.to_string()))?,
        _ => return Err(conflict("no replay is running")),
    }
    run.speed = x;
    Ok(json_response(StatusCode::OK, &replay_body(Some(run))))
}

async fn replay_status(api: Arc<Api>) -> Result<Response, ApiError> {
    api.dir()?;
    let mut run = lock(&api.replay);
    Ok(json_response(StatusCode::OK, &replay_body(run.as_mut())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_directory() {
        for bad in [
            "../../etc/passwd",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "",
            "x..y",
            "é",
        ] {
            let e = check_name("name", bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("name"), "{bad}");
        }
        for good in ["bull_run_2025", "a.b-c", "X1"] {
            check_name("name", good).unwrap();
        }
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = body::<SpeedBody>(&Bytes::from_static(b"{}")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("speed"));
        let e = body::<SpeedBody>(&Bytes::from_static(b"{\"speed\":\"fast\"}")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("speed"));
        let e = body::<StartBody>(&Bytes::from_static(b"{\"session_name\":\"a\",\"x\":1}"))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("x"));
        let e = body::<CreateBody>(&Bytes::from_static(
            b"{\"source\":\"a\",\"name\":\"b\",\"filter\":{\"min_severity\":\"loud\"}}",
        ))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("filter.min_severity"));
    }
}
