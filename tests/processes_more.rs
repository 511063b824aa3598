//! Adversarial tests for child processes: threads and forks mixed, many
//! children at once, daemons, signals and job control between processes,
//! the ways C starts programs, memory shared between processes, real
//! shells and Python, and the debugger following one process of a tree.
//!
//! Every program is recorded, then replayed with `replay -a` three times,
//! each replay compared with the recording byte for byte. Tests that pin a
//! bug not fixed yet assert what rback does today (a clear "replay
//! diverged" line) and say what is wrong.

mod common;

use std::ffi::OsStr;
use std::time::Duration;

use common::*;

/// How long a recording or replay of these small programs may take before
/// it counts as hung: they all finish in well under a second natively, but
/// the replay of a thread that spins (placed by state) takes seconds, and
/// several times that on two CPUs that other test binaries share.
const HANG: Duration = Duration::from_secs(60);

/// `rback ARGS` in `session`, failing the test if it runs past [`HANG`].
fn rback(session: &Session, args: &[&OsStr]) -> Output {
    run(session.command().args(args), None, HANG)
}

/// Records `prog ARGS`, then replays it three times, each time checking
/// stdout, stderr and the exit status against the recording.
fn record_and_replay_three_times(session: &Session, prog: impl AsRef<OsStr>, args: &[&str]) -> Output {
    let mut cmd = session.command();
    cmd.arg("record").arg("-o").arg(session.trace()).arg(prog).args(args);
    let rec = strip_saved_line(run(&mut cmd, None, HANG), &session.trace());
    for _ in 0..3 {
        let rep = rback(
            session,
            &["replay".as_ref(), "-a".as_ref(), session.trace().as_os_str()],
        );
        assert_replay_matches(&rec, &rep);
    }
    rec
}

/// What `rback info` says of the session's trace.
fn info(session: &Session) -> String {
    let out = rback(session, &["info".as_ref(), session.trace().as_os_str()]);
    assert_eq!(out.code(), 0, "{out:?}");
    out.stdout()
}

/// The recorded ids of the processes `rback info` lists, in its order
/// (the order gdb numbers inferiors).
fn pids(session: &Session) -> Vec<String> {
    let info = info(session);
    info.lines()
        .filter(|l| l.contains("(from event "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// Runs the debugger commands `script` on the session's trace, following
/// process `process` if given.
fn debug(session: &Session, process: Option<&str>, script: &str) -> Output {
    let file = session.write("script.gdb", script);
    let trace = session.trace();
    let mut args: Vec<&OsStr> = vec!["replay".as_ref()];
    if let Some(p) = process {
        args.extend(["-p".as_ref(), OsStr::new(p)]);
    }
    args.extend(["--batch".as_ref(), "-x".as_ref(), file.as_os_str(), trace.as_os_str()]);
    let out = rback(session, &args);
    assert_no_panic(&out);
    out
}

/// The root forks from a thread that is not its main thread, while the
/// main thread works; the child starts three threads and joins them.
#[test]
fn a_fork_from_a_second_thread_with_threads_in_the_child_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("thread_fork"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "child threads total 1799986\nforker thread: child exited 11\nmain counter 300000\n",
        "{rec:?}"
    );
    assert!(info(&session).contains("processes: 2 ("));
}

/// Twenty children write into one pipe and end in another order than
/// they started; the parent reaps them late, with waitpid(-1).
#[test]
fn twenty_children_on_one_pipe_reaped_with_waitpid_any_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("many_children"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    assert!(out.starts_with("180 bytes from the children:\n"), "{out}");
    assert!(out.ends_with("reaped 20 children, statuses sum to 210\n"), "{out}");
    assert!(!out.contains("bad status"), "{out}");
    assert!(info(&session).contains("processes: 21 ("));
}

/// A double fork with setsid: the daemon is reparented, and outlives the
/// root, whose status is the program's.
#[test]
fn a_daemon_from_a_double_fork_outlives_the_root() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("daemonize"), &[]);
    assert_eq!(rec.code(), 4, "{rec:?}");
    let out = rec.stdout();
    for line in [
        "middle: new session yes\n",
        "daemon: reparented, not to the root: yes\n",
        "daemon: session leader: no, group leader: no\n",
        "root: middle exited 0; leaving with 4\n",
    ] {
        assert!(out.contains(line), "no {line:?} in {out}");
    }
    assert!(out.ends_with("daemon: the root is gone; done\n"), "{out}");
}

