//! Keras-like progress display, drawn with `indicatif`.

use crate::Logs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Per-epoch progress: a bar with step count, elapsed time, time per step and running
/// metrics (verbose 1), one line per epoch (verbose 2), or nothing (verbose 0). The message is
/// rebuilt at most every 100 ms, so the display costs nothing measurable per step.
pub(crate) struct Progress {
    verbose: u8,
    steps: usize,
    start: Instant,
    last_draw: Instant,
    done: usize,
    bar: Option<ProgressBar>,
}

/// Prints a line to stdout, ignoring failures (a closed pipe must not stop training).
fn say(line: &str) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn format_logs(logs: &Logs) -> String {
    logs.iter()
        .map(|(k, v)| format!(" - {k}: {}", python_float(v, Some(4))))
        .collect()
}

/// `v` as Python prints a float (Keras's progress line formats with `.4f`, `CSVLogger` with
/// `str`): NaN and infinities as `nan`, `inf` and `-inf` rather than Rust's `NaN`.
pub(crate) fn python_float(v: f32, decimals: Option<usize>) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        match decimals {
            Some(d) => format!("{v:.d$}"),
            None => v.to_string(),
        }
    }
}

fn per_step(elapsed: Duration, steps: usize) -> String {
    let per = elapsed.as_secs_f64() / steps.max(1) as f64;
    if per >= 1.0 {
        format!("{per:.0}s/step")
    } else if per >= 1e-3 {
        format!("{:.0}ms/step", per * 1e3)
    } else {
        format!("{:.0}us/step", per * 1e6)
    }
}

impl Progress {
    pub fn new(verbose: u8, epoch: usize, epochs: usize, steps: usize) -> Progress {
        if verbose >= 1 {
            say(&format!("Epoch {}/{}", epoch + 1, epochs));
        }
        let bar = (verbose == 1 && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(steps as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            bar.set_style(
                ProgressStyle::with_template("{pos}/{len} {bar:20} {elapsed} {msg}")
                    .expect("a valid template")
                    .progress_chars("━━ "),
            );
            bar
        });
        let now = Instant::now();
        Progress {
            verbose,
            steps,
            start: now,
            last_draw: now,
            done: 0,
            bar,
        }
    }

    pub fn step(&mut self, done: usize, logs: &Logs) {
        self.done = done;
        if let Some(bar) = &self.bar
            && (self.last_draw.elapsed() >= Duration::from_millis(100) || done == self.steps)
        {
            self.last_draw = Instant::now();
            bar.set_position(done as u64);
            bar.set_message(format!(
                "{}{}",
                per_step(self.start.elapsed(), done),
                format_logs(logs)
            ));
        }
    }

    pub fn finish(self, logs: &Logs) {
        let elapsed = self.start.elapsed();
        let line = format!(
            "{}/{} - {:.0}s - {}{}",
            self.done,
            self.steps,
            elapsed.as_secs_f64(),
            per_step(elapsed, self.done),
            format_logs(logs)
        );
        match (&self.bar, self.verbose) {
            (Some(bar), _) => bar.finish_with_message(format!(
                "{}{}",
                per_step(elapsed, self.done),
                format_logs(logs)
            )),
            (None, 1 | 2) => say(&line),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_values_print_as_keras_prints_them() {
        let mut logs = Logs::default();
        logs.insert("accuracy", 0.5);
        logs.insert("loss", f32::NAN);
        logs.insert("val_loss", f32::INFINITY);
        logs.insert("lr", f32::NEG_INFINITY);
        assert_eq!(
            format_logs(&logs),
            " - accuracy: 0.5000 - loss: nan - val_loss: inf - lr: -inf"
        );
        assert_eq!(python_float(0.484375, None), "0.484375");
    }
}
