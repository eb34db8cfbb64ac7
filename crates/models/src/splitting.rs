//! Whether `fit`'s steps split their kernels across threads: always, never, or chosen from
//! measured step times ([`Splitting::Adaptive`]).
//!
//! Splitting a batch-32 step across two cores pays on a quiet machine (about 1.5× here), but
//! on a shared VM it has measured 1.5–2.5× *slower* than one thread for whole runs at a time
//! (`docs/performance.md`, item 23), while a single thread was not slowed as much. Since every
//! kernel gives the same bits on any thread count, the choice can be made, and changed, during
//! training without changing its results; [`Chooser`] makes it from the median step time of
//! short windows of steps.

use std::time::Duration;

/// How `fit`'s training steps use the helper threads of [`strata_tensor::parallel`]. The
/// results are the same, bit for bit, whichever is chosen; only the speed differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Splitting {
    /// Split large kernels across threads when that measures faster: `fit` compares the
    /// median step time of a 16-step window with and without splitting after its first
    /// window, keeps the faster, and checks the other mode again for one window: while
    /// serial, after 8, 16, then every 32 windows; while splitting, only once a window has
    /// slowed down by a quarter against the fastest split window, and no sooner than 8, 16,
    /// 32, … (at most 256) windows after the last check. It leaves splitting only for a
    /// gain of more than 10 % and returns to it as soon as it is faster. A run whose split
    /// steps stay fast spends one window (16 steps) serially per `fit`; with one thread it
    /// does nothing. The default.
    #[default]
    Adaptive,
    /// Always split large kernels across threads (as `predict` and `evaluate` do).
    Always,
    /// Never split: every kernel of a step runs whole on the calling thread, and the next
    /// batch is gathered there after the step.
    Never,
}

/// Steps per measured window.
const WINDOW: usize = 16;
/// The fewest windows between two checks at first; doubled after each check that keeps the
/// current mode, up to [`MAX_HOLD_SERIAL`] or [`MAX_HOLD`], and reset by a switch.
const FIRST_HOLD: usize = 8;
/// The most windows between two checks while serial: a check of splitting costs little (16
/// steps) against being wrongly serial, so it comes at least every 32 windows.
const MAX_HOLD_SERIAL: usize = 32;
/// The most windows between two checks while splitting (which are also subject to
/// [`TRIGGER`]).
const MAX_HOLD: usize = 256;
/// Serial steps are taken when their median step time is below this fraction of the split
/// steps'; split steps are taken back as soon as they are faster (splitting is the usual
/// winner, so the choice leans towards it).
const MARGIN: f64 = 0.9;
/// While splitting, the serial mode is checked only after a window whose median step time
/// exceeds the fastest split window's of this `fit` by this factor.
const TRIGGER: f64 = 1.25;

/// Decides, window by window, whether the next steps split their kernels ([`Splitting`]).
///
/// Feed it each step's duration with [`Chooser::record`] and ask [`Chooser::serial`] before
/// each step. In [`Splitting::Adaptive`] mode it runs the first window split (a warm-up, not
/// measured), then one split and one serial window, and keeps the faster. Afterwards it runs
/// one window of the other mode (a check) and compares it with the kept mode's last window:
/// while serial, every `hold` windows; while splitting, only once a split window has slowed
/// down by [`TRIGGER`] against the fastest one, and not sooner than `hold` windows after the
/// last check. `hold` starts at [`FIRST_HOLD`] and doubles after every check that keeps the
/// mode.
#[derive(Clone, Debug)]
pub(crate) struct Chooser {
    policy: Splitting,
    /// The mode being kept (true: serial).
    kept_serial: bool,
    /// Whether the current window is a check of the other mode.
    checking: bool,
    /// Windows finished (the first is the warm-up).
    windows: usize,
    /// Windows finished since the last check.
    since_check: usize,
    /// The fewest windows between the last check and the next.
    hold: usize,
    /// Median step time of the kept mode's last window, seconds.
    kept_median: f64,
    /// The lowest median step time of a split window so far, seconds.
    best_split: f64,
    /// The current window's step times, seconds.
    times: [f64; WINDOW],
    filled: usize,
}

