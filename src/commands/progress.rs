//! Progress on stderr: a bar over input bytes (or a spinner when the size
//! is unknown) with documents, sentences/s and triples, drawn by a sink
//! wrapper ([`ProgressSink`]) that also says which documents were skipped;
//! silent when stderr is not a terminal or with `--quiet`.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kgx::pipeline::{DocumentError, ExtractedDocument, PipelineStats, Sink, StoredCheck, WriteStats};

/// The bar (absent when not drawn); clones share it.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// `total_bytes`: the inputs' size when known.
    pub fn new(enabled: bool, total_bytes: Option<u64>) -> Self {
        let bar = enabled.then(|| {
            let (bar, template) = match total_bytes {
                Some(total) => (
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
                    "{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}",
                ),
                None => (ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()), "{spinner} {bytes} {msg}"),
            };
            bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self { bar, started: Instant::now() }
    }

    /// A callback that advances the bar by input bytes read.
    pub fn byte_counter(&self) -> impl Fn(u64) + Send + 'static {
        let bar = self.bar.clone();
        move |bytes| {
            if let Some(bar) = &bar {
                bar.inc(bytes);
            }
        }
    }

    fn update(&self, totals: &PipelineStats) {
        if let Some(bar) = &self.bar {
            let rate = totals.sentences as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            let documents = totals.stored + totals.skipped + totals.failed;
            bar.set_message(format!("{documents} docs, {} sentences ({rate:.0}/s), {} triples", totals.sentences, totals.triples));
        }
    }

    /// Prints a line above the bar (or plainly without one).
    fn println(&self, line: &str) {
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

/// A sink that reports progress and skipped documents, then hands every
/// call to `inner`.
pub struct ProgressSink<S> {
    pub inner: S,
    pub progress: Progress,
}

impl<S: Sink> Sink for ProgressSink<S> {
    type Error = S::Error;

    fn write(&mut self, chunk: &[ExtractedDocument]) -> Result<WriteStats, S::Error> {
        self.inner.write(chunk)
    }

    fn stored_check(&self) -> Result<StoredCheck<S::Error>, S::Error> {
        self.inner.stored_check()
    }

    fn record_failures(&mut self, failures: &[DocumentError]) -> Result<(), S::Error> {
        for f in failures {
            self.progress.println(&format!("kgx: skipped {f}"));
        }
        self.inner.record_failures(failures)
    }

    fn progress(&mut self, totals: &PipelineStats) {
        self.progress.update(totals);
        self.inner.progress(totals);
    }
}
