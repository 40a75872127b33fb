//! Progress on stderr for long applies and reads: an indicatif bar on a terminal, plain
//! periodic lines otherwise (`--progress plain`, or stderr not a terminal), nothing with
//! `--progress none`. Failures and, with `-v`, every object's line are printed above it.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::render::apply::plain_progress;

/// `--progress`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal, plain lines otherwise.
    Auto,
    /// A line every few seconds, for logs.
    Plain,
    /// No progress (failures are still reported).
    None,
}

/// How often plain mode prints.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

enum Display {
    Bar(ProgressBar),
    Plain { last: Instant },
    Off,
}

/// Progress of `total` steps of one kind (`apply`, `read`).
pub struct Meter {
    what: &'static str,
    display: Display,
    started: Instant,
    total: usize,
    done: usize,
    failed: usize,
    /// Whether anything was printed (a quick read prints nothing).
    shown: bool,
}

impl Meter {
    pub fn new(mode: ProgressMode, what: &'static str, total: usize, color: bool) -> Meter {
        let display = match mode {
            ProgressMode::None => Display::Off,
            ProgressMode::Auto if std::io::stderr().is_terminal() => {
                let bar =
                    ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
                let template = if color {
                    "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} {rate} ETA {eta} {msg:.red}"
                } else {
                    "{prefix} [{bar:30}] {pos}/{len} {rate} ETA {eta} {msg}"
                };
                bar.set_style(
                    ProgressStyle::with_template(template)
                        .expect("a valid template")
                        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = write!(w, "{:.0}/s", s.per_sec());
                        })
                        .progress_chars("=> "),
                );
                bar.set_prefix(what);
                bar.enable_steady_tick(Duration::from_millis(200));
                Display::Bar(bar)
            }
            ProgressMode::Auto | ProgressMode::Plain => Display::Plain {
                last: Instant::now(),
            },
        };
        Meter {
            what,
            display,
            started: Instant::now(),
            total,
            done: 0,
            failed: 0,
            shown: false,
        }
    }

    /// A line above the bar (or plain): a failure, or an object's line with `-v`.
    pub fn println(&self, line: &str) {
        match &self.display {
            Display::Bar(bar) => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    fn plain_line(&self) -> String {
        plain_progress(
            self.what,
            self.done,
            self.total,
            self.failed,
            self.started.elapsed(),
        )
    }

    /// One more step done.
    pub fn step(&mut self, failed: bool) {
        self.done += 1;
        if failed {
            self.failed += 1;
        }
        match &mut self.display {
            Display::Bar(bar) => {
                bar.inc(1);
                if failed {
                    bar.set_message(format!("· {} failed", self.failed));
                }
            }
            Display::Plain { last } => {
                if last.elapsed() >= PLAIN_EVERY && self.done < self.total {
                    *last = Instant::now();
                    self.shown = true;
                    eprintln!("{}", self.plain_line());
                }
            }
            Display::Off => {}
        }
    }

    /// Clears the bar; in plain mode prints the closing line (always for applies, for reads
    /// only when they printed progress before).
    pub fn finish(self, always: bool) {
        match self.display {
            Display::Bar(bar) => bar.finish_and_clear(),
            Display::Plain { .. } if always || self.shown => eprintln!("{}", self.plain_line()),
            _ => {}
        }
    }
}

/// A meter for reads, fed by observe's callback: created on the first WEC read.
#[derive(Clone)]
pub struct ReadMeter {
    mode: ProgressMode,
    color: bool,
    meter: Arc<Mutex<Option<Meter>>>,
}

impl ReadMeter {
    pub fn new(mode: ProgressMode, color: bool) -> Self {
        ReadMeter {
            mode,
            color,
            meter: Arc::default(),
        }
    }

    /// `(done, total)` WECs read.
    pub fn on_read(&self, done: usize, total: usize) {
        let mut slot = self.meter.lock().expect("not poisoned");
        let meter = slot.get_or_insert_with(|| Meter::new(self.mode, "read", total, self.color));
        meter.step(false);
        if done >= total
            && let Some(m) = slot.take()
        {
            m.finish(false);
        }
    }
}
