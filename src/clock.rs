//! Time: the cheap raw clock read on the record path, and [`Timestamp`], the wall-clock
//! time readers see.
//!
//! Writers store a *raw* reading: on x86-64 the time-stamp counter (`rdtsc`, ~7–11 ns,
//! no syscall), elsewhere nanoseconds from a process-wide monotonic anchor. Readers turn
//! raw readings into Unix nanoseconds with one process-wide [`Calibration`], taken once
//! (about 10 ms, the first time a recorder is built): the TSC rate is measured against
//! the monotonic clock and anchored to the wall clock at that moment.
//!
//! Consequences users should know: the timestamps of one process are mutually
//! consistent and monotonic (the TSC is invariant on the machines we run on; the
//! `constant_tsc`/`nonstop_tsc` CPU flags say so), they follow the wall clock as it was
//! at calibration plus elapsed time, so a later step of the system clock (NTP slew, a
//! manual change) is not followed, and the rate error of a 10 ms calibration is a few
//! parts per million (well under a second a day).

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A wall-clock instant with nanosecond precision: nanoseconds since the Unix epoch
/// (UTC). Displayed and serialised in RFC 3339 with nine fractional digits, e.g.
/// `2026-11-22T05:54:58.123456789Z`; parsed from any RFC 3339 date-time (offsets are
/// converted to UTC).
///
/// ```
/// use flightring::Timestamp;
/// let t: Timestamp = "2026-11-22T05:54:58.5+01:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-11-22T04:54:58.500000000Z");
/// assert_eq!(t.as_unix_nanos(), 1_795_323_298_500_000_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `nanos` nanoseconds after the Unix epoch.
    pub const fn from_unix_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_unix_nanos(self) -> i64 {
        self.0
    }

    /// The current wall-clock time, read from the system clock.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Converts a [`SystemTime`] (saturating outside years 1678–2262).
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX)),
        }
    }

    /// Converts to a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_nanos(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_nanos(self.0.unsigned_abs())
        }
    }

    /// This timestamp moved back by `d` (saturating).
    pub fn saturating_sub(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_sub(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// This timestamp moved forward by `d` (saturating).
    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        )
    }

    /// Writes the RFC 3339 form into `buf`, returning the 30 bytes used.
    pub(crate) fn format_into(self, buf: &mut [u8; 30]) -> &str {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000) as u32;
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
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 30];
        f.write_str(self.format_into(&mut buf))
    }
}

/// Why a string is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct ParseTimestampError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rfc3339(s.as_bytes()).map_err(|reason| ParseTimestampError {
            input: s.chars().take(64).collect(),
            reason,
        })
    }
}

fn parse_rfc3339(b: &[u8]) -> Result<Timestamp, &'static str> {
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
        .map(Timestamp)
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

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        s.serialize_str(self.format_into(&mut buf))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Reads the raw clock. This is the only clock read on the record path.
#[inline]
pub(crate) fn now_raw() -> u64 {
    #[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
    {
        if calibration().tsc {
            // SAFETY: `rdtsc` has no preconditions on x86-64; it reads a counter register.
            return unsafe { core::arch::x86_64::_rdtsc() };
        }
    }
    fallback_raw(calibration())
}

#[inline]
fn fallback_raw(c: &Calibration) -> u64 {
    c.mono0.elapsed().as_nanos() as u64
}

/// The process-wide conversion from raw clock readings to wall-clock time.
#[derive(Debug)]
pub(crate) struct Calibration {
    /// Whether raw readings are TSC ticks (else nanoseconds since `mono0`).
    #[cfg_attr(loom, allow(dead_code))]
    tsc: bool,
    /// The raw reading taken at `wall0`.
    raw0: u64,
    /// Wall-clock Unix nanoseconds at `raw0`.
    wall0: i64,
    /// Nanoseconds per raw tick in 32.32 fixed point.
    ns_per_tick_q32: u64,
    /// Anchor of the monotonic fallback clock.
    mono0: Instant,
}

/// The calibration, taken the first time it is needed (once per process, ~10 ms).
pub(crate) fn calibration() -> &'static Calibration {
    static CAL: OnceLock<Calibration> = OnceLock::new();
    CAL.get_or_init(Calibration::measure)
}

