//! A trace, a gdb connection and a debugger command line are input rback
//! must not trust: crafted file references in a trace, other users on the
//! gdb port, clients that stall, trace directories others control, and
//! expressions deep enough to overflow a stack. Each must end in one line
//! saying what is wrong, quickly, never a panic or a hang.

mod common;

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use recorder::trace::{Event, FileHash, TraceLog, FILES_DIR};

// ---------------------------------------------------------------------------
// Crafted file references

/// How long refusing a bad file reference may take. The refusal itself is
/// instant; this leaves room for starting a debug build of rback on a
/// machine busy with other tests.
const QUICK: Duration = Duration::from_secs(5);

/// The program's start: the first event.
fn first_exec(events: &mut [Event]) -> &mut recorder::trace::ExecEvent {
    match events.first_mut() {
        Some(Event::Exec(exec)) => exec,
        _ => panic!("the trace does not start with an exec"),
    }
}

/// The copy of the recorded program's executable in `trace`.
fn exe_copy(trace: &Path) -> (FileHash, PathBuf) {
    let log = TraceLog::load(trace).unwrap();
    let Some(Event::Exec(exec)) = log.events().next() else {
        panic!("the trace does not start with an exec");
    };
    let path = trace.join(FILES_DIR).join(&exec.exe.0);
    (exec.exe.clone(), path)
}

/// `rback replay -a TRACE` must fail in one line that contains each of
/// `expect`, before the program prints anything, and quickly.
fn assert_replay_refused(session: &Session, trace: &Path, expect: &[&str]) -> String {
    let started = Instant::now();
    let out = session.rback(&[Path::new("replay").as_os_str(), "-a".as_ref(), trace.as_os_str()]);
    let took = started.elapsed();
    let line = assert_one_error_line(&out);
    for e in expect {
        assert!(line.contains(e), "the error lacks {e:?}:\n{out:?}");
    }
    assert_eq!(out.stdout(), "", "the program must not run:\n{out:?}");
    assert!(took < QUICK, "refusing took {took:?}:\n{out:?}");
    line
}

fn recorded_args_env() -> Session {
    let session = Session::new();
    session.record(c_program("args_env"), &[]);
    session
}

#[test]
fn a_path_in_place_of_the_programs_hash_is_refused() {
    let session = recorded_args_env();
    session.write("secret", "not for the trace's author");
    let crafted = session.path("crafted");
    rewrite_trace(&session.trace(), &crafted, |events| {
        first_exec(events).exe = FileHash("../../secret".into());
    });
    assert_replay_refused(&session, &crafted, &["\"../../secret\"", "not a content hash"]);
    rewrite_trace(&session.trace(), &session.path("absolute"), |events| {
        first_exec(events).exe = FileHash("/etc/passwd".into());
    });
    assert_replay_refused(
        &session,
        &session.path("absolute"),
        &["\"/etc/passwd\"", "not a content hash"],
    );
}

#[test]
fn a_path_in_place_of_a_mapped_libraries_hash_is_refused() {
    let session = recorded_args_env();
    let crafted = session.path("crafted");
    let mut done = false;
    rewrite_trace(&session.trace(), &crafted, |events| {
        for e in events {
            if let Event::Syscall(call) = e {
                if call.mapped_file.is_some() {
                    call.mapped_file = Some(FileHash("/dev/zero".into()));
                    done = true;
                    break;
                }
            }
        }
    });
    assert!(done, "args_env maps no file (is it linked statically?)");
    assert_replay_refused(&session, &crafted, &["\"/dev/zero\"", "not a content hash"]);
}

#[test]
fn a_symlink_in_place_of_a_copy_is_refused_even_to_the_right_bytes() {
    let session = recorded_args_env();
    let (hash, copy) = exe_copy(&session.trace());
    // Same contents, elsewhere: a symlink is refused for what it is.
    let moved = session.path("moved-copy");
    fs::rename(&copy, &moved).unwrap();
    symlink(&moved, &copy).unwrap();
    assert_replay_refused(&session, &session.trace(), &[&hash.0, "symbolic link"]);
    fs::remove_file(&copy).unwrap();
    symlink("/dev/zero", &copy).unwrap();
    assert_replay_refused(&session, &session.trace(), &[&hash.0, "symbolic link"]);
}

