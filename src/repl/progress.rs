//! A spinner on stderr while a movement takes long, when stderr is a
//! terminal. The timeline cannot report how far it has got from another
//! thread, so the spinner shows the time spent and how to stop.

use std::io::IsTerminal;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a movement runs before the spinner appears: most are instant.
const DELAY: Duration = Duration::from_millis(500);

pub struct Spinner {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Spinner {
    /// Starts the spinner's clock; `None` when stderr is not a terminal.
    pub fn start() -> Option<Spinner> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if stopped.recv_timeout(DELAY).is_ok() {
                return;
            }
            let bar = indicatif::ProgressBar::new_spinner().with_message("replaying (Ctrl-C stops)");
            bar.enable_steady_tick(Duration::from_millis(100));
            // Either a message or the sender's drop ends the wait.
            let _ = stopped.recv();
            bar.finish_and_clear();
        });
        Some(Spinner { stop, thread })
    }

    /// Stops and erases the spinner before the movement's output.
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