/// The root as a child subreaper: an orphaned grandchild is reparented to
/// it and reaped by it; a great-grandchild with PR_SET_PDEATHSIG gets
/// SIGTERM when its parent exits.
#[test]
fn a_subreaper_root_reaps_orphans_and_pdeathsig_fires() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("reaper"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    for line in [
        "orphan: my parent is now the root\n",
        "reaped the middle: exit 1\n",
        "reaped an orphan: exit 5\n",
        "reaped an orphan: signal 15\n",
    ] {
        assert!(out.contains(line), "no {line:?} in {out}");
    }
    assert!(out.ends_with("reaped 3\n"), "{out}");
}

/// Twenty children end while the parent is blocked in a read that
/// restarts (SA_RESTART); its SIGCHLD handler reaps them with WNOHANG.
#[test]
fn a_sigchld_storm_reaped_by_the_handler_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("chld_storm"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "read 1, reaped 20, sum 190, handler ran yes\n", "{rec:?}");
}

/// SIGKILL to a blocked child, a child interrupting its parent's read,
/// SIGCHLD with SA_RESTART, sigsuspend, killpg and abort().
#[test]
fn signals_between_processes_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("signals_between"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "1. blocked child: signal 9\n\
         2. read: -1 (Interrupted system call), usr1 1\n\
         2. then read 1; sender: exit 2\n\
         3. read restarted: 1 y, SIGCHLD seen: yes\n\
         4. sigsuspend woke for SIGCHLD: exit 5\n\
         5. group member 0: signal 15\n\
         5. group member 1: signal 15\n\
         5. group member 2: signal 15\n\
         6. aborting child: signal 6\n",
        "{rec:?}"
    );
}

/// A child stopped with SIGSTOP runs no more until SIGCONT, while
/// recorded as natively: its parent asks it for a reply while it is
/// stopped and gets none. (rback used to resume every group stop at once,
/// so the stopped child answered.) The debugger follows the child through
/// its stop to its end (taking checkpoints in its group stop used to fail
/// with "unexpected stop ... while taking a checkpoint"), and stops for
/// each signal with gdb's words: gdb following the child natively says
/// "received signal SIGSTOP, Stopped (signal)." where the stop comes and
/// "received signal SIGCONT, Continued." where it is woken. (The debugger
/// went on to the SIGCONT at once: its first place in the child was named
/// by an event of the parent's turn, which it had passed over already.)
/// One reverse-stepi from the SIGCONT is back at the SIGSTOP (the child
/// ran nothing in between), and a reverse-continue with no breakpoint goes
/// to the recording's start, as in gdb.
#[test]
fn a_child_stopped_by_sigstop_waits_for_sigcont() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("stopped_child"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "stopped: 19\nreply while stopped: none\nreply after SIGCONT: yes\nchild: exit 0\n",
        "{rec:?}"
    );
    let child = pids(&session)[1].clone();
    // Each movement is preceded by a line `== NAME`, to find what it printed.
    let script = [
        ("stop", "continue\nwhen"),
        ("cont", "continue\nwhen"),
        ("back", "reverse-stepi\nwhen"),
        ("cont again", "continue"),
        ("end", "continue"),
        ("start", "reverse-continue\nwhen"),
    ]
    .map(|(name, commands)| format!("echo == {name}\\n\n{commands}\n"))
    .concat();
    let out = debug(&session, Some(&child), &script);
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let mut blocks = std::collections::HashMap::new();
    for block in text.split("== ").skip(1) {
        let (name, printed) = block.split_once('\n').unwrap_or((block, ""));
        blocks.insert(name.to_string(), printed.to_string());
    }
    let block = |name: &str| {
        blocks
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .as_str()
    };
    let stop = block("stop");
    assert!(
        stop.starts_with("Program received signal SIGSTOP, Stopped (signal).\n"),
        "{text}"
    );
    let cont = block("cont");
    assert!(
        cont.starts_with("Program received signal SIGCONT, Continued.\n"),
        "{text}"
    );
    assert_ne!(field(cont, "Position:"), field(stop, "Position:"), "{text}");
    let back = block("back");
    assert!(!back.contains("Program received signal"), "{text}");
    assert_eq!(field(back, "Position:"), field(stop, "Position:"), "{text}");
    assert!(
        block("cont again").starts_with("Program received signal SIGCONT, Continued.\n"),
        "{text}"
    );
    let end = block("end");
    assert!(end.starts_with("No more reverse-execution history.\n"), "{text}");
    assert!(end.contains("__GI__exit"), "{text}");
    let start = block("start");
    assert!(start.starts_with("No more reverse-execution history.\n"), "{text}");
    assert_eq!(field(start, "Current event:"), "1", "{text}");
}

