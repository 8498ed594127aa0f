//! The raw clock read on the record path, and the process-wide [`Calibration`] that
//! turns its readings into [`Timestamp`]s.
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

use std::sync::OnceLock;
use std::time::Instant;

use crate::model::Timestamp;

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
            std::thread::sleep(std::time::Duration::from_millis(10));
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
        Timestamp::from_unix_nanos(
            self.wall0
                .saturating_add(ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64),
        )
    }

    /// The raw reading that corresponds to `t` (saturating at 0 and `u64::MAX`).
    pub(crate) fn to_raw(&self, t: Timestamp) -> u64 {
        let ns = i128::from(t.as_unix_nanos()) - i128::from(self.wall0);
        let ticks = (ns << 32) / i128::from(self.ns_per_tick_q32.max(1));
        (i128::from(self.raw0) + ticks).clamp(0, i128::from(u64::MAX)) as u64
    }

    /// How many raw ticks make up `d`.
    #[cfg(test)]
    pub(crate) fn ticks_for(&self, d: std::time::Duration) -> u64 {
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
    fn raw_clock_converts_to_wall_time() {
        let cal = calibration();
        let before = Timestamp::now();
        let raw = now_raw();
        let after = Timestamp::now();
        let t = cal.to_timestamp(raw);
        let slack = 50_000_000; // calibration error plus scheduling, far above the expected µs
        assert!(
            t.as_unix_nanos() >= before.as_unix_nanos() - slack
                && t.as_unix_nanos() <= after.as_unix_nanos() + slack,
            "{t} not in {before}..{after}"
        );
        assert!(
            cal.to_raw(t).abs_diff(raw) <= cal.ticks_for(std::time::Duration::from_micros(1)) + 1
        );
        let r2 = now_raw();
        assert!(r2 >= raw);
    }
}
