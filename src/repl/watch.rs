//! Reporting watchpoint stops the way gdb does.

use recorder::timeline::WatchKind;
use recorder::RemoteAddr;

use super::Repl;

impl Repl {
    /// A frame as a watchpoint's scope knows it: its CFA and its function's
    /// entry (two calls from the same caller share a CFA).
    pub(super) fn frame_identity(&self, frame: &debuginfo::Frame) -> (u64, Option<u64>) {
        let entry = self.session.debug.function_range(frame.lookup_pc).map(|r| r.start);
        (frame.cfa, entry)
    }

    /// Deletes the watchpoints on locals whose frame is gone (returned, or
    /// not yet called, going back), as gdb does. Returns whether any went.
    pub(super) fn retire_out_of_scope_watches(&mut self) -> bool {
        if self.watch_scopes.is_empty() {
            return false;
        }
        let live: Vec<(u64, Option<u64>)> = self
            .session
            .backtrace(256)
            .map(|frames| frames.iter().map(|f| self.frame_identity(f)).collect())
            .unwrap_or_default();
        let gone: Vec<usize> = self
            .watch_scopes
            .iter()
            .filter(|(_, frame)| !live.contains(frame))
            .map(|(n, _)| *n)
            .collect();
        for n in &gone {
            self.watch_scopes.remove(n);
            if self.session.delete_breakpoint(*n).is_ok() {
                println!(
                    "\nWatchpoint {n} deleted because the program has left the block in\n\
                     which its expression is valid."
                );
            }
        }
        !gone.is_empty()
    }

    /// gdb's report of a watchpoint stop: the expression, then the old and
    /// new values (or the value read).
    pub(super) fn report_watch(&mut self, addr: RemoteAddr, kind: WatchKind) {
        let Some(w) = self.session.watchpoint_at(addr, kind) else {
            return;
        };
        let (number, expr) = (w.number, w.spec.clone());
        let watched = w.watch.clone().expect("a watchpoint");
        let now = self
            .session
            .timeline
            .read_memory(watched.addr, watched.len)
            .unwrap_or_default();
        let ty = self.watch_types.get(&number).cloned().unwrap_or_default();
        println!("\n{}{} {number}: {expr}\n", self.thread_hit_prefix(), watch_title(kind));
        let show = |bytes: &[u8]| format_watched(&ty, bytes);
        if watched.last != now {
            println!("Old value = {}", show(&watched.last));
            println!("New value = {}", show(&now));
        } else {
            println!("Value = {}", show(&now));
        }
        if let Some(b) = self.session.breakpoints.iter_mut().find(|b| b.number == number) {
            b.hits += 1;
        }
    }
}

pub(super) fn watch_title(kind: WatchKind) -> &'static str {
    match kind {
        WatchKind::Write => "Hardware watchpoint",
        WatchKind::Read => "Hardware read watchpoint",
        WatchKind::Access => "Hardware access (read/write) watchpoint",
    }
}

/// Bytes of a watched location, printed as a number of its type where that
/// is an integer (the common case: counters, flags, elements), else in hex.
fn format_watched(ty: &str, bytes: &[u8]) -> String {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    let raw = u64::from_le_bytes(buf);
    let integer = ["int", "long", "short", "char", "size_t", "bool"]
        .iter()
        .any(|t| ty.contains(t))
        || ((ty.starts_with('i') || ty.starts_with('u')) && ty[1..].bytes().all(|b| b.is_ascii_digit()));
    if !integer || ty.contains('*') || ty.contains('[') || n == 0 {
        return format!("{raw:#x}");
    }
    if ty.contains("unsigned") || ty == "bool" || ty.starts_with('u') {
        return raw.to_string();
    }
    let shift = 64 - 8 * n as u32;
    (((raw << shift) as i64) >> shift).to_string()
}

#[cfg(test)]
mod tests {
    use super::format_watched;

    #[test]
    fn watched_bytes_print_by_type() {
        assert_eq!(format_watched("int", &[0xfe, 0xff, 0xff, 0xff]), "-2");
        assert_eq!(format_watched("unsigned int", &[0xfe, 0xff, 0xff, 0xff]), "4294967294");
        assert_eq!(format_watched("i64", &5i64.to_le_bytes()), "5");
        assert_eq!(format_watched("u8", &[200]), "200");
        assert_eq!(format_watched("int *", &0x1000u64.to_le_bytes()), "0x1000");
        assert_eq!(format_watched("double", &[0; 8]), "0x0");
    }
}