/// The same with a child of two threads, neither of which runs until
/// SIGCONT, while recorded as natively: one waits in a read for its
/// parent's request when the stop comes, the other sleeps between ticks on
/// a pipe. While the child is stopped its parent asks for a reply and
/// looks for ticks, and gets neither. (rback used to resume the group stop
/// of a process of several threads at once, so the stopped child answered
/// and ticked, because replay diverged where the second thread, its read
/// interrupted by the stop, went into it.) The debugger follows the child
/// through its stop to its end, and back to its start.
#[test]
fn a_stopped_child_with_threads_waits_for_sigcont() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("stopped_threads"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "stopped: 19\n\
         while stopped: 0 replies, 0 ticks\n\
         reply after SIGCONT: yes\n\
         ticks after SIGCONT: yes\n\
         child: exit 7\n",
        "{rec:?}"
    );
    let child = pids(&session)[1].clone();
    let script = "continue\ncontinue\ncontinue\ncontinue\nreverse-continue\ncontinue\n";
    let out = debug(&session, Some(&child), script);
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    let stopped = text.find("received signal SIGSTOP").expect(&text);
    let woken = stopped + text[stopped..].find("received signal SIGCONT").expect(&text);
    let ended = woken + text[woken..].find("__GI__exit").expect(&text);
    // Back at the start, and forward through the stop again.
    assert!(text[ended..].contains("received signal SIGSTOP"), "{text}");
}

/// The same child with a third thread, waiting on a condition variable,
/// stopped three times by its parent (SIGSTOP, SIGTSTP, SIGSTOP) and then
/// by one of its own threads (`raise(SIGSTOP)`), each time until SIGCONT.
/// A thread the last stop took through a group stop that has not run
/// since goes into the next one on its own turn, while recorded and in
/// replay (the debugger took that for a stop of its own machinery before
/// and said "internal error: unexpected replay step").
#[test]
fn a_child_with_threads_stopped_again_and_by_itself_waits_for_sigcont() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("stopped_threads_again"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "stopped by 19: 0 replies, 0 ticks\n\
         reply after SIGCONT: a\n\
         stopped by 20: 0 replies, 0 ticks\n\
         reply after SIGCONT: a\n\
         stopped by 19: 0 replies, 0 ticks\n\
         reply after SIGCONT: a\n\
         stopped itself by 19: 0 replies, 0 ticks\n\
         reply after SIGCONT: s\n\
         waiter: w\n\
         child: exit 7\n",
        "{rec:?}"
    );
    let child = pids(&session)[1].clone();
    let out = debug(&session, Some(&child), &"continue\n".repeat(11));
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    assert_eq!(text.matches("received signal SIGCONT").count(), 4, "{text}");
    assert!(text.contains("received signal SIGTSTP"), "{text}");
    assert!(text.contains("__GI__exit"), "{text}");
    assert!(!text.contains("error"), "{text}");
}

/// vfork + a failing exec, posix_spawn, system(), popen in both
/// directions, and execve of a `#!` script.
#[test]
fn vfork_posix_spawn_system_popen_and_a_script_replay() {
    let session = Session::new();
    let script = session.write("script.sh", "#!/bin/sh\necho \"script got $1\"\nexit 12\n");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rec = record_and_replay_three_times(&session, c_program("spawn_family"), &["./script.sh"]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "vfork + failed exec: 127\n\
         spawned\n\
         posix_spawn: 0, exit 9\n\
         from system\n\
         system: 3\n\
         popen read: one\n\
         popen read: two\n\
         pclose: 6\n\
         pclose of a writer: 2\n\
         script got arg1\n\
         script: 12\n",
        "{rec:?}"
    );
}

/// Four children contend for a process-shared mutex in MAP_SHARED
/// anonymous memory (futex waits across processes); one makes itself a
/// session leader, another a group leader. The order they took the lock
/// in is printed, so a replay that interleaves them otherwise differs.
#[test]
fn a_process_shared_mutex_in_shared_anonymous_memory_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("shared_mutex"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert!(
        rec.stdout()
            .starts_with("counter 8000, atomic 16000, bad children 0\norder "),
        "{rec:?}"
    );
}

