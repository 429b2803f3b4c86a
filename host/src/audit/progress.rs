//! Live progress on a terminal during `cloudmarker -n`: one line per audit
//! (records read, written, events, failures), redrawn while it runs and left
//! in place with the final counts when it ends. Log lines go above them.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The progress lines, once a run has shown any.
static LINES: OnceLock<MultiProgress> = OnceLock::new();

/// What one audit's workers have done so far.
#[derive(Debug, Default)]
pub struct Counts {
    read: AtomicU64,
    events: AtomicU64,
    written: AtomicU64,
    failures: AtomicU64,
}

impl Counts {
    /// Records a cloud read.
    pub fn read(&self, n: u64) {
        self.read.fetch_add(n, Relaxed);
    }

    /// Events an event plugin raised.
    pub fn events(&self, n: u64) {
        self.events.fetch_add(n, Relaxed);
    }

    /// Records a store or alert wrote.
    pub fn written(&self, n: u64) {
        self.written.fetch_add(n, Relaxed);
    }

    /// A failure of any worker.
    pub fn failure(&self) {
        self.failures.fetch_add(1, Relaxed);
    }

    fn describe(&self) -> String {
        format!(
            "{} read, {} written, {} events, {} failures",
            self.read.load(Relaxed),
            self.written.load(Relaxed),
            self.events.load(Relaxed),
            self.failures.load(Relaxed)
        )
    }
}

/// Runs `write` with the progress lines cleared, so that a log line written
/// to the same terminal does not tear them; they are redrawn after it.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    match LINES.get() {
        Some(lines) => lines.suspend(write),
        None => write(),
    }
}

/// One audit's progress line; finished, with its final counts, when dropped.
pub struct AuditLine(ProgressBar);

impl AuditLine {
    /// Shows a line for `audit` on stdout, drawn from `counts`.
    pub fn show(audit: &str, counts: Arc<Counts>) -> Self {
        let lines =
            LINES.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stdout()));
        let style = ProgressStyle::with_template("{spinner} {prefix}: {counts} ({elapsed})")
            .expect("a valid template")
            .with_key(
                "counts",
                move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = out.write_str(&counts.describe());
                },
            );
        let bar = lines.add(ProgressBar::new_spinner().with_style(style));
        bar.set_prefix(audit.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(bar)
    }
}

impl Drop for AuditLine {
    fn drop(&mut self) {
        self.0.finish();
    }
}
