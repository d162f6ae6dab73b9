//! Progress on stderr: a bar over input bytes (or a spinner when the size
//! is unknown) with documents, sentences/s and triples; silent when stderr
//! is not a terminal or with `--quiet`. Shared by the pipeline's threads.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// `total_bytes`: the inputs' size when known.
    pub fn new(enabled: bool, total_bytes: Option<u64>) -> Self {
        let bar = enabled.then(|| {
            let bar = match total_bytes {
                Some(total) => {
                    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(ProgressStyle::with_template("{spinner} {bytes} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
                    bar
                }
            };
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self { bar, started: Instant::now() }
    }

    pub fn add_bytes(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    pub fn update(&self, documents: usize, sentences: usize, triples: usize) {
        if let Some(bar) = &self.bar {
            let rate = sentences as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{documents} docs, {sentences} sentences ({rate:.0}/s), {triples} triples"));
        }
    }

    /// Prints a line above the bar (or plainly without one).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
