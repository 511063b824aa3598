//! A spinner on stderr while a movement takes long, when stderr is a
//! terminal. The timeline cannot report how far it has got from another
//! thread, so the spinner shows the time spent and how to stop.
//!
//! Under `rback run` with the program at the terminal, the program has the
//! terminal while it runs: the spinner is erased before it gets it and is
//! not drawn again in that movement (the program's output and the user's
//! typing follow), as gdb shows nothing while its inferior runs.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use recorder::live::TerminalGate;

/// How long a movement runs before the spinner appears: most are instant.
const DELAY: Duration = Duration::from_millis(500);

pub struct Spinner {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
    /// For a repeated movement (`stepi 1000`): how many are done, of how
    /// many (0: not a repeated one).
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl Spinner {
    /// Starts the spinner's clock; `None` when stderr is not a terminal.
    /// `terminal`: a live program's share of the terminal, if it has one.
    pub fn start(terminal: Option<TerminalGate>) -> Option<Spinner> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let done = Arc::new(AtomicU64::new(0));
        let total = Arc::new(AtomicU64::new(0));
        let (done_seen, total_seen) = (done.clone(), total.clone());
        let since = terminal.as_ref().map(|t| t.lendings());
        let thread = std::thread::spawn(move || {
            if stopped.recv_timeout(DELAY).is_ok() {
                return;
            }
            let bar = indicatif::ProgressBar::new_spinner().with_message("replaying (Ctrl-C stops)");
            // Drawn here at each tick rather than by indicatif's own thread,
            // so that a drawing never meets the program's use of the terminal.
            let draw = || match (&terminal, since) {
                (Some(terminal), Some(since)) => {
                    let erase = Box::new({
                        let bar = bar.clone();
                        move || bar.finish_and_clear()
                    });
                    terminal.draw(since, || bar.tick(), erase)
                }
                _ => {
                    bar.tick();
                    true
                }
            };
            let mut drawing = draw();
            // A message or the sender's drop ends the wait; meanwhile a
            // repeated movement's count is shown as it goes.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(Duration::from_millis(100)) {
                let total = total_seen.load(Ordering::Relaxed);
                if total > 0 {
                    let done = done_seen.load(Ordering::Relaxed);
                    bar.set_message(format!("replaying: {done} of {total} done (Ctrl-C stops)"));
                }
                if drawing {
                    drawing = draw();
                }
            }
            match &terminal {
                Some(terminal) => terminal.erase(),
                None => bar.finish_and_clear(),
            }
        });
        Some(Spinner {
            stop,
            thread,
            done,
            total,
        })
    }

    /// Shows how far a repeated movement has got.
    pub fn progress(&self, done: u64, total: u64) {
        self.done.store(done, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// Stops and erases the spinner before the movement's output.
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
