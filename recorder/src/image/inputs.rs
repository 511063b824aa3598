//! What syscalls read from the program's memory, which a trace does not
//! keep: the log has a call's arguments and results and what it wrote, but
//! a path passed to `openat` or the action passed to `rt_sigaction` is only
//! a pointer in it (as are the new values given to `setitimer` and
//! `timer_settime`, the `sigevent` given to `timer_create` and the
//! arguments of `clone3`). Replay is exact, so at a call's entry the
//! replayed program holds the same bytes there that the recorded one did:
//! replay hands every call to [`SyscallInputs::observe`] as it passes, and
//! the bytes are kept by event number, for checkpoint images to learn the
//! program's open files, working directory, signal handlers, timers and
//! threads.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::image::abi::{CLONE_ARGS_SIZE, ITIMERSPEC_SIZE, ITIMERVAL_SIZE, SIGACTION_SIZE, SIGEVENT_SIZE};
use crate::trace::SyscallEvent;
use crate::tracee::Tracee;
use crate::{EventIdx, RemoteAddr};

/// The longest path the kernel takes (`PATH_MAX`).
const PATH_MAX: usize = 4096;

/// The inputs of one trace's calls, by event number.
#[derive(Debug, Default)]
pub struct SyscallInputs(Mutex<HashMap<u64, Vec<u8>>>);

impl SyscallInputs {
    /// Keeps what call `ev` (event `at`) read from memory, if it is one that
    /// images need and it succeeded. Unreadable memory is simply not kept:
    /// the call failed the same way when it was recorded.
    pub(crate) fn observe(&self, at: EventIdx, ev: &SyscallEvent, tracee: &Tracee) {
        if ev.result < 0 {
            return;
        }
        let read = match ev.nr {
            libc::SYS_open | libc::SYS_creat | libc::SYS_chdir => tracee.read_cstring(RemoteAddr(ev.args[0]), PATH_MAX),
            libc::SYS_openat => tracee.read_cstring(RemoteAddr(ev.args[1]), PATH_MAX),
            libc::SYS_rt_sigaction if ev.args[1] != 0 => tracee.read_bytes(RemoteAddr(ev.args[1]), SIGACTION_SIZE),
            libc::SYS_setitimer if ev.args[1] != 0 => tracee.read_bytes(RemoteAddr(ev.args[1]), ITIMERVAL_SIZE),
            libc::SYS_timer_create if ev.args[1] != 0 => tracee.read_bytes(RemoteAddr(ev.args[1]), SIGEVENT_SIZE),
            libc::SYS_timer_settime => tracee.read_bytes(RemoteAddr(ev.args[2]), ITIMERSPEC_SIZE),
            libc::SYS_clone3 if ev.args[1] >= CLONE_ARGS_SIZE as u64 => {
                tracee.read_bytes(RemoteAddr(ev.args[0]), CLONE_ARGS_SIZE)
            }
            _ => return,
        };
        if let Ok(bytes) = read {
            self.keep(at, bytes);
        }
    }

    pub(crate) fn keep(&self, at: EventIdx, bytes: Vec<u8>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(at.0, bytes);
    }

    /// What event `at` read, if replay has passed it.
    pub fn get(&self, at: EventIdx) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&at.0).cloned()
    }
}