#[test]
fn a_fifo_in_place_of_a_copy_is_refused_without_waiting_for_a_writer() {
    let session = recorded_args_env();
    let (hash, copy) = exe_copy(&session.trace());
    fs::remove_file(&copy).unwrap();
    let made = Command::new("mkfifo").arg(&copy).status().expect("cannot run mkfifo");
    assert!(made.success(), "mkfifo {} failed", copy.display());
    assert_replay_refused(&session, &session.trace(), &[&hash.0, "FIFO"]);
}

#[test]
fn a_device_in_place_of_a_copy_is_refused() {
    let session = recorded_args_env();
    let (hash, copy) = exe_copy(&session.trace());
    fs::remove_file(&copy).unwrap();
    // The same device as /dev/zero (1, 5), made where the copy was.
    let made = Command::new("mknod")
        .arg(&copy)
        .args(["c", "1", "5"])
        .output()
        .expect("cannot run mknod");
    assert!(
        made.status.success(),
        "mknod failed (this test makes a device node, which needs root): {}",
        String::from_utf8_lossy(&made.stderr)
    );
    // On a `nodev` file system opening it fails instead; refused either way.
    let line = assert_replay_refused(&session, &session.trace(), &[&hash.0]);
    assert!(
        line.contains("character device") || line.contains("Permission denied"),
        "{line}"
    );
}

#[test]
fn a_directory_in_place_of_a_copy_is_refused() {
    let session = recorded_args_env();
    let (hash, copy) = exe_copy(&session.trace());
    fs::remove_file(&copy).unwrap();
    fs::create_dir(&copy).unwrap();
    assert_replay_refused(&session, &session.trace(), &[&hash.0, "directory"]);
}

#[test]
fn a_copy_of_another_size_or_with_other_bytes_is_refused() {
    let session = recorded_args_env();
    let (hash, copy) = exe_copy(&session.trace());
    let original = fs::read(&copy).unwrap();
    let mut longer = original.clone();
    longer.extend_from_slice(b"appended");
    let mut flipped = original.clone();
    flipped[original.len() / 2] ^= 1;
    for bytes in [longer, original[..original.len() - 1].to_vec(), flipped] {
        fs::write(&copy, bytes).unwrap();
        assert_replay_refused(&session, &session.trace(), &[&hash.0, "damaged"]);
    }
}

