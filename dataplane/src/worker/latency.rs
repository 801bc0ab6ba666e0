//! Per-frame latency inside the dataplane (`macsec-dataplane --latency`), in TSC ticks.

/// Per-frame latency inside the dataplane (`macsec-dataplane --latency`): one histogram per
/// direction of a link, kept by that direction's release stage (whichever worker releases a burst
/// records it), allocated up front and recorded into without allocating. A frame's latency is the
/// time from the return of the rx burst that brought it to the return of the tx burst that sent
/// it, in TSC ticks; frames dropped (by policy, validation or a full tx ring) are not recorded, so
/// each histogram's count is the number of frames forwarded in that direction.
pub type Histogram = hdrhistogram::Histogram<u64>;

/// The TSC and the clock at the start of a run, to convert ticks to ns over the whole run.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    start: (u64, std::time::Instant),
}

/// Percentiles of one direction, in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p99_9_ns: u64,
    pub max_ns: u64,
    pub mean_ns: u64,
}

/// What `--latency` adds to a link in the exit JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LatencyReport {
    /// TSC ticks per second, measured over the run.
    pub tsc_hz: u64,
    pub protect: LatencySummary,
    pub validate: LatencySummary,
}

/// The time-stamp counter (x86_64), else ns since the first call.
#[inline]
#[allow(unsafe_code)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc has no preconditions and is available on every x86_64 CPU.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
    }
}

/// The latency histograms could not be allocated.
#[derive(Debug, thiserror::Error)]
#[error("latency histogram: {0:?}")]
pub struct LatencyError(hdrhistogram::CreationError);

impl Latency {
    /// Highest latency tracked: 60 s at 6 GHz (longer ones are clamped, which max_ns shows).
    const HIGHEST_TICKS: u64 = 360_000_000_000;

    /// Starts the clock calibration.
    pub fn start() -> Self {
        Latency {
            start: (ticks(), std::time::Instant::now()),
        }
    }

    /// An empty histogram of one direction.
    pub fn histogram() -> Result<Histogram, LatencyError> {
        Histogram::new_with_bounds(1, Self::HIGHEST_TICKS, 3).map_err(LatencyError)
    }

    /// Records `n` frames of one burst that was received at TSC `t0` and sent now.
    #[inline]
    pub fn record(h: &mut Histogram, t0: u64, n: usize) {
        if n > 0 {
            h.saturating_record_n(ticks().saturating_sub(t0), n as u64);
        }
    }

    /// The percentiles in ns of both directions, with the TSC rate measured since `start`.
    pub fn report(&self, protect: &Histogram, validate: &Histogram) -> LatencyReport {
        let dt = self.start.1.elapsed().as_secs_f64();
        let dticks = ticks().saturating_sub(self.start.0) as f64;
        let hz = if dt > 0.001 && dticks > 0.0 {
            dticks / dt
        } else {
            1e9
        };
        let ns = |t: u64| (t as f64 * 1e9 / hz).round() as u64;
        let sum = |h: &Histogram| {
            if h.is_empty() {
                return LatencySummary::default();
            }
            LatencySummary {
                count: h.len(),
                p50_ns: ns(h.value_at_quantile(0.5)),
                p99_ns: ns(h.value_at_quantile(0.99)),
                p99_9_ns: ns(h.value_at_quantile(0.999)),
                max_ns: ns(h.max()),
                mean_ns: (h.mean() * 1e9 / hz).round() as u64,
            }
        };
        LatencyReport {
            tsc_hz: hz.round() as u64,
            protect: sum(protect),
            validate: sum(validate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_records_bursts_and_reports_ns() {
        let l = Latency::start();
        let (mut protect, mut validate) = (Latency::histogram().unwrap(), Latency::histogram().unwrap());
        let t0 = ticks();
        std::thread::sleep(std::time::Duration::from_millis(2));
        Latency::record(&mut protect, t0, 32);
        Latency::record(&mut protect, ticks(), 0);
        Latency::record(&mut validate, ticks(), 3);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let r = l.report(&protect, &validate);
        assert_eq!((r.protect.count, r.validate.count), (32, 3));
        assert!(
            r.protect.p50_ns >= 1_500_000 && r.protect.p50_ns < 1_000_000_000,
            "{r:?}"
        );
        assert!(r.validate.max_ns < r.protect.p50_ns, "{r:?}");
        assert!(r.protect.p50_ns <= r.protect.p99_ns && r.protect.p99_9_ns <= r.protect.max_ns);
        let empty = Latency::histogram().unwrap();
        assert_eq!(l.report(&empty, &empty).protect, LatencySummary::default());
    }
}
