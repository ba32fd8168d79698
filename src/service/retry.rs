//! Retry policy for transient failures: how many attempts a job gets and how long to wait between them.
//!
//! The defaults give **10 attempts in all, spread over about 7 hours**: the nominal waits grow
//! exponentially from one minute (factor 2) and are capped at 2 h 45 min, so the nine waits are
//! 1, 2, 4, 8, 16, 32, 64, 128 and 165 minutes: 7 hours in total. Each wait is then jittered
//! (±10 % by default) so that jobs that failed together do not all come back at the same moment;
//! the total stays between 6.3 and 7.7 hours.
//!
//! A compressed schedule for tests is only configuration: `base_delay_ms = 10` and a small cap.
//!
//! The random source is seeded: [`RetryPolicy::with_seed`] gives a reproducible schedule,
//! [`RetryPolicy::new`] seeds from the operating system.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// How each nominal wait is randomised.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Jitter {
    /// No randomness: every wait is exactly the nominal one.
    None,
    /// "Full jitter": each wait is drawn uniformly from `[0, nominal]`. Spreads load best, but the
    /// total time over all attempts varies widely (on average half the nominal total).
    Full,
    /// Each wait is drawn uniformly from `nominal × [1 − fraction, 1 + fraction]`; `fraction` is
    /// clamped to `[0, 1]`. Keeps the total close to the nominal one.
    Proportional {
        /// Half-width of the interval, as a fraction of the nominal wait.
        fraction: f64,
    },
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::Proportional { fraction: 0.1 }
    }
}

/// Retry configuration. Durations are in milliseconds so that the configuration file stays plain.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The nominal wait after the first failed attempt.
    pub base_delay_ms: u64,
    /// Growth factor of the nominal wait from one attempt to the next (at least 1).
    pub factor: f64,
    /// Upper bound of any nominal wait.
    pub max_delay_ms: u64,
    /// How waits are randomised.
    pub jitter: Jitter,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 10,
            base_delay_ms: 60_000,
            factor: 2.0,
            max_delay_ms: 9_900_000,
            jitter: Jitter::default(),
        }
    }
}

impl RetryConfig {
    /// A schedule for tests: the same shape as the default, in milliseconds instead of minutes.
    pub fn compressed(base_delay_ms: u64) -> Self {
        RetryConfig {
            base_delay_ms,
            max_delay_ms: base_delay_ms.saturating_mul(8),
            jitter: Jitter::None,
            ..RetryConfig::default()
        }
    }

    /// The attempt count, never below one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The nominal (un-jittered) wait after failed attempt number `attempt` (1-based), or `None`
    /// when that attempt was the last one.
    pub fn nominal_delay(&self, attempt: u32) -> Option<Duration> {
        if attempt == 0 || attempt >= self.attempts() {
            return None;
        }
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let exponent = i32::try_from(attempt - 1).unwrap_or(i32::MAX);
        let nominal = self.base_delay_ms as f64 * factor.powi(exponent);
        let capped = nominal.min(self.max_delay_ms as f64).max(0.0);
        Some(Duration::from_secs_f64(capped / 1000.0))
    }

    /// The sum of all nominal waits: the time from the first to the last attempt without jitter.
    pub fn nominal_total(&self) -> Duration {
        (1..self.attempts())
            .filter_map(|attempt| self.nominal_delay(attempt))
            .sum()
    }
}

/// A retry policy: its configuration plus the random source used for jitter.
#[derive(Debug)]
pub struct RetryPolicy {
    config: RetryConfig,
    rng: Mutex<StdRng>,
}

impl RetryPolicy {
    /// A policy whose jitter is seeded from the operating system.
    pub fn new(config: RetryConfig) -> Self {
        RetryPolicy {
            config,
            rng: Mutex::new(StdRng::from_os_rng()),
        }
    }

    /// A policy with a reproducible jitter sequence.
    pub fn with_seed(config: RetryConfig, seed: u64) -> Self {
        RetryPolicy {
            config,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }

    /// Attempts in all, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.config.attempts()
    }