/// gdb reads files through host I/O (`vFile:open`, `remote get`): rback
/// answers only with the trace's copies that the log names, checked. A
/// crafted trace cannot name a host file, a symlink, or a copy it does not
/// record.
#[test]
fn gdb_host_io_serves_only_the_traces_checked_copies() {
    let session = Session::new();
    session.record(c_program("gdb_recursion"), &[]);
    session.write("secret", "not for the trace's author");
    let (exe_hash, _) = exe_copy(&session.trace());
    let crafted = session.path("crafted");
    // Recorded names after the program's end, which replay never reaches
    // but gdb can ask for: one for a path, one for a well-formed hash whose
    // copy is a symlink to the secret.
    let linked = "7".repeat(64);
    rewrite_trace(&session.trace(), &crafted, |events| {
        let exec = first_exec(events).clone();
        for (name, hash) in [("/recorded/secret", "../../secret"), ("/recorded/linked", &*linked)] {
            let mut fake = exec.clone();
            fake.exe_path = name.into();
            fake.exe = FileHash(hash.into());
            events.push(Event::Exec(Box::new(fake)));
        }
    });
    let files = crafted.join(FILES_DIR);
    symlink(session.path("secret"), files.join(&linked)).unwrap();
    let unrecorded = "8".repeat(64);
    symlink(session.path("secret"), files.join(&unrecorded)).unwrap();

    let got = |name: &str| session.path(&format!("got-{name}"));
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-iex", "set remotetimeout 60", "-ex"])
        .arg(format!(
            "target extended-remote | {RBACK} replay --gdb-stdio {}",
            crafted.display()
        ))
        .current_dir(session.dir());
    let asks = [
        ("secret", "/recorded/secret".to_string()),
        ("linked", "/recorded/linked".to_string()),
        ("linked-copy", files.join(&linked).display().to_string()),
        ("unrecorded-copy", files.join(&unrecorded).display().to_string()),
        ("program", files.join(&exe_hash.0).display().to_string()),
    ];
    for (name, path) in &asks {
        cmd.arg("-ex").arg(format!("remote get {path} {}", got(name).display()));
    }
    let out = run(&mut cmd, None, TIMEOUT);
    assert_no_panic(&out);
    for (name, _) in &asks[..4] {
        assert!(!got(name).exists(), "gdb got {name}:\n{out:?}");
    }
    assert_eq!(
        fs::read(got("program")).ok(),
        fs::read(files.join(&exe_hash.0)).ok(),
        "gdb could not read the program's own copy:\n{out:?}"
    );
    assert!(
        out.stderr().contains(&format!(
            "rback: not serving /recorded/linked to gdb: the trace's copy {}",
            files.join(&linked).display()
        )),
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------
// Who the gdb server serves

/// A free loopback port (the listener is closed again at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `rback replay --gdb PORT TRACE` (plus `extra` arguments), once it listens.
fn gdb_server(session: &Session, port: u16, extra: &[&str]) -> Running {
    let server = spawn(
        session
            .command()
            .args(["replay", "--gdb"])
            .arg(port.to_string())
            .args(extra)
            .arg(session.trace()),
        None,
    );
    let deadline = Instant::now() + TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Ends the server with Ctrl-C, as a user would, and returns what it said.
fn stop(server: Running) -> Output {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = server.finish(TIMEOUT);
    assert_no_panic(&out);
    out
}

/// Stock gdb over TCP, running `commands`.
fn gdb_tcp(port: u16, commands: &[&str]) -> Output {
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx", "-iex", "set remotetimeout 60", "-ex"])
        .arg(format!("target extended-remote 127.0.0.1:{port}"));
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    run(&mut cmd, None, TIMEOUT)
}

/// A client running as uid `nobody`: it connects, sends gdb's first packet
/// and prints what comes back up to the end of the first reply (or of the
/// connection). Returns that and how long it took.
fn client_as_nobody(port: u16) -> (Output, Duration) {
    let setpriv = system_program("/usr/bin/setpriv");
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test runs a client as another user (nobody) with setpriv, which needs root"
    );
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} || exit 2; \
         printf '+$qSupported:multiprocess+#c6' >&3; \
         IFS= read -r -d '#' -t 30 reply <&3; printf '%s' \"$reply\""
    );
    let mut cmd = Command::new(setpriv);
    cmd.args([
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--",
        "bash",
        "-c",
        &script,
    ])
    .current_dir("/");
    let started = Instant::now();
    let out = run(&mut cmd, None, TIMEOUT);
    (out, started.elapsed())
}

#[test]
fn another_user_gets_not_a_byte_from_the_gdb_server() {
    let session = Session::new();
    session.record(c_program("gdb_recursion"), &[]);
    let port = free_port();
    let server = gdb_server(&session, port, &[]);
    let (nobody, took) = client_as_nobody(port);
    assert!(
        nobody.stdout.is_empty(),
        "the server answered another user:\n{nobody:?}"
    );
    assert!(
        took < Duration::from_secs(20),
        "the connection was left open ({took:?}):\n{nobody:?}"
    );
    // The owner is still served.
    let owner = gdb_tcp(port, &["break fact", "continue", "detach"]);
    assert!(owner.stdout().contains("Breakpoint 1, fact (n=n@entry=5)"), "{owner:?}");
    let out = stop(server);
    let refused = out
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("rback: refused the gdb connection from 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no notice of the refusal:\n{out:?}"));
    let nobody_uid = nix::unistd::User::from_name("nobody").unwrap().unwrap().uid;
    assert!(
        refused.contains(&format!("its socket belongs to uid {nobody_uid}, not to uid 0")),
        "{refused}"
    );
}

#[test]
fn gdb_allow_remote_serves_another_user_and_says_so() {
    let session = Session::new();
    session.record(c_program("gdb_recursion"), &[]);
    let port = free_port();
    let server = gdb_server(&session, port, &["--gdb-allow-remote"]);
    let (nobody, _) = client_as_nobody(port);
    assert!(nobody.stdout().contains("$PacketSize="), "{nobody:?}");
    let out = stop(server);
    assert!(
        out.stderr()
            .contains("rback: warning: --gdb-allow-remote: serving 127.0.0.1:"),
        "{out:?}"
    );
    assert!(out.stderr().contains("to any local user, not only to you"), "{out:?}");
}