/// The debugger follows the root of the same program, then a child:
/// each sees what the others wrote into the memory they share, which the
/// recording took at each switch to it (it used to see only its own
/// writes, and the root's replay diverged at its first call that depended
/// on theirs). The child whose letter ends the order string sees the
/// whole string at its exit, the others' letters included.
#[test]
fn the_debugger_on_processes_sharing_memory_sees_the_others_writes() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("shared_mutex"), &[]);
    let order = rec
        .stdout()
        .lines()
        .find_map(|l| l.strip_prefix("order ").map(str::to_string))
        .unwrap();
    let root = debug(
        &session,
        None,
        "break shared_mutex.c:59\ncontinue\nprint s->counter\nprint s->atomic\nprint s->order\n",
    );
    assert!(!root.stderr().contains("diverged"), "{root:?}");
    let out = root.stdout();
    assert!(out.contains("$1 = 8000\n$2 = 16000\n"), "{out}");
    assert!(out.contains(&format!("$3 = \"{order}\"")), "{out}");
    // The child whose letter ends the string (child i writes letter 'a' +
    // i and exits with status i, which `rback info` shows: children are
    // listed in the order they first ran, not the order of their forks).
    let last = order.chars().last().unwrap();
    let status = format!("exited with status {})", last as u8 - b'a');
    let info = info(&session);
    let child = info
        .lines()
        .find(|l| l.contains(", child of ") && l.ends_with(&status))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no child {status} in {info}"))
        .to_string();
    let child = &child;
    let out = debug(
        &session,
        Some(child),
        "break shared_mutex.c:49\ncontinue\nprint s->order\n",
    );
    assert!(!out.stderr().contains("diverged"), "{out:?}");
    let out = out.stdout();
    assert!(out.contains(&format!("$1 = \"{order}\"")), "{out}");
}

/// A System V segment attached read-only (SHM_RDONLY) by its parent and a
/// child. `replay -a` maps segments shared, and used to fail to fill a
/// read-only one ("cannot access tracee memory ... Input/output error"):
/// the kernel forces a write through /proc/PID/mem only into pages it can
/// copy on write. (It now fills the segment's shared copy instead, and
/// maps that read-only.)
#[test]
fn a_sysv_segment_attached_read_only_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("sysv_read_only"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "parent reads: filled before the read-only attach\n\
         child reads: filled before the read-only attach\n\
         child may not write into it\n\
         child exited with 0\n",
        "{rec:?}"
    );
}

/// A System V segment attached twice at once, and anew by a child: writes
/// through one attach show through the others in replay too.
#[test]
fn a_sysv_segment_attached_twice_and_by_a_child_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("sysv_twice"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "the second attach reads: written through the first attach\n\
         the parent reads: written by the child's own attach\n\
         the first attach reads: written through the second attach\n\
         child exited with 0\n",
        "{rec:?}"
    );
}

