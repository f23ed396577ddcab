//! The progress bar: loss and time left, shown once a run has taken a
//! second, and never when standard error is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Bar {
    bar: ProgressBar,
    start: Instant,
    shown: bool,
    /// The first step's number (a resumed run counts on from earlier ones).
    first: u64,
}

impl Bar {
    pub fn new(steps: u64, first: u64) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {msg}, {eta} left")
                .expect("a valid template"),
        );
        Bar {
            bar,
            start: Instant::now(),
            shown: false,
            first,
        }
    }

    /// Show step `step` (counted over runs) and `message`.
    pub fn update(&mut self, step: usize, message: &str) {
        self.bar
            .set_position((step as u64).saturating_sub(self.first));
        self.bar.set_message(message.to_string());
        if !self.shown && self.start.elapsed() > Duration::from_secs(1) {
            // stderr() draws only on a terminal.
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
