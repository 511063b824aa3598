//! Reporting watchpoint stops the way gdb does.

use recorder::timeline::WatchKind;
use recorder::RemoteAddr;

use super::Repl;

impl Repl {
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
        println!("\n{} {number}: {expr}\n", watch_title(kind));
        let show = |bytes: &[u8]| self.format_watched(&ty, watched.addr.0, bytes);
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

    /// Bytes of a watched location, printed by its type where that is a
    /// plain number, else in hex.
    fn format_watched(&self, ty: &str, addr: u64, bytes: &[u8]) -> String {
        let mut buf = [0u8; 8];
        let n = bytes.len().min(8);
        buf[..n].copy_from_slice(&bytes[..n]);
        let raw = u64::from_le_bytes(buf);
        let unsigned = ty.contains("unsigned") || ty == "bool" || ty.starts_with('u');
        let bits = n * 8;
        let integer = ["int", "long", "short", "char", "size_t", "bool"]
            .iter()
            .any(|t| ty.contains(t))
            || ty.starts_with('i')
            || ty.starts_with('u');
        if !integer || ty.contains('*') || bits == 0 {
            let _ = addr;
            return format!("{raw:#x}");
        }
        if unsigned {
            return raw.to_string();
        }
        let shift = 64 - bits as u32;
        (((raw << shift) as i64) >> shift).to_string()
    }
}

pub(super) fn watch_title(kind: WatchKind) -> &'static str {
    match kind {
        WatchKind::Write => "Hardware watchpoint",
        WatchKind::Read => "Hardware read watchpoint",
        WatchKind::Access => "Hardware access (read/write) watchpoint",
    }
}