#[test]
fn a_silent_client_and_a_half_packet_do_not_keep_gdb_waiting() {
    use std::io::{Read, Write};
    let session = Session::new();
    session.record(c_program("gdb_recursion"), &[]);
    let port = free_port();
    let server = gdb_server(&session, port, &[]);
    let connected = Instant::now();
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    half.write_all(b"+$qSupported:multi").unwrap();
    // Both stay connected while gdb is served.
    let out = gdb_tcp(port, &["break fact", "continue", "detach"]);
    assert!(out.stdout().contains("Breakpoint 1, fact (n=n@entry=5)"), "{out:?}");
    // Each is closed after its time is up, having been sent nothing.
    for stream in [&mut silent, &mut half] {
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        assert!(
            got.is_empty(),
            "a stalled client was sent {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    let waited = connected.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(50)).contains(&waited),
        "the stalled clients were closed after {waited:?}, not after about 10 s"
    );
    let out = stop(server);
    assert_eq!(
        out.stderr().matches("no whole packet within 10 s").count(),
        2,
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------
// Where traces live

/// `rback ARGS` with `RBACK_TRACE_DIR` set to `dir` and `HOME` to `home`.
fn rback_with(session: &Session, dir: Option<&Path>, home: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = session.command();
    match dir {
        Some(d) => cmd.env("RBACK_TRACE_DIR", d),
        None => cmd.env_remove("RBACK_TRACE_DIR"),
    };
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    run(cmd.args(args), None, TIMEOUT)
}

#[test]
fn an_empty_rback_trace_dir_is_an_error_not_the_current_directory() {
    let session = Session::new();
    let prog = c_program("args_env");
    let mut cmd = session.command();
    cmd.env("RBACK_TRACE_DIR", "").arg("record").arg(&prog);
    let out = run(&mut cmd, None, TIMEOUT);
    let line = assert_one_error_line(&out);
    assert!(line.contains("RBACK_TRACE_DIR is set but empty"), "{line}");
    assert_eq!(out.stdout(), "", "the program must not run");
    let mut cmd = session.command();
    let out = run(cmd.env("RBACK_TRACE_DIR", "").args(["replay", "-a"]), None, TIMEOUT);
    assert!(assert_one_error_line(&out).contains("RBACK_TRACE_DIR is set but empty"));
    assert!(
        fs::read_dir(session.dir()).unwrap().next().is_none(),
        "something was written into the current directory"
    );
}

#[test]
fn a_trace_directory_of_another_user_or_writable_by_others_is_refused() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test gives a directory to another user (nobody), which needs root"
    );
    let session = Session::new();
    let prog = c_program("args_env");
    let p = prog.to_str().unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap().uid;
    let theirs = session.path("theirs");
    fs::create_dir(&theirs).unwrap();
    nix::unistd::chown(&theirs, Some(nobody), None).unwrap();
    let shared = session.path("shared");
    fs::create_dir(&shared).unwrap();
    let group = session.path("group");
    fs::create_dir(&group).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(&group, fs::Permissions::from_mode(0o770)).unwrap();
    let cases = [
        (&theirs, format!("it belongs to uid {nobody}, not to you (uid 0)")),
        (&shared, "others can write to it (mode 1777)".to_string()),
        (&group, "others can write to it (mode 0770)".to_string()),
    ];
    for (dir, why) in &cases {
        for args in [&["record", p][..], &["replay", "-a"], &["ls"]] {
            let out = rback_with(&session, Some(dir), None, args);
            let line = assert_one_error_line(&out);
            assert!(
                line.contains(&format!("refusing to use {} for traces: {why}", dir.display())),
                "rback {args:?}: {line}"
            );
            assert_eq!(out.stdout(), "", "{out:?}");
        }
        assert!(
            fs::read_dir(dir).unwrap().next().is_none(),
            "{} was written to",
            dir.display()
        );
    }
    // The same for the default under HOME.
    let home = session.path("home");
    let default = home.join(".local/share/rback");
    fs::create_dir_all(&default).unwrap();
    nix::unistd::chown(&default, Some(nobody), None).unwrap();
    let out = rback_with(&session, None, Some(&home), &["record", p]);
    let line = assert_one_error_line(&out);
    assert!(
        line.contains(&format!("refusing to use {} for traces", default.display())),
        "{line}"
    );
    // Once it is the user's own again, recording goes there.
    fs::remove_dir(&default).unwrap();
    let out = rback_with(&session, None, Some(&home), &["record", p]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(default.join("args_env-0").is_dir(), "{out:?}");
    assert_eq!(fs::metadata(&default).unwrap().permissions().mode() & 0o777, 0o700);
}

// ---------------------------------------------------------------------------
// Deep input

#[test]
fn print_of_an_operator_chain_too_deep_to_evaluate_is_one_error_line() {
    let session = Session::new();
    session.record(c_program("gdb_recursion"), &[]);
    let sum = |n: usize| vec!["1"; n].join("+");
    let input = format!(
        "print {}\nprint {}\nprint {}\nprint -{}\nprint 1+1\n",
        sum(10_000),
        sum(101),
        sum(100),
        "-".repeat(10_000),
    );
    let mut cmd = session.command();
    cmd.arg("replay").arg(session.trace());
    let out = run(&mut cmd, Some(input.as_bytes()), TIMEOUT);
    assert_no_panic(&out);
    assert_eq!(out.code(), 0, "the session must go on:\n{out:?}");
    assert_eq!(
        out.stderr_lines(),
        [
            "Expression too long (more than 1000 tokens).",
            "Expression too deeply nested.",
            "Expression too deeply nested.",
        ],
        "{out:?}"
    );
    let stdout = out.stdout();
    let values: Vec<&str> = stdout.lines().filter(|l| l.starts_with('$')).collect();
    assert_eq!(values, ["$1 = 100", "$2 = 2"], "{out:?}");
}

#[test]
fn by_default_the_gdb_server_is_a_unix_socket_only_its_user_can_reach() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test tries the socket as another user (nobody) with setpriv, which needs root"
    );
    let session = Session::new();
    session.record(c_program("gdb_recursion"), &[]);
    // A temporary directory like /tmp, reachable by others, so that only
    // the socket's own directory keeps them out.
    let tmp = session.path("tmp");
    fs::create_dir(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    fs::set_permissions(session.dir(), fs::Permissions::from_mode(0o711)).unwrap();
    let server = spawn(
        session
            .command()
            .env("TMPDIR", &tmp)
            .env_remove("XDG_RUNTIME_DIR")
            .args(["replay", "--gdb"])
            .arg(session.trace()),
        None,
    );
    let dir = tmp.join(format!("rback-gdb-{}-0", server.pid()));
    let socket = dir.join("socket");
    let deadline = Instant::now() + TIMEOUT;
    while !socket.exists() {
        assert!(Instant::now() < deadline, "no socket at {}", socket.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let meta = fs::metadata(&dir).unwrap();
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o700, 0), "{}", dir.display());
    let target = format!("target extended-remote {}", socket.display());

    let mut as_nobody = Command::new(system_program("/usr/bin/setpriv"));
    as_nobody
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .args(["gdb", "-batch", "-nx", "-ex", &target])
        .current_dir("/");
    let nobody = run(&mut as_nobody, None, TIMEOUT);
    assert!(nobody.stderr().contains("Permission denied"), "{nobody:?}");

    let mut gdb = Command::new("gdb");
    gdb.args(["-batch", "-nx", "-iex", "set remotetimeout 60", "-ex", &target])
        .args(["-ex", "break fact", "-ex", "continue", "-ex", "detach"]);
    let owner = run(&mut gdb, None, TIMEOUT);
    assert!(owner.stdout().contains("Breakpoint 1, fact (n=n@entry=5)"), "{owner:?}");

    // Ctrl-C ends the server and takes the socket and its directory away.
    let out = stop(server);
    assert_eq!(out.code(), 128 + 2, "{out:?}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
    assert!(out.stderr().contains(&format!("-ex '{target}'")), "{out:?}");
    assert_eq!(
        out.stderr()
            .matches("rback: gdb connected from the socket (connection ")
            .count(),
        1,
        "{out:?}"
    );
}
