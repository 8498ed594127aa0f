//! RFC 3339 text for Unix nanoseconds, both ways, without allocating: the exporters
//! format every event's timestamp, so this stays hand-written (a library call would
//! allocate a `String` per event); `tests` checks it against `humantime`.

/// Writes `nanos` (since the Unix epoch, UTC) as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` into
/// `buf`, returning the 30 bytes used. Years outside 0–9999 are clamped.
pub(crate) fn format(nanos: i64, buf: &mut [u8; 30]) -> &str {
    let secs = nanos.div_euclid(1_000_000_000);
    let nanos = nanos.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999) as u32;
    let mut put = |at: usize, v: u32, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, sod / 3600, 2);
    put(14, sod / 60 % 60, 2);
    put(17, sod % 60, 2);
    put(20, nanos, 9);
    buf[4] = b'-';
    buf[7] = b'-';
    buf[10] = b'T';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'.';
    buf[29] = b'Z';
    // Every byte written above is ASCII.
    std::str::from_utf8(&buf[..]).unwrap_or("")
}

/// Parses any RFC 3339 date-time into Unix nanoseconds (offsets converted to UTC), or
/// says what was wrong.
pub(crate) fn parse(b: &[u8]) -> Result<i64, &'static str> {
    fn num(b: &[u8], at: usize, n: usize) -> Result<u32, &'static str> {
        let part = b.get(at..at + n).ok_or("too short")?;
        let mut v = 0u32;
        for &c in part {
            if !c.is_ascii_digit() {
                return Err("expected a digit");
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Ok(v)
    }
    fn sep(b: &[u8], at: usize, want: &[u8]) -> Result<(), &'static str> {
        match b.get(at) {
            Some(c) if want.contains(c) => Ok(()),
            _ => Err("misplaced separator"),
        }
    }
    let y = num(b, 0, 4)?;
    sep(b, 4, b"-")?;
    let mo = num(b, 5, 2)?;
    sep(b, 7, b"-")?;
    let d = num(b, 8, 2)?;
    sep(b, 10, b"Tt ")?;
    let h = num(b, 11, 2)?;
    sep(b, 13, b":")?;
    let mi = num(b, 14, 2)?;
    sep(b, 16, b":")?;
    let se = num(b, 17, 2)?;
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return Err("date out of range");
    }
    if h > 23 || mi > 59 || se > 60 {
        return Err("time out of range");
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return Err("empty fraction");
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z') | Some(b'z') => {
            i += 1;
            0
        }
        Some(&c @ (b'+' | b'-')) => {
            let oh = num(b, i + 1, 2)?;
            sep(b, i + 3, b":")?;
            let om = num(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            i += 6;
            let o = i64::from(oh * 3600 + om * 60);
            if c == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err("missing time zone (Z or ±HH:MM)"),
    };
    if i != b.len() {
        return Err("trailing characters");
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se.min(59)) - offset_secs;
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(i64::from(nanos)))
        .ok_or("outside the years 1678–2262")
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 to (year, month, day); after H. Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms".
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe as i64 + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u64;
    let mp = u64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + u64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i64 - 719_468
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// Nanosecond instants spread over 1970–9999: day boundaries, leap days, the last
    /// nanosecond of a year, and a deterministic pseudo-random sweep.
    fn instants() -> Vec<i64> {
        let mut v = vec![
            0,
            1,
            999_999_999,
            86_399_999_999_999,
            951_782_400_000_000_000,   // 2000-02-29
            1_709_251_199_999_999_999, // 2024-02-29T23:59:59.999999999
            1_735_689_599_999_999_999, // 2024-12-31T23:59:59.999999999
            i64::MAX,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push((x >> 1) as i64);
        }
        v
    }

    #[test]
    fn formats_as_humantime_does() {
        let mut buf = [0u8; 30];
        for n in instants() {
            let t = UNIX_EPOCH + Duration::from_nanos(n as u64);
            let theirs = humantime::format_rfc3339_nanos(t).to_string();
            assert_eq!(format(n, &mut buf), theirs, "{n}");
        }
    }

    #[test]
    fn parses_what_humantime_formats_and_agrees_with_its_parser() {
        let mut buf = [0u8; 30];
        for n in instants() {
            let text = format(n, &mut buf).to_owned();
            assert_eq!(parse(text.as_bytes()), Ok(n), "{text}");
            let theirs = humantime::parse_rfc3339(&text).expect("humantime parses it");
            let theirs = theirs.duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64;
            assert_eq!(theirs, n, "{text}");
        }
    }
}