impl Chooser {
    /// A chooser for `policy`; with `threads` ≤ 1 it never asks for a serial step (there is
    /// nothing to split across).
    pub(crate) fn new(policy: Splitting, threads: usize) -> Chooser {
        let policy = if threads <= 1 {
            Splitting::Always
        } else {
            policy
        };
        Chooser {
            policy,
            kept_serial: policy == Splitting::Never,
            checking: false,
            windows: 0,
            since_check: 0,
            hold: FIRST_HOLD,
            kept_median: f64::INFINITY,
            best_split: f64::INFINITY,
            times: [0.0; WINDOW],
            filled: 0,
        }
    }

    /// Whether the next step runs serially (kernels whole on the calling thread).
    pub(crate) fn serial(&self) -> bool {
        self.kept_serial != self.checking
    }

    /// Records the duration of the step just run (in the mode [`Chooser::serial`] gave).
    pub(crate) fn record(&mut self, step: Duration) {
        if self.policy != Splitting::Adaptive {
            return;
        }
        self.times[self.filled] = step.as_secs_f64();
        self.filled += 1;
        if self.filled < WINDOW {
            return;
        }
        self.filled = 0;
        self.windows += 1;
        if self.windows == 1 {
            // The warm-up window: buffers are sized, caches and helpers warm up.
            return;
        }
        let median = median(&mut self.times);
        if !self.serial() {
            self.best_split = self.best_split.min(median);
        }
        if self.checking {
            self.checking = false;
            self.since_check = 0;
            // Checking serial steps (splitting is kept) or split ones.
            let margin = if self.kept_serial { 1.0 } else { MARGIN };
            if median < margin * self.kept_median {
                // The other mode is clearly faster now: keep it, and check back soon.
                self.kept_serial = !self.kept_serial;
                self.kept_median = median;
                self.hold = FIRST_HOLD;
            } else {
                let most = if self.kept_serial {
                    MAX_HOLD_SERIAL
                } else {
                    MAX_HOLD
                };
                self.hold = (self.hold * 2).min(most);
            }
            return;
        }
        self.kept_median = median;
        self.since_check += 1;
        self.checking = if self.windows == 2 {
            // The first measured window: check the other mode right away.
            true
        } else if self.kept_serial {
            self.since_check >= self.hold
        } else {
            self.since_check >= self.hold && median > TRIGGER * self.best_split
        };
    }
}

