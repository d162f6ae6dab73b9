//! Busy time per pipeline stage: where a run's time goes.
//!
//! Takes: the time each stage's threads spend on a piece of work, added up
//! as they go ([`StageClock::time`], callable from any thread). Gives:
//! [`StageTimes`], core-seconds a stage, which the run's summary prints next
//! to its wall time and `bench/gpu.sh` reads to name a run's bottleneck.
//! Invariants: a stage's time is the sum over its threads, so a stage run
//! on several threads can exceed the wall time; a stage on one thread whose
//! time is close to the wall time is the one the others wait for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The stages timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timed {
    /// Reading documents and splitting sentences (the prepare thread).
    Read,
    /// The tokenizer and batching (rayon's threads).
    Encode,
    /// Copies on the host between model calls: a layered model's hidden
    /// state gathered into marked batches, logits into probabilities.
    HostCopy,
    /// Model calls (ONNX Runtime's `run`, with its own device copies).
    Model,
    /// Decoding, assembling and resolving a chunk (the calling thread).
    Decode,
    /// Writing to the sink (the calling thread).
    Store,
}

const STAGES: [Timed; 6] = [Timed::Read, Timed::Encode, Timed::HostCopy, Timed::Model, Timed::Decode, Timed::Store];

impl Timed {
    pub fn name(self) -> &'static str {
        match self {
            Timed::Read => "read",
            Timed::Encode => "encode",
            Timed::HostCopy => "host copies",
            Timed::Model => "model",
            Timed::Decode => "decode",
            Timed::Store => "store",
        }
    }
}

/// Running totals, shared by the pipeline's threads.
#[derive(Debug, Default)]
pub struct StageClock {
    nanos: [AtomicU64; STAGES.len()],
}

impl StageClock {
    pub const fn new() -> Self {
        Self { nanos: [const { AtomicU64::new(0) }; STAGES.len()] }
    }

    /// Runs `f`, adding its wall time to `stage`.
    pub fn time<T>(&self, stage: Timed, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.add(stage, started.elapsed());
        out
    }

    pub fn add(&self, stage: Timed, spent: Duration) {
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.nanos[stage as usize].fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn times(&self) -> StageTimes {
        StageTimes(std::array::from_fn(|i| Duration::from_nanos(self.nanos[i].load(Ordering::Relaxed))))
    }
}

/// Busy time of each stage, summed over its threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimes([Duration; STAGES.len()]);

impl StageTimes {
    pub fn get(&self, stage: Timed) -> Duration {
        self.0[stage as usize]
    }

    /// Each stage with its busy time, in pipeline order.
    pub fn iter(&self) -> impl Iterator<Item = (Timed, Duration)> + '_ {
        STAGES.iter().map(|&s| (s, self.get(s)))
    }

    /// `read 0.1 s, encode 2.0 s, ...`: each stage's busy seconds and, with
    /// `wall`, its share of it.
    pub fn summary(&self, wall: Duration) -> String {
        let wall = wall.as_secs_f64().max(1e-9);
        self.iter()
            .map(|(s, d)| format!("{} {:.2} s ({:.0}%)", s.name(), d.as_secs_f64(), 100.0 * d.as_secs_f64() / wall))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_add_up_per_stage_across_threads() {
        let clock = StageClock::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| clock.add(Timed::Model, Duration::from_millis(250)));
            }
        });
        clock.add(Timed::Store, Duration::from_millis(500));
        assert_eq!(clock.time(Timed::Read, || 7), 7);
        let times = clock.times();
        assert_eq!(times.get(Timed::Model), Duration::from_secs(1));
        assert_eq!(times.get(Timed::Store), Duration::from_millis(500));
        assert_eq!(times.get(Timed::Encode), Duration::ZERO);
        let summary = times.summary(Duration::from_secs(2));
        assert!(summary.contains("model 1.00 s (50%)"), "{summary}");
        assert!(summary.contains("store 0.50 s (25%)"), "{summary}");
        assert!(summary.starts_with("read "), "{summary}");
    }
}