impl Calibration {
    fn measure() -> Calibration {
        let mono0 = Instant::now();
        let wall0 = Timestamp::now().as_unix_nanos();
        #[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
        if invariant_tsc() {
            // Pair each TSC reading with a monotonic reading taken between two TSC reads,
            // so each pair is accurate to the width of one clock call.
            let pair = || {
                // SAFETY: `rdtsc` has no preconditions on x86-64.
                let a = unsafe { core::arch::x86_64::_rdtsc() };
                let t = Instant::now();
                // SAFETY: as above.
                let b = unsafe { core::arch::x86_64::_rdtsc() };
                (a / 2 + b / 2, t)
            };
            let (tsc_a, t_a) = pair();
            std::thread::sleep(Duration::from_millis(10));
            let (tsc_b, t_b) = pair();
            let ns = t_b.duration_since(t_a).as_nanos();
            let ticks = u128::from(tsc_b.saturating_sub(tsc_a));
            if ticks > 0 && ns > 0 {
                return Calibration {
                    tsc: true,
                    raw0: tsc_a,
                    wall0: wall0 + t_a.duration_since(mono0).as_nanos() as i64,
                    ns_per_tick_q32: ((ns << 32) / ticks) as u64,
                    mono0,
                };
            }
        }
        Calibration {
            tsc: false,
            raw0: 0,
            wall0,
            ns_per_tick_q32: 1 << 32,
            mono0,
        }
    }

    /// Converts a raw reading to a wall-clock timestamp.
    #[inline]
    pub(crate) fn to_timestamp(&self, raw: u64) -> Timestamp {
        let delta = i128::from(raw) - i128::from(self.raw0);
        let ns = (delta * i128::from(self.ns_per_tick_q32)) >> 32;
        Timestamp(
            self.wall0
                .saturating_add(ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64),
        )
    }

    /// The raw reading that corresponds to `t` (saturating at 0 and `u64::MAX`).
    pub(crate) fn to_raw(&self, t: Timestamp) -> u64 {
        let ns = i128::from(t.0) - i128::from(self.wall0);
        let ticks = (ns << 32) / i128::from(self.ns_per_tick_q32.max(1));
        (i128::from(self.raw0) + ticks).clamp(0, i128::from(u64::MAX)) as u64
    }

    /// How many raw ticks make up `d`.
    #[cfg(test)]
    pub(crate) fn ticks_for(&self, d: Duration) -> u64 {
        let ticks = (d.as_nanos() << 32) / u128::from(self.ns_per_tick_q32.max(1));
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }
}

#[cfg(all(target_arch = "x86_64", not(miri), not(loom)))]
fn invariant_tsc() -> bool {
    use core::arch::x86_64::__cpuid;
    // `cpuid` is available on every x86-64 processor.
    let max_ext = __cpuid(0x8000_0000).eax;
    if max_ext < 0x8000_0007 {
        return false;
    }
    // Leaf 0x8000_0007 exists (checked against the maximum leaf above).
    let edx = __cpuid(0x8000_0007).edx;
    edx & (1 << 8) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        for &n in &[
            0i64,
            1,
            999_999_999,
            1_795_323_298_123_456_789,
            -1,
            -86_400_000_000_001,
        ] {
            let t = Timestamp(n);
            let s = t.to_string();
            assert_eq!(s.len(), 30, "{s}");
            assert_eq!(s.parse::<Timestamp>().unwrap(), t, "{s}");
        }
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            "2024-02-29T23:59:59Z"
                .parse::<Timestamp>()
                .unwrap()
                .to_string(),
            "2024-02-29T23:59:59.000000000Z"
        );
    }

    #[test]
    fn parse_rejects_bad_input_with_reason() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00Zjunk",
            "2024-01-01X00:00:00Z",
            "2024-01-01T00:00:00+25:00",
            "９９９９-01-01T00:00:00Z",
        ] {
            let err = bad.parse::<Timestamp>().unwrap_err();
            assert!(!err.reason.is_empty(), "{bad}");
        }
    }

    #[test]
    fn raw_clock_converts_to_wall_time() {
        let cal = calibration();
        let before = Timestamp::now();
        let raw = now_raw();
        let after = Timestamp::now();
        let t = cal.to_timestamp(raw);
        let slack = 50_000_000; // calibration error plus scheduling, far above the expected µs
        assert!(
            t.0 >= before.0 - slack && t.0 <= after.0 + slack,
            "{t} not in {before}..{after}"
        );
        assert!(cal.to_raw(t).abs_diff(raw) <= cal.ticks_for(Duration::from_micros(1)) + 1);
        let r2 = now_raw();
        assert!(r2 >= raw);
    }
}
