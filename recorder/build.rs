//! Builds the preload library (`preload/syscallbuf.rs`) that `rback record`
//! puts into the program it records. It is a `no_std` cdylib compiled with
//! rustc alone: it must abort rather than unwind, and carry nothing of
//! Rust's runtime, neither of which a workspace member could ask for. The
//! recorder embeds the result (`syscallbuf::LIBRARY`).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let library = out.join("librback_syscallbuf.so");
    println!("cargo:rerun-if-changed=preload/syscallbuf.rs");
    println!("cargo:rerun-if-changed=src/syscallbuf/layout.rs");
    let status = Command::new(rustc)
        .args([
            "--edition=2021",
            "--crate-type=cdylib",
            "--crate-name=rback_syscallbuf",
            "-Cpanic=abort",
            "-Copt-level=2",
            "-Cdebuginfo=0",
            // The gadget is reached with `call`, which pushes below the
            // stack pointer: no data may live there.
            "-Cno-redzone=yes",
            "-Crelocation-model=pic",
            "-Clink-arg=-Wl,-z,now",
            // Debuggers find a library's copy in the trace by its soname.
            "-Clink-arg=-Wl,-soname,rback-syscallbuf.so",
            "-o",
        ])
        .arg(&library)
        .arg("preload/syscallbuf.rs")
        .status()
        .expect("run rustc for the preload library");
    assert!(status.success(), "building the preload library failed");
}