/// A MAP_SHARED mapping of a file, written by the child and read by the
/// parent. Replay used to map file-backed shared memory privately in each
/// process, so the parent read 0 and replay diverged at its write; it now
/// maps one shared copy of the file (`recorder/src/replay/shared.rs`).
#[test]
fn a_shared_file_mapping_written_by_a_child_replays() {
    let session = Session::new();
    let file = session.path("shared.bin");
    let rec = record_and_replay_three_times(&session, c_program("shared_file_map"), &[file.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "the child wrote 42\n", "{rec:?}");
}

/// A file mapped MAP_SHARED read-only before any process opened it for
/// writing, then written through writable shared mappings by a child and
/// by the parent itself: the read-only mapping shows both writes. Replay
/// used to map it privately (no shared copy of the file existed yet), so
/// the parent printed the file's first contents and replay diverged.
#[test]
fn a_file_mapped_shared_read_only_sees_later_writes_in_replay() {
    let session = Session::new();
    let mut contents = b"initial contents".to_vec();
    contents.resize(4096, 0);
    let file = session.write("read_only.bin", &contents);
    let rec = record_and_replay_three_times(&session, c_program("shared_read_only_map"), &[file.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "before: \"initial contents\"\n\
         after the child (exit 0): \"written by the child\"\n\
         after the parent: \"written by the parent\"\n",
        "{rec:?}"
    );
}

/// Parent and children exchange messages both ways through MAP_SHARED
/// mappings of a regular file and of a memfd: mappings inherited by a
/// fork, new mappings of the same file in the child (by its name, by a
/// symbolic link to it (one file by its recorded inode), by a name `link`
/// gave it as `sem_open` does, through `/proc/self/fd`, from
/// a descriptor sent over a socket), and a `pwrite` by a child that maps
/// the file read-only (bytes `/proc/PID/mem` cannot write, which go into
/// the shared copy).
#[test]
fn files_mapped_shared_carry_messages_between_processes_in_replay() {
    let session = Session::new();
    let file = session.path("exchange.bin");
    let rec = record_and_replay_three_times(&session, c_program("shared_file_exchange"), &[file.to_str().unwrap()]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    for what in [
        "file, inherited",
        "file, by name",
        "file, by a symlink",
        "file, pwrite",
        "file, after 100 others",
        "linked",
        "memfd, inherited",
        "memfd, reopened",
        "memfd, pwrite",
    ] {
        assert!(
            out.contains(&format!("{what}: child read \"pong for {what}\"\n")),
            "{out}"
        );
    }
    assert!(out.contains("linked: \"initial contents\"\n"), "{out}");
    assert!(
        out.contains("file, pwrite: parent read \"bye by pwrite\" after the child\n"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "sent: child read \"question from the parent\"\n\
             sent: parent read \"answer from the child\"\nEXIT-SUCCESS\n"
        ),
        "{out}"
    );
}

/// The debugger follows one process, and maps files privately (its
/// checkpoints must not share the live process's memory): following the
/// child of shared_file_map works, and following the parent, which reads
/// what the child wrote, shows it (the write is recorded at the switch
/// back to the parent; the replay used to diverge there), a watchpoint
/// too.
#[test]
fn the_debugger_on_processes_sharing_a_file_mapping() {
    let session = Session::new();
    let file = session.path("shared.bin");
    record_and_replay_three_times(&session, c_program("shared_file_map"), &[file.to_str().unwrap()]);
    let pids = pids(&session);
    assert_eq!(pids.len(), 2, "{pids:?}");
    let child = debug(&session, Some(&pids[1]), "continue\n");
    assert_eq!(child.code(), 0, "{child:?}");
    assert!(!child.stderr().contains("diverged"), "{child:?}");
    let root = debug(
        &session,
        None,
        "break shared_file_map.c:24\ncontinue\nprint mem[0]\ncontinue\n",
    );
    assert!(!root.stderr().contains("diverged"), "{root:?}");
    assert!(root.stdout().contains("$1 = 42\n"), "{root:?}");
    // A watchpoint on the shared word stops where the parent's turn comes
    // back (its waitpid returns), with the child's value.
    let watched = debug(
        &session,
        None,
        "break shared_file_map.c:18\ncontinue\nwatch mem[0]\ncontinue\nbacktrace 2\n",
    );
    let out = watched.stdout();
    assert!(out.contains("Old value = 0\nNew value = 42\n"), "{watched:?}");
    assert!(out.contains("wait4"), "{watched:?}");
}

/// A file the parent alone maps shared, read-only, over more than its
/// length, which a child grows and writes with `pwrite`: the parent's
/// mapping shows the child's bytes, those past the old end too. `replay
/// -a` showed them already; the debugger following the parent, which
/// does not run the child, showed the file's first contents, and now
/// writes what the recording found changed in the parent's shared memory
/// at the switch back to it.
#[test]
fn a_file_written_by_a_process_that_does_not_map_it_shows_in_the_mappers_replay() {
    let session = Session::new();
    let file = session.path("grown.bin");
    let rec = record_and_replay_three_times(
        &session,
        c_program("shared_file_written_by_another"),
        &[file.to_str().unwrap()],
    );
    assert_eq!(
        rec.stdout(),
        "before: \"the file's first contents\"\n\
         after: \"written by the child\" and \"past the old end\" (child status 0)\n",
        "{rec:?}"
    );
    let root = debug(
        &session,
        None,
        "break shared_file_written_by_another.c:42\ncontinue\nprint mem\nprint second\n",
    );
    assert!(!root.stderr().contains("diverged"), "{root:?}");
    let out = root.stdout();
    assert!(out.contains(" \"written by the child\"\n"), "{out}");
    assert!(out.contains(" \"past the old end\"\n"), "{out}");
}

/// A child whose thread is running user code when the child calls
/// exit(). Replay used to hang (both threads of the replayed child were
/// zombies, the first reported only once the other is reaped).
#[test]
fn a_child_exiting_while_its_thread_spins_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("child_exits_while_thread_spins"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "child leaving 1\nchild a: 21\n", "{rec:?}");
}

/// A thread of a child execs while another of its threads is blocked in
/// pause(). Replay used to hang: the exec'ing thread sits in the kernel's
/// `begin_new_exec` until the other, now zombie, threads are reaped, which
/// replay now does while it waits for the exec.
#[test]
fn a_thread_of_a_child_execs_while_another_sleeps() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("child_thread_execs"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "exec from a thread of a child\nchild: 0\n", "{rec:?}");
}

/// wait() with SIGCHLD ignored, waitid with WNOWAIT, WNOHANG polling,
/// wait4's rusage, and a child that kills the root and outlives it.
#[test]
fn reaping_children_every_way_and_a_child_killing_the_root_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("reaping"), &[]);
    assert_eq!(rec.code(), 128 + 9, "{rec:?}");
    let out = rec.stdout();
    for line in [
        "1. wait with SIGCHLD ignored: -1 (No child processes)\n",
        "2. peek: code 1 status 33\n2. reap: pid ok 1 status 33\n",
        "3. WNOHANG: got it, exit 44, polled yes\n",
        "4. rusage: utime 0.",
        "5. child kills the root\n5. child outlives it\n",
    ] {
        assert!(out.contains(line), "no {line:?} in {out}");
    }
}

