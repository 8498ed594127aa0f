//! Redaction: every default key in several spellings, every URL and `name=value` form,
//! values that must be left alone, truncation that never leaks, the event-level call,
//! and no allocation (a counting global allocator counts this thread's allocations).

use flightring::{Event, FieldValue, RedactionConfig, Redactor, Severity, DEFAULT_DENY_KEYS};
use proptest::prelude::*;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations_in as allocations;

fn redactor() -> Redactor {
    RedactionConfig::default().compile()
}

fn redact(r: &Redactor, text: &str) -> String {
    let mut scratch = [0u8; 1024];
    let out = r.redact_text(text, &mut scratch);
    assert_eq!(out.changed(), out.text() != text, "{text}");
    assert_eq!(r.text_needs_redaction(text), out.changed(), "{text}");
    out.text().to_owned()
}

fn snake_to_camel(k: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn every_default_key_in_every_spelling() {
    let r = redactor();
    for &k in DEFAULT_DENY_KEYS {
        let camel = snake_to_camel(k);
        let mut pascal = camel.clone();
        pascal[..1].make_ascii_uppercase();
        for key in [
            k.to_owned(),
            k.to_uppercase(),
            camel.clone(),
            pascal.clone(),
            k.replace('_', "-"),
            k.replace('_', ""),
            format!("x-{}", k.replace('_', "-")),
            format!("db_{k}"),
            format!("{k}_2"),
            format!("my{pascal}"),
            format!("{}.{k}", "rpc"),
        ] {
            assert!(r.redact_key(&key), "{key} (from {k})");
        }
    }
    for key in [
        "API_KEY",
        "Authorization",
        "authorization",
        "Proxy-Authorization",
        "apiKey",
        "APIKey",
        "x-api-key",
        "exchangeApiKey",
        "privateKey",
        "wallet_private_key",
        "client_secret",
        "SECRET",
        "DB_PASSWORD",
        "access_token",
        "refreshToken",
        "Signature",
        "X-Amz-Signature",
        "wallet_seed",
        "MNEMONIC",
        "Set-Cookie",
    ] {
        assert!(r.redact_key(key), "{key}");
    }
    // Keys of more than 64 letters take another path, with the same answers.
    let long = format!("{}api_key", "x_".repeat(40));
    assert!(r.redact_key(&long));
    assert!(r.redact_key(&format!("{long}_{}", "y".repeat(80))));
    assert!(!r.redact_key(&"tokens_".repeat(20)));
}

#[test]
fn other_keys_are_kept() {
    let r = redactor();
    for key in [
        "",
        "_",
        "address",
        "peer",
        "msg_type",
        "size",
        "tokens",
        "tokenizer",
        "secretary",
        "passwords",
        "api_keys",
        "public_key",
        "key",
        "keyboard",
        "seeds",
        "signal",
        "design",
        "block",
        "endpoint",
        "method",
        "duration_ms",
        "routes_generated",
        "pubkey",
        "é",
        // A swap's tokens are addresses (DEFAULT_ALLOW_KEYS), not secrets.
        "token_in",
        "tokenIn",
        "token_out",
        "TOKEN0",
    ] {
        assert!(!r.redact_key(key), "{key}");
    }
}

#[test]
fn allow_extra_and_replaced_keys() {
    let cfg = RedactionConfig {
        extra_deny_keys: vec!["session_id".into(), " ".into()],
        allow_keys: vec!["token_in".into(), "token-out".into()],
        ..RedactionConfig::default()
    };
    let r = cfg.compile();
    assert!(r.redact_key("sessionId") && r.redact_key("SESSION_ID"));
    assert!(!r.redact_key("tokenIn") && !r.redact_key("TOKEN_OUT"));
    assert!(r.redact_key("token_in_amount") && r.redact_key("token"));
    assert_eq!(redact(&r, "swap token_in=0xabc"), "swap token_in=0xabc");

    let only = RedactionConfig {
        deny_keys: vec!["otp".into()],
        ..RedactionConfig::default()
    }
    .compile();
    assert!(only.redact_key("otp") && !only.redact_key("password"));

    let off = RedactionConfig::disabled().compile();
    assert!(!off.is_active() && !off.redact_key("password"));
    assert_eq!(
        redact(&off, "https://u:p@h/?token=x"),
        "https://u:p@h/?token=x"
    );
    let urls_only = RedactionConfig {
        key_value_pairs: false,
        ..RedactionConfig::default()
    }
    .compile();
    assert_eq!(
        redact(&urls_only, "https://u:p@h/?token=x"),
        "https://[REDACTED]@h/?token=x"
    );
    let pairs_only = RedactionConfig {
        url_credentials: false,
        ..RedactionConfig::default()
    }
    .compile();
    assert_eq!(
        redact(&pairs_only, "https://u:p@h/?token=x"),
        "https://u:p@h/?token=[REDACTED]"
    );
}

#[test]
fn url_credentials_and_pairs() {
    let r = redactor();
    for (input, want) in [
        (
            "https://user:pass@host/path",
            "https://[REDACTED]@host/path",
        ),
        ("https://user:pass@host", "https://[REDACTED]@host"),
        (
            "postgres://admin:s3cr3t@db.internal:5432/app",
            "postgres://[REDACTED]@db.internal:5432/app",
        ),
        (
            "redis://:pw@localhost:6379/0",
            "redis://[REDACTED]@localhost:6379/0",
        ),
        (
            "https://ghp_abc123@github.com/o/r.git",
            "https://[REDACTED]@github.com/o/r.git",
        ),
        ("https://u:p@ss@host/x", "https://[REDACTED]@host/x"),
        ("wss://u:p@node:8546", "wss://[REDACTED]@node:8546"),
        (
            "connect to https://a:b@one.example and http://c:d@two.example/x now",
            "connect to https://[REDACTED]@one.example and http://[REDACTED]@two.example/x now",
        ),
        ("url=\"https://a:b@h/p\"", "url=\"https://[REDACTED]@h/p\""),
        (
            "https://rpc.example/v1?apikey=abc123",
            "https://rpc.example/v1?apikey=[REDACTED]",
        ),
        (
            "https://rpc.example/v1?chain=1&token=abc&page=2",
            "https://rpc.example/v1?chain=1&token=[REDACTED]&page=2",
        ),
        (
            "https://h/?api-key=abc&x=1",
            "https://h/?api-key=[REDACTED]&x=1",
        ),
        ("https://h/p;api_key=abc", "https://h/p;api_key=[REDACTED]"),
        (
            "https://h/?access_token=abc#frag",
            "https://h/?access_token=[REDACTED]",
        ),
        (
            "https://b.s3.example/o?X-Amz-Signature=ff00&X-Amz-Date=1",
            "https://b.s3.example/o?X-Amz-Signature=[REDACTED]&X-Amz-Date=1",
        ),
        (
            "https://acct.blob.example/c?sv=2022&sig=abc%3D",
            "https://acct.blob.example/c?sv=2022&sig=[REDACTED]",
        ),
        (
            "login failed user=bob password=hunter2 attempt=3",
            "login failed user=bob password=[REDACTED] attempt=3",
        ),
        ("password=\"hunter 2\" next", "password=\"[REDACTED]\" next"),
        ("secret='a b' c", "secret='[REDACTED]' c"),
        ("token=abc==", "token=[REDACTED]"),
        (
            "https://u:p@h/?apikey=k&n=1",
            "https://[REDACTED]@h/?apikey=[REDACTED]&n=1",
        ),
        (
            "ssh://git@github.com/o/r",
            "ssh://[REDACTED]@github.com/o/r",
        ),
        ("é https://ü:ö@h é", "é https://[REDACTED]@h é"),
        ("mnemonic=abandon\tnext", "mnemonic=[REDACTED]\tnext"),
    ] {
        assert_eq!(redact(&r, input), want, "{input}");
    }
}

#[test]
fn values_left_alone() {
    let r = redactor();
    for text in [
        "",
        "plain text, nothing to see",
        "alice@example.com",
        "mail alice@example.com now",
        "mailto:alice@example.com",
        "https://x.com/@alice",
        "https://host/path?page=2&limit=50",
        "http://host:8080/path@v2",
        "a=b",
        "x == y",
        "1+1=2",
        "abc==",
        "tokens=5",
        "token=",
        "token=&x=1",
        "=",
        "@",
        "@@@",
        "://@",
        "https://@host",
        "192.168.1.100:8333",
        "peer123",
    ] {
        assert_eq!(redact(&r, text), text, "{text}");
    }
}

#[test]
fn truncation_keeps_a_prefix_of_the_redacted_text() {
    let r = redactor();
    let text = "GET https://alice:supersecret@rpc.example/v1?apikey=topsecret&n=1";
    let full = redact(&r, text);
    for n in 0..full.len() + 2 {
        let mut scratch = vec![0u8; n];
        let out = r.redact_text(text, &mut scratch);
        assert!(out.changed());
        assert_eq!(out.truncated(), n < full.len(), "{n}");
        assert!(full.starts_with(out.text()), "{n}: {}", out.text());
        assert!(!out.text().contains("secret"), "{n}");
    }
    // Cut on a char boundary.
    let text = "ééé https://a:b@h";
    let mut scratch = [0u8; 5];
    let out = r.redact_text(text, &mut scratch);
    assert_eq!(out.text(), "éé");
    assert!(out.truncated());
}

#[test]
fn events_are_redacted_on_the_way_in() {
    let r = redactor();
    let ev = Event::new("rpc_call", Severity::Info)
        .peer("peer-1")
        .message("GET https://u:p@rpc.example/?apikey=abc")
        .field("endpoint", "https://rpc.example/?token=abc&n=1")
        .field("api_key", "abc")
        .field("seed", 42u64)
        .field("ok", true)
        .field("method", "eth_call");
    let (message, fields) = r.with_redacted(&ev, |e| {
        let fields: Vec<(String, String)> = e
            .fields()
            .map(|(k, v)| (k.to_owned(), format!("{v:?}")))
            .collect();
        (format!("{e:?}"), fields)
    });
    assert!(
        message.contains("GET https://[REDACTED]@rpc.example/?apikey=[REDACTED]"),
        "{message}"
    );
    assert!(message.contains("peer-1") && message.contains("rpc_call"));
    let want = [
        (
            "endpoint",
            "Str(\"https://rpc.example/?token=[REDACTED]&n=1\")",
        ),
        ("api_key", "Str(\"[REDACTED]\")"),
        ("seed", "Str(\"[REDACTED]\")"),
        ("ok", "Bool(true)"),
        ("method", "Str(\"eth_call\")"),
    ];
    assert_eq!(fields.len(), want.len());
    for ((k, v), (wk, wv)) in fields.iter().zip(want) {
        assert_eq!((k.as_str(), v.as_str()), (wk, wv));
    }
    assert!(r.needs_redaction(&ev));

    // Nothing to change: the very same event is passed on.
    let clean = Event::new("rpc_call", Severity::Info)
        .message("mail alice@example.com, page=2")
        .field("endpoint", "https://rpc.example/v1")
        .field("size", 1024u64);
    assert!(!r.needs_redaction(&clean));
    assert!(r.with_redacted(&clean, |e| std::ptr::eq(e, &clean)));

    // Every field rewritten, long message: the scratch is shared without loss.
    let long = format!("{} https://u:p@h", "x".repeat(900));
    let mut ev = Event::new("k", Severity::Info).message(&long);
    let vals: Vec<String> = (0..8)
        .map(|i| format!("https://user{i}:pw{i}@host{i}/?token=t{i}"))
        .collect();
    for v in &vals {
        ev = ev.field("url", v.as_str());
    }
    r.with_redacted(&ev, |e| {
        let dbg = format!("{e:?}");
        assert!(!dbg.contains("pw") && !dbg.contains("=t"), "{dbg}");
        for (i, (_, v)) in e.fields().enumerate() {
            assert_eq!(
                v,
                FieldValue::Str(&format!("https://[REDACTED]@host{i}/?token=[REDACTED]"))
            );
        }
    });
}

#[test]
fn redaction_allocates_nothing() {
    let r = redactor();
    let secret = Event::new("rpc_call", Severity::Info)
        .message("GET https://u:p@rpc.example/?apikey=abc")
        .field("endpoint", "https://rpc.example/?token=abc&n=1")
        .field("password", "hunter2")
        .field("n", 1u64);
    let clean = Event::new("rpc_call", Severity::Info)
        .message("block 1234 processed in 950 ms")
        .field("endpoint", "https://rpc.example/v1")
        .field("method", "eth_call")
        .field("size", 1024u64);
    let mut scratch = [0u8; 256];
    let mut seen = 0usize;
    let n = allocations(|| {
        for _ in 0..1_000 {
            seen += r.with_redacted(&secret, |e| e.fields().count());
            seen += r.with_redacted(&clean, |e| e.fields().count());
            seen += usize::from(r.redact_key("Authorization"));
            seen += r
                .redact_text("https://a:b@h/?token=x", &mut scratch)
                .text()
                .len();
        }
    });
    assert_eq!(n, 0, "allocations while redacting");
    assert!(seen > 0);
}

/// End to end, once the record path calls `Redactor::with_redacted` (see the
/// integration notes in `src/redact.rs`): nothing denied reaches the ring.
#[test]
fn recorder_redacts_on_the_record_path() {
    let rec = flightring::Recorder::builder()
        .capacity(64)
        .slot_bytes(256)
        .build()
        .unwrap();
    rec.record(
        &Event::new("rpc_call", Severity::Info)
            .message("GET https://bob:hunter2@rpc.example/?apikey=abc")
            .field("api_key", "abc")
            .field("endpoint", "https://rpc.example/?token=abc&n=1")
            .field("size", 10u64),
    );
    let json = rec.export_json().unwrap();
    assert!(!json.contains("hunter2") && !json.contains("abc"), "{json}");
    let ev = &rec.query(&flightring::Query::new())[0];
    assert_eq!(
        ev.message,
        "GET https://[REDACTED]@rpc.example/?apikey=[REDACTED]"
    );
    assert_eq!(
        ev.metadata.get("api_key").unwrap().as_str(),
        Some("[REDACTED]")
    );
    assert_eq!(ev.metadata.get("size").unwrap().as_u64(), Some(10));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 16 } else { 512 }))]

    /// A secret placed in any supported position never comes out, whatever surrounds it.
    #[test]
    fn secrets_never_leak(
        before in "[ -~]{0,40}",
        after in "[ -~&/]{0,40}",
        secret in "[A-Za-z0-9]{12,24}",
        form in 0usize..6,
    ) {
        let r = redactor();
        let planted = match form {
            0 => format!("https://user:{secret}@host/p"),
            1 => format!("https://{secret}@host"),
            2 => format!("https://h/x?a=1&apikey={secret}"),
            3 => format!("password={secret}"),
            4 => format!("access_token=\"{secret}\""),
            _ => format!("wss://u:{secret}@node:8546/?token={secret}"),
        };
        let text = format!("{before} {planted} {after}");
        let mut scratch = [0u8; 1024];
        let out = r.redact_text(&text, &mut scratch);
        prop_assert!(!out.text().contains(&secret), "{} -> {}", text, out.text());
        prop_assert!(std::str::from_utf8(out.text().as_bytes()).is_ok());
    }

    /// Redacting never panics and keeps UTF-8, on any input.
    #[test]
    fn any_text_is_fine(text in "\\PC{0,80}", n in 0usize..200) {
        let r = redactor();
        let mut scratch = vec![0u8; n];
        let out = r.redact_text(&text, &mut scratch);
        prop_assert!(out.text().len() <= text.len().max(n));
        let _ = r.redact_key(&text);
    }
}

