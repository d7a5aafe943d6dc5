//! Exponential backoff with jitter: the one implementation behind every retry and reconnect
//! loop (insert retries here, the daemon's AMQP, notifier and bot reconnects). The delays
//! come from `backon`, which the AMQP client already brings into the build.

use std::fmt;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Delays `base · 2ⁿ` capped at `max`, each drawn uniformly from its upper half (so spread
/// out, yet never shorter than half the nominal delay nor longer than `max`).
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    /// A new backoff starting at `base`, with a random jitter seed.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Self::from_builder(Self::builder(base, max), max)
    }

    /// The same with a fixed jitter seed (reproducible delays).
    pub fn seeded(base: Duration, max: Duration, seed: u64) -> Backoff {
        Self::from_builder(Self::builder(base, max).with_jitter_seed(seed), max)
    }

    fn builder(base: Duration, max: Duration) -> ExponentialBuilder {
        // backon's jitter adds up to one more delay, giving [d, 2d): halving the bounds gives
        // the upper half of [0, base · 2ⁿ ∧ max].
        ExponentialBuilder::default()
            .with_min_delay(base / 2)
            .with_max_delay(max / 2)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
    }

    fn from_builder(builder: ExponentialBuilder, max: Duration) -> Backoff {
        Backoff {
            builder,
            delays: builder.build(),
            max,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        // The iterator never ends (no attempt limit); the fallback is the longest delay.
        self.delays.next().unwrap_or(self.max)
    }

    /// Back to the first delay (after a success).
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("builder", &self.builder)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_growing() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let mut last = Duration::ZERO;
        for _ in 0..40 {
            last = b.next_delay();
            assert!(last <= Duration::from_secs(2));
        }
        assert!(last >= Duration::from_secs(1), "{last:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn seeded_is_reproducible() {
        let a: Vec<_> = {
            let mut b = Backoff::seeded(Duration::from_millis(10), Duration::from_secs(1), 7);
            (0..8).map(|_| b.next_delay()).collect()
        };
        let mut b = Backoff::seeded(Duration::from_millis(10), Duration::from_secs(1), 7);
        let again: Vec<_> = (0..8).map(|_| b.next_delay()).collect();
        assert_eq!(a, again);
    }
}