/// clone3 used as fork, a vfork child writing its parent's memory before
/// a failed exec, and kill(0, SIGTERM) from a child killing the root.
#[test]
fn clone3_vfork_memory_and_sigterm_to_the_group_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("group_and_clone3"), &[]);
    assert_eq!(rec.code(), 128 + 15, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "1. clone3 child: 17\n2. vfork child wrote 99, exit 127\n",
        "{rec:?}"
    );
}

/// A vfork parent, its turn given up until the child execs (`InVfork`),
/// is signalled by another child meanwhile: the handler runs once.
#[test]
fn a_signal_to_a_vfork_parent_while_its_child_runs_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("vfork_signal"), &[]);
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(
        rec.stdout(),
        "vfork child: 3, parent got SIGUSR1 1 time(s)\n",
        "{rec:?}"
    );
}

/// A thread is blocked in read when the main thread forks, and the child
/// writes what it reads. The child's exit sends SIGCHLD, which wakes the
/// main thread's futex wait (-ERESTARTSYS) but is taken by the reader, so
/// the kernel makes the futex call again: replay must make it again too
/// (it used to hand the program the internal -512 and diverge).
#[test]
fn a_fork_while_another_thread_is_blocked_in_read_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(&session, c_program("fork_blocked"), &[]);
    assert_eq!(rec.stdout(), "the blocked thread read: from the child\n", "{rec:?}");
}

/// `sh -c` with background jobs, `wait %1` for a status, then `wait`.
#[test]
fn sh_background_jobs_and_wait_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(
        &session,
        system_program("/bin/sh"),
        &[
            "-c",
            "(sleep 0.01; echo job1; exit 3) & (echo job2) & wait %1; echo \"first: $?\"; wait; echo all done",
        ],
    );
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "job2\njob1\nfirst: 3\nall done\n", "{rec:?}");
}

/// Pipelines that move more than a pipe holds between two children
/// (the parent shell not involved), and writers killed by SIGPIPE when
/// the reader stops early (`yes | head`). `-a -p` on one of them shows
/// the same output.
#[test]
fn big_pipelines_between_children_and_sigpipe_replay() {
    let session = Session::new();
    let rec = record_and_replay_three_times(
        &session,
        system_program("/bin/sh"),
        &[
            "-c",
            "seq 1 200000 | sort -rn | head -2; seq 1 100000 | tail -1; yes | head -c 300000 | wc -c",
        ],
    );
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "200000\n199999\n100000\n300000\n", "{rec:?}");
    let info = info(&session);
    assert!(info.contains("processes: 9 ("), "{info}");
    assert!(info.contains("yes (from event "), "{info}");
    let alone = rback(
        &session,
        &[
            "replay".as_ref(),
            "-a".as_ref(),
            "-p".as_ref(),
            "wc".as_ref(),
            session.trace().as_os_str(),
        ],
    );
    assert_replay_matches(&rec, &alone);
}

/// bash with background jobs, a command substitution, xargs, find -exec
/// and a coproc that it kills.
#[test]
fn bash_jobs_xargs_find_exec_and_a_coproc_replay() {
    let session = Session::new();
    std::fs::create_dir(session.path("fdir")).unwrap();
    for name in ["a", "b", "c"] {
        session.write(&format!("fdir/{name}"), "");
    }
    system_program("/usr/bin/xargs");
    system_program("/usr/bin/find");
    let rec = record_and_replay_three_times(
        &session,
        system_program("/bin/bash"),
        &[
            "-c",
            "for i in 1 2 3; do (echo \"job $i\"; exit $i) & done; wait; \
             x=$(echo sub | tr a-z A-Z); echo \"$x\"; \
             echo a b c | xargs -n1 echo item; \
             find fdir -type f -exec echo found {} \\; | sort; \
             coproc cat; echo to-coproc >&${COPROC[1]}; read -u ${COPROC[0]} line; echo \"coproc: $line\"; \
             kill $COPROC_PID; wait $COPROC_PID; echo \"coproc status $?\"",
        ],
    );
    assert_eq!(rec.code(), 0, "{rec:?}");
    let out = rec.stdout();
    let mut jobs: Vec<&str> = out.lines().take(3).collect();
    jobs.sort();
    assert_eq!(jobs, ["job 1", "job 2", "job 3"], "{out}");
    assert!(
        out.ends_with(
            "SUB\nitem a\nitem b\nitem c\nfound fdir/a\nfound fdir/b\nfound fdir/c\n\
             coproc: to-coproc\ncoproc status 143\n"
        ),
        "{out}"
    );
}

