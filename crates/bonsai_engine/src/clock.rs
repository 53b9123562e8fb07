//! Timers and the clock. In virtual mode time only moves when the host calls
//! `advance`, so runs are deterministic; in real mode it follows the wall clock.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// Time moves only through `AppInstance::advance` (tests, `bonsai run`).
    #[default]
    Virtual,
    /// Time is the wall clock (the dev server).
    Real,
}

/// Pending JS timers ordered by due time, then by creation order.
#[derive(Debug)]
pub(crate) struct TimerQueue {
    mode: ClockMode,
    started: Instant,
    virtual_now: u64,
    seq: u64,
    due: BTreeMap<(u64, u64), u32>,
    by_id: HashMap<u32, (u64, u64)>,
}

impl TimerQueue {
    pub(crate) fn new(mode: ClockMode) -> Self {
        TimerQueue {
            mode,
            started: Instant::now(),
            virtual_now: 0,
            seq: 0,
            due: BTreeMap::new(),
            by_id: HashMap::new(),
        }
    }

    /// Milliseconds since the instance started.
    pub(crate) fn now(&self) -> u64 {
        match self.mode {
            ClockMode::Virtual => self.virtual_now,
            ClockMode::Real => {
                u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
            }
        }
    }

    pub(crate) fn schedule(&mut self, id: u32, delay_ms: u64) {
        self.cancel(id);
        self.seq += 1;
        let key = (self.now().saturating_add(delay_ms), self.seq);
        self.due.insert(key, id);
        self.by_id.insert(id, key);
    }

    pub(crate) fn cancel(&mut self, id: u32) {
        if let Some(key) = self.by_id.remove(&id) {
            self.due.remove(&key);
        }
    }

    /// The earliest timer due at or before `limit`, removed from the queue;
    /// in virtual mode the clock jumps to its due time.
    pub(crate) fn pop_due(&mut self, limit: u64) -> Option<u32> {
        let (&(at, seq), &id) = self.due.iter().next()?;
        if at > limit {
            return None;
        }
        self.due.remove(&(at, seq));
        self.by_id.remove(&id);
        if self.mode == ClockMode::Virtual {
            self.virtual_now = self.virtual_now.max(at);
        }
        Some(id)
    }

    /// Moves the virtual clock forward (no effect in real mode).
    pub(crate) fn set_virtual_now(&mut self, now: u64) {
        if self.mode == ClockMode::Virtual {
            self.virtual_now = self.virtual_now.max(now);
        }
    }

    pub(crate) fn next_due(&self) -> Option<u64> {
        self.due.keys().next().map(|&(at, _)| at)
    }

    pub(crate) fn mode(&self) -> ClockMode {
        self.mode
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_due_then_creation_order() {
        let mut q = TimerQueue::new(ClockMode::Virtual);
        q.schedule(1, 10);
        q.schedule(2, 5);
        q.schedule(3, 5);
        q.schedule(4, 20);
        q.cancel(4);
        assert_eq!(q.pop_due(4), None);
        assert_eq!(q.pop_due(100), Some(2));
        assert_eq!(q.now(), 5);
        assert_eq!(q.pop_due(100), Some(3));
        assert_eq!(q.pop_due(100), Some(1));
        assert_eq!(q.now(), 10);
        assert_eq!(q.pop_due(100), None);
    }
}