/// Only the text rules that are on look at the message and string values: with both
/// off (key rules only), text is not even scanned, and keys are still denied.
#[test]
fn needs_redaction_follows_the_rules_that_are_on() {
    let url = "GET https://u:p@h/";
    let pair = "retry with token=abc";
    let keys_only = RedactionConfig {
        url_credentials: false,
        key_value_pairs: false,
        ..RedactionConfig::default()
    }
    .compile();
    let urls_only = RedactionConfig {
        key_value_pairs: false,
        ..RedactionConfig::default()
    }
    .compile();
    let pairs_only = RedactionConfig {
        url_credentials: false,
        ..RedactionConfig::default()
    }
    .compile();
    let all = RedactionConfig::default().compile();
    let ev = |msg: &'static str| Event::new("k", Severity::Info).message(msg);
    for (r, url_hit, pair_hit) in [
        (&keys_only, false, false),
        (&urls_only, true, false),
        (&pairs_only, false, true),
        (&all, true, true),
    ] {
        assert_eq!(r.needs_redaction(&ev(url)), url_hit, "{r:?} {url}");
        assert_eq!(r.needs_redaction(&ev(pair)), pair_hit, "{r:?} {pair}");
        let value = Event::new("k", Severity::Info).field("note", pair);
        assert_eq!(r.needs_redaction(&value), pair_hit, "{r:?} value {pair}");
        let key = Event::new("k", Severity::Info).field("password", "x");
        assert!(r.needs_redaction(&key), "{r:?}");
        // Long strings take the other scan paths.
        let long = format!("{}{pair}{}", "x".repeat(40), "y".repeat(40));
        assert_eq!(r.text_needs_redaction(&long), pair_hit, "{r:?} long");
    }
}