/// Python's multiprocessing.Pool: worker processes, result-handler
/// threads and named semaphores (sem_open: a MAP_SHARED file in /dev/shm).
/// Replay used to diverge ("expected thread N's turn, at futex, got
/// syscall read"): the semaphores were private to each process.
#[test]
fn python_multiprocessing_pool_replays() {
    let session = Session::new();
    let rec = record_and_replay_three_times(
        &session,
        system_program("/usr/bin/python3"),
        &[
            "-c",
            "import multiprocessing as mp\n\
             def sq(x): return x * x\n\
             if __name__ == '__main__':\n    \
                 with mp.Pool(2) as p:\n        \
                     print(p.map(sq, range(10)))\n    \
                 print('done')\n",
        ],
    );
    assert_eq!(rec.code(), 0, "{rec:?}");
    assert_eq!(rec.stdout(), "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\ndone\n", "{rec:?}");
}

/// Python's multiprocessing with each start method: a Pool, then three
/// processes adding to a shared `Value` under a `Lock`. The `Value` lives
/// in a file mapped shared (an unlinked temporary file); with `fork` the
/// children inherit its mapping, with `spawn` and `forkserver` they map it
/// again from a descriptor they are handed (inherited, or sent over a
/// socket with SCM_RIGHTS), and the lock is a named semaphore in /dev/shm
/// they open again by name.
#[test]
fn python_multiprocessing_values_and_locks_replay_with_every_start_method() {
    for method in ["fork", "spawn", "forkserver"] {
        let session = Session::new();
        let script = session.write(
            "mp.py",
            "import multiprocessing as mp, sys\n\
             def sq(x): return x * x\n\
             def bump(v, l):\n    \
                 for _ in range(100):\n        \
                     with l:\n            \
                         v.value += 1\n\
             if __name__ == '__main__':\n    \
                 mp.set_start_method(sys.argv[1])\n    \
                 with mp.Pool(2) as p:\n        \
                     print(p.map(sq, range(5)))\n    \
                 l = mp.Lock()\n    \
                 v = mp.Value('i', 0, lock=False)\n    \
                 ps = [mp.Process(target=bump, args=(v, l)) for _ in range(3)]\n    \
                 for p in ps: p.start()\n    \
                 for p in ps: p.join()\n    \
                 print(sys.argv[1], v.value)\n",
        );
        let rec = record_and_replay_three_times(
            &session,
            system_program("/usr/bin/python3"),
            &[script.to_str().unwrap(), method],
        );
        assert_eq!(rec.code(), 0, "{method}: {rec:?}");
        assert_eq!(rec.stdout(), format!("[0, 1, 4, 9, 16]\n{method} 300\n"), "{rec:?}");
    }
}

/// Records family.c: root, child, grandchild, and a vfork + exec of
/// /bin/true; returns the recorded pids in `rback info`'s order.
fn record_family(session: &Session) -> Vec<String> {
    let rec = record_and_replay_three_times(session, c_program("family"), &[]);
    assert_eq!(
        rec.stdout(),
        "grandchild: 165\nchild: 110, grandchild exited 65\nroot: 55, child exited 10\ntrue exited 0\n",
        "{rec:?}"
    );
    let pids = pids(session);
    assert_eq!(pids.len(), 4, "{}", info(session));
    pids
}

/// `replay -p` on a grandchild: its own values at a breakpoint, and going
/// back to the breakpoint from its end.
#[test]
fn replay_p_debugs_a_grandchild() {
    let session = Session::new();
    let pids = record_family(&session);
    let out = debug(
        &session,
        Some(&pids[2]),
        "break work\ncontinue\nprint generation\nfinish\ncontinue\nreverse-continue\nprint generation\n",
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    assert_eq!(
        text.matches("Breakpoint 1, work (generation=generation@entry=3) at family.c:13")
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("$1 = 3\n") && text.contains("$3 = 3\n"), "{text}");
    assert!(text.contains("Value returned is $2 = 165\n"), "{text}");
    assert!(text.contains("__GI__exit (status=status@entry=65)"), "{text}");
    assert!(out.stderr().is_empty(), "{out:?}");
}

/// `rback gdb -p` on the grandchild, with stock gdb in batch mode.
#[test]
fn rback_gdb_p_debugs_a_grandchild_in_gdb() {
    let session = Session::new();
    let pids = record_family(&session);
    let out = rback(
        &session,
        &[
            "gdb".as_ref(),
            "-p".as_ref(),
            pids[2].as_ref(),
            session.trace().as_os_str(),
            "--".as_ref(),
            "-batch".as_ref(),
            "-ex".as_ref(),
            "break work".as_ref(),
            "-ex".as_ref(),
            "continue".as_ref(),
            "-ex".as_ref(),
            "print generation".as_ref(),
            "-ex".as_ref(),
            "reverse-continue".as_ref(),
        ],
    );
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.stdout();
    assert!(
        text.contains("Breakpoint 1, work (generation=generation@entry=3) at ")
            && text.contains("family.c:13\n13\t    return value;"),
        "{out:?}"
    );
    assert!(text.contains("$1 = 3\n"), "{out:?}");
    assert!(text.contains("No more reverse-execution history."), "{out:?}");
}

/// `inferior 3` (the grandchild) while the root stands after the
/// grandchild has ended: the session reopens on the grandchild at its last
/// moment. (Any process's end used to end every timeline, so this failed
/// with "event N is outside the recording".)
#[test]
fn inferior_n_after_it_ended_opens_it_at_its_last_moment() {
    let session = Session::new();
    record_family(&session);
    let out = debug(&session, None, "break 34\ncontinue\ninferior 3\nbacktrace 1\n");
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stderr().is_empty(), "{out:?}");
    let text = out.stdout();
    assert!(text.contains("[Switching to inferior 3 [process "), "{text}");
    // It had ended by then: the session shows its last moment, its exit.
    assert!(
        text.contains("#0  0x") && text.contains("_exit (status="),
        "at the grandchild's end: {text}"
    );
}