/// The median of `values` (sorted in place; an even count takes the upper middle).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` steps through a chooser whose split steps take `split(step)` seconds and
    /// serial ones `serial(step)`; returns the mode of every step (true: serial).
    fn simulate(
        chooser: &mut Chooser,
        steps: usize,
        split: impl Fn(usize) -> f64,
        serial: impl Fn(usize) -> f64,
    ) -> Vec<bool> {
        (0..steps)
            .map(|step| {
                let s = chooser.serial();
                let t = if s { serial(step) } else { split(step) };
                chooser.record(Duration::from_secs_f64(t));
                s
            })
            .collect()
    }

    #[test]
    fn keeps_splitting_when_it_is_faster_and_checks_once() {
        let mut c = Chooser::new(Splitting::Adaptive, 2);
        let modes = simulate(&mut c, 10_000, |_| 1.0e-3, |_| 1.5e-3);
        let serial = modes.iter().filter(|&&s| s).count();
        // The warm-up, one split window, one serial check (window 3); split steps that do
        // not slow down are never checked again.
        assert_eq!(serial, WINDOW);
        assert!(modes[2 * WINDOW..3 * WINDOW].iter().all(|&s| s));
        assert!(modes[..2 * WINDOW].iter().all(|&s| !s));
        assert!(!modes[9_999]);
    }

    #[test]
    fn switches_to_serial_when_splitting_is_slower_and_back_when_the_phase_ends() {
        let mut c = Chooser::new(Splitting::Adaptive, 2);
        // Splitting is twice as slow for the first 4,000 steps, then 1.5× faster.
        let modes = simulate(
            &mut c,
            12_000,
            |step| if step < 4_000 { 2.0e-3 } else { 0.6e-3 },
            |_| 1.0e-3,
        );
        let serial_share = |range: std::ops::Range<usize>| {
            modes[range.clone()].iter().filter(|&&s| s).count() as f64 / range.len() as f64
        };
        assert!(
            serial_share(100..4_000) > 0.9,
            "{}",
            serial_share(100..4_000)
        );
        // The slow phase ends at step 4,000: the next check (at most 32 windows later) finds
        // splitting faster.
        assert!(serial_share(9_000..12_000) < 0.05);
        assert!(!modes[11_999]);
    }

    #[test]
    fn notices_when_splitting_slows_down_later() {
        let mut c = Chooser::new(Splitting::Adaptive, 2);
        // Splitting 1.7× faster for 4,000 steps, then twice as slow as serial.
        let modes = simulate(
            &mut c,
            8_000,
            |step| if step < 4_000 { 0.6e-3 } else { 2.0e-3 },
            |_| 1.0e-3,
        );
        assert_eq!(modes[..4_000].iter().filter(|&&s| s).count(), WINDOW);
        // The first slow window triggers a check (the last was long enough ago); from then
        // on only the checks of splitting (after 8, 16, then every 32 windows: 8 in these
        // 248 windows) run split.
        let split = modes[4_000 + 2 * WINDOW..].iter().filter(|&&s| !s).count();
        assert_eq!(split, 8 * WINDOW);
        assert!(modes[7_999]);
    }

    #[test]
    fn checks_while_splitting_are_spaced_out_in_a_noisy_phase() {
        let mut c = Chooser::new(Splitting::Adaptive, 2);
        // Every other split window is slowed down past the trigger; serial stays slower.
        let modes = simulate(
            &mut c,
            10_000,
            |step| {
                if (step / WINDOW).is_multiple_of(2) {
                    1.0e-3
                } else {
                    1.4e-3
                }
            },
            |_| 1.6e-3,
        );
        let checks = modes.iter().filter(|&&s| s).count() / WINDOW;
        // The first check, then at most one after 8, 16, 32, 64, 128, 256, 256 windows.
        assert!((2..=8).contains(&checks), "{checks} checks");
        assert!(!modes[9_999]);
    }

    #[test]
    fn a_noisy_window_does_not_switch_within_the_margin() {
        let mut c = Chooser::new(Splitting::Adaptive, 2);
        // Serial steps 5 % faster: inside the margin, so splitting is kept.
        let modes = simulate(&mut c, 5_000, |_| 1.0e-3, |_| 0.95e-3);
        assert!(!modes[4_999]);
        // Median, not mean: a few very slow split steps per window do not count.
        let mut c = Chooser::new(Splitting::Adaptive, 2);
        let modes = simulate(
            &mut c,
            5_000,
            |step| if step % 16 < 3 { 20.0e-3 } else { 1.0e-3 },
            |_| 1.5e-3,
        );
        assert!(!modes[4_999]);
    }

    #[test]
    fn fixed_policies_and_one_thread_never_change() {
        for (policy, threads, serial) in [
            (Splitting::Always, 2, false),
            (Splitting::Never, 2, true),
            (Splitting::Adaptive, 1, false),
            (Splitting::Never, 1, false),
        ] {
            let mut c = Chooser::new(policy, threads);
            let modes = simulate(&mut c, 2_000, |_| 5.0e-3, |_| 1.0e-3);
            assert!(
                modes.iter().all(|&s| s == serial),
                "{policy:?} at {threads} threads"
            );
        }
    }
}