    /// How long to wait after failed attempt number `attempt` (1-based) before the next one, or
    /// `None` when `attempt` was the last one allowed.
    pub fn next_delay(&self, attempt: u32) -> Option<Duration> {
        let nominal = self.config.nominal_delay(attempt)?;
        let unit: f64 = {
            // A poisoned lock only means another thread panicked mid-draw; the generator is still usable.
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            rng.random::<f64>()
        };
        let secs = nominal.as_secs_f64();
        let jittered = match self.config.jitter {
            Jitter::None => secs,
            Jitter::Full => secs * unit,
            Jitter::Proportional { fraction } => {
                let fraction = if fraction.is_finite() {
                    fraction.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                secs * (1.0 - fraction + 2.0 * fraction * unit)
            }
        };
        Some(Duration::from_secs_f64(jittered.max(0.0)))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new(RetryConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: f64 = 3600.0;

    fn total(policy: &RetryPolicy) -> (u32, Duration) {
        let mut attempts = 1;
        let mut sum = Duration::ZERO;
        while let Some(delay) = policy.next_delay(attempts) {
            sum += delay;
            attempts += 1;
            assert!(attempts <= 10, "more than 10 attempts");
        }
        (attempts, sum)
    }

    #[test]
    fn defaults_spread_ten_attempts_over_about_seven_hours() {
        let nominal = RetryConfig::default().nominal_total().as_secs_f64() / HOUR;
        assert!((nominal - 7.0).abs() < 1e-9, "nominal total {nominal} h");
        for seed in 0..500 {
            let policy = RetryPolicy::with_seed(RetryConfig::default(), seed);
            let (attempts, sum) = total(&policy);
            assert_eq!(attempts, 10);
            let hours = sum.as_secs_f64() / HOUR;
            assert!((6.0..=8.0).contains(&hours), "seed {seed}: {hours} h");
        }
    }

    #[test]
    fn nominal_schedule_grows_then_caps() {
        let config = RetryConfig::default();
        let minutes: Vec<u64> = (1..10)
            .filter_map(|a| config.nominal_delay(a))
            .map(|d| d.as_secs() / 60)
            .collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 165]);
        assert_eq!(config.nominal_delay(0), None);
        assert_eq!(config.nominal_delay(10), None);
        assert_eq!(config.nominal_delay(11), None);
    }

    #[test]
    fn jitter_stays_in_its_interval() {
        let full = RetryConfig {
            jitter: Jitter::Full,
            ..RetryConfig::default()
        };
        let policy = RetryPolicy::with_seed(full, 7);
        for _ in 0..200 {
            for attempt in 1..10 {
                let nominal = full.nominal_delay(attempt).unwrap_or_default();
                let delay = policy.next_delay(attempt).unwrap_or(Duration::MAX);
                assert!(delay <= nominal);
            }
        }
        let proportional = RetryConfig::default();
        let policy = RetryPolicy::with_seed(proportional, 8);
        for attempt in 1..10 {
            let nominal = proportional.nominal_delay(attempt).unwrap_or_default();
            let delay = policy.next_delay(attempt).unwrap_or(Duration::MAX);
            assert!(delay.as_secs_f64() >= nominal.as_secs_f64() * 0.9 - 1e-6);
            assert!(delay.as_secs_f64() <= nominal.as_secs_f64() * 1.1 + 1e-6);
        }
    }

    #[test]
    fn same_seed_same_schedule() {
        let a = RetryPolicy::with_seed(RetryConfig::default(), 42);
        let b = RetryPolicy::with_seed(RetryConfig::default(), 42);
        for attempt in 1..10 {
            assert_eq!(a.next_delay(attempt), b.next_delay(attempt));
        }
    }

    #[test]
    fn compressed_schedule_is_configuration() {
        let policy = RetryPolicy::with_seed(RetryConfig::compressed(10), 1);
        let (attempts, sum) = total(&policy);
        assert_eq!(attempts, 10);
        assert!(sum < Duration::from_secs(1));
        assert_eq!(policy.next_delay(1), Some(Duration::from_millis(10)));
    }

    #[test]
    fn odd_configuration_never_panics_or_loops() {
        let odd = RetryConfig {
            max_attempts: 0,
            factor: f64::NAN,
            jitter: Jitter::Proportional {
                fraction: f64::INFINITY,
            },
            ..RetryConfig::default()
        };
        let policy = RetryPolicy::with_seed(odd, 3);
        assert_eq!(policy.max_attempts(), 1);
        assert_eq!(policy.next_delay(1), None);
        let config: RetryConfig =
            serde_json::from_str(r#"{"max_attempts": 3, "jitter": {"kind": "full"}}"#)
                .unwrap_or_default();
        assert_eq!(config.max_attempts, 3);
        assert_eq!(config.jitter, Jitter::Full);
        assert_eq!(config.base_delay_ms, 60_000);
    }
}
