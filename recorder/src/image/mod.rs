//! Checkpoint images: a moment of a recording saved to a file, and
//! restarted later, or on another machine with the same kind of CPU, as a
//! live process that runs for real from there.
//!
//! - [`format`]: the file (`ImageHeader`, `Pages`, `ImageWriter`,
//!   `ImageReader`), versioned and checksummed, every field validated.
//! - [`save`]: what the timeline's replayed program is at its position:
//!   registers, mappings (pages equal to the trace's file copies are
//!   referred to, not stored), signal state, layout, limits, files.
//! - [`history`]: what the log says of the program's open files, working
//!   directory and signal handlers, which replay does not reproduce.
//! - [`inputs`]: the paths and actions replay saw syscalls read, for it.
//! - [`restore`]: a fresh process made into the saved program by injected
//!   syscalls, then let go.
//! - [`abi`]: the kernel's and x86-64's facts all of these rely on.
//!
//! A replayed program carries rback's seccomp filter and `PR_SET_TSC`,
//! which nothing can remove: a process that must run freely has to be a
//! new one, so branching from the past is a save and a restart.

pub mod abi;
pub mod format;
pub mod history;
pub mod inputs;
pub mod restore;
pub mod save;

pub use inputs::SyscallInputs;
pub use restore::{restart, wait_for_exit, RestartOptions, Restarted, Unopenable};
pub use save::{bundle, save, Saved};
