//! Until the shared `Session` lands: a timeline and the debug information of
//! the replayed program, with the few calls playback needs.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use recorder::timeline::{Timeline, DEFAULT_CHECKPOINT_INTERVAL};
use recorder::RemoteAddr;

use crate::debuginfo::{modules_from_mappings, parse_proc_maps, DebugInfo};

pub struct Session {
    pub timeline: Timeline,
    pub debug: DebugInfo,
}

impl Session {
    pub fn open(trace_dir: &Path) -> Result<Session> {
        let timeline = Timeline::open(trace_dir, DEFAULT_CHECKPOINT_INTERVAL)
            .with_context(|| format!("cannot open the trace {}", trace_dir.display()))?;
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", timeline.pid()))
            .context("cannot read the tracee's mappings")?;
        let debug = DebugInfo::new(modules_from_mappings(&parse_proc_maps(&maps)));
        Ok(Session { timeline, debug })
    }

    pub fn refresh(&mut self) -> Result<()> {
        Ok(())
    }

    pub fn resolve_location(&self, spec: &str) -> Result<Vec<RemoteAddr>> {
        if let Some(addr) = spec.strip_prefix('*') {
            let a =
                u64::from_str_radix(addr.trim_start_matches("0x"), 16).map_err(|_| anyhow!("bad address {addr}"))?;
            return Ok(vec![RemoteAddr(a)]);
        }
        let addrs = match spec.rsplit_once(':') {
            Some((file, line)) => self
                .debug
                .line_addresses(file, line.parse().map_err(|_| anyhow!("bad line {line}"))?),
            None => self.debug.function_address(spec),
        };
        if addrs.is_empty() {
            bail!("Function \"{spec}\" not defined.");
        }
        Ok(addrs.into_iter().map(RemoteAddr).collect())
    }
}