/// `goto` past the first event where some process (here the grandchild)
/// exited: the root's timeline goes on past it. (goto used to refuse.)
#[test]
fn goto_past_another_process_exit_works() {
    let session = Session::new();
    record_family(&session);
    // The event that forks `true`, after the grandchild and child ended:
    // goto the interval before it, in the root's vfork.
    let info = info(&session);
    let forked_at: u64 = info
        .lines()
        .find(|l| l.contains(" true (from event "))
        .and_then(|l| l.split("(from event ").nth(1))
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `true` process in {info}"));
    let out = debug(&session, None, &format!("goto {forked_at}\nbacktrace 8\n"));
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stderr().is_empty(), "{out:?}");
    // The interval before the vfork starts where the root's previous event
    // (its printf's write) ended.
    assert!(out.stdout().contains("in main () at family.c:3"), "{out:?}");
}

/// `set follow-fork-mode child` then `continue` over the root's vfork +
/// exec of /bin/true: the session follows `true` to its end. (Breakpoints
/// set in the root's program used to stay at their addresses in `true`'s
/// code after its exec, and replay diverged.)
#[test]
fn follow_fork_mode_child_over_vfork_and_exec() {
    let session = Session::new();
    record_family(&session);
    let out = debug(
        &session,
        None,
        "break 34\ncontinue\nset follow-fork-mode child\ncontinue\ninfo inferiors\ncontinue\nreverse-continue\n",
    );
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stderr().is_empty(), "{out:?}");
    let text = out.stdout();
    assert!(text.contains("fork to child process "), "{text}");
    assert!(text.contains("/usr/bin/true"), "{text}");
    assert!(text.contains("__GI__exit (status=status@entry=0)"), "{text}");
}

/// `inferior N` between processes alive at the same moment: from the
/// grandchild's breakpoint to its parent (waiting for it in wait4), on to
/// the parent's own hit, back to its start, then to the grandchild again
/// from its fork. `-p` with a pid that is not in the recording is one
/// clear error.
#[test]
fn inferior_switches_and_reverse_continue_between_live_processes() {
    let session = Session::new();
    let pids = record_family(&session);
    let out = debug(
        &session,
        Some(&pids[2]),
        "break work\ncontinue\nprint generation\ninferior 2\ncontinue\nprint generation\nreverse-continue\n\
         inferior 3\ncontinue\nprint generation\nreverse-continue\n",
    );
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stderr().is_empty(), "{out:?}");
    let text = out.stdout();
    assert!(text.contains("$1 = 3\n"), "{text}");
    assert!(
        text.contains(&format!("[Switching to inferior 2 [process {}] ", pids[1])),
        "{text}"
    );
    assert!(
        text.contains("in __GI___wait4 (pid="),
        "the parent waits for it: {text}"
    );
    assert!(
        text.contains("Breakpoint 1, work (generation=generation@entry=2)"),
        "{text}"
    );
    assert!(text.contains("$2 = 2\n"), "{text}");
    assert!(
        text.contains(&format!("[Switching to inferior 3 [process {}] ", pids[2])),
        "{text}"
    );
    assert!(text.contains("arch_fork ("), "the grandchild from its fork: {text}");
    assert!(text.contains("$3 = 3\n"), "{text}");
    assert_eq!(text.matches("No more reverse-execution history.").count(), 2, "{text}");

    let out = debug(&session, Some("2"), "info inferiors\n");
    let line = assert_one_error_line(&out);
    assert!(line.contains("no process 2 in this recording"), "{line}");
}