#[test]
fn header_json_and_url_path_forms() {
    let r = redactor();
    let cases = [
        ("password: hunter2, next", "password: [REDACTED], next"),
        ("PASSWORD:hunter2", "PASSWORD:[REDACTED]"),
        (
            r#"{"password":"x","user":"bob"}"#,
            r#"{"password":"[REDACTED]","user":"bob"}"#,
        ),
        (r#"{"api_key": "abc"}"#, r#"{"api_key": "[REDACTED]"}"#),
        (r#"{"secret":42}"#, r#"{"secret":[REDACTED]}"#),
        (
            "Authorization: Bearer eyJhbGci.x.y rest",
            "Authorization: [REDACTED] rest",
        ),
        (
            "authorization: Basic dXNlcjpwdw==",
            "authorization: [REDACTED]",
        ),
        (
            "Proxy-Authorization: Digest abc",
            "Proxy-Authorization: [REDACTED]",
        ),
        ("GET /x?key=abc&n=1", "GET /x?key=[REDACTED]&n=1"),
        ("privkey=0xdeadbeef", "privkey=[REDACTED]"),
        (
            "https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161",
            "https://mainnet.infura.io/v3/[REDACTED]",
        ),
        (
            "wss://eth-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrSt1234?x=1",
            "wss://eth-mainnet.g.alchemy.com/v2/[REDACTED]?x=1",
        ),
        (
            "https://sly-wispy.quiknode.pro/4f1a2b3c4d5e6f708192a3b4c5d6e7f801234567/",
            "https://sly-wispy.quiknode.pro/[REDACTED]/",
        ),
        (
            "https://bob:pw@rpc.example/v3/9aa3d95b3bc440fa88ea12eaa4456161 and more",
            "https://[REDACTED]@rpc.example/v3/[REDACTED] and more",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(r.redact_str(input), want, "{input}");
    }
    // Left alone: times, ports, plain paths, hashes, short version paths, an allowed
    // key, names that are not denied.
    for kept in [
        "at 12:30:00 slot=5",
        "connect 10.0.0.7:30303 ok",
        "http://127.0.0.1:8545/",
        "https://etherscan.io/tx/0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        "https://api.example/v1/blocks/latest",
        "https://x.com/@alice",
        "token_in=0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        r#"{"tokenIn":"0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"}"#,
        "status: ok, peers: 12",
    ] {
        assert_eq!(r.redact_str(kept), kept);
    }
}
