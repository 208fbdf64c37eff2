//! What the CSV picker ([`super::csv::window_lines`]) and the NDJSON one
//! ([`super::window_records`]) share: which calls they may leave out before
//! parsing, the one line of those they still hand to the reader, and when
//! looking for them pays (they look at every line, and pay only when they
//! leave most lines out).

use std::sync::Arc;

use crate::duplicates::RepeatedIdHashes;
use crate::ingest::part::Window;

/// The calls a picker may leave out before parsing: those dated outside a
/// window whose id does not repeat (a call whose id may repeat may replace
/// another, or be replaced: it is kept).
#[derive(Debug, Clone)]
pub(super) struct OutsideWindow {
    /// The window's bounds in microseconds since the epoch (from inclusive,
    /// to exclusive), as [`crate::exprs::dated_within`] compares them.
    from: i64,
    to: i64,
    /// The hashes of the input's ids that repeat.
    repeated: Arc<RepeatedIdHashes>,
}

impl OutsideWindow {
    /// The calls outside `window` whose id's hash is not in `repeated`.
    pub fn new((from, to): Window, repeated: Arc<RepeatedIdHashes>) -> Self {
        OutsideWindow {
            from: from.timestamp_micros(),
            to: to.timestamp_micros(),
            repeated,
        }
    }

    /// Whether the call dated `date` (microseconds since the epoch) whose
    /// id is `id` may be left out.
    pub fn leaves_out(&self, date: i64, id: &[u8]) -> bool {
        (date < self.from || date >= self.to) && !self.repeated.may_repeat(id)
    }
}

/// The line a picker still hands to the reader among those it leaves out:
/// the first with the latest date, so that the latest call of all (and with
/// it `last_updated`) stays. `T` is the line, as the picker holds it.
#[derive(Debug, Clone)]
pub(super) struct LatestLeftOut<T>(Option<(i64, T)>);

impl<T> Default for LatestLeftOut<T> {
    fn default() -> Self {
        LatestLeftOut(None)
    }
}

impl<T> LatestLeftOut<T> {
    /// Takes `line`, left out, its call dated `date`: gives back the line
    /// that is not the latest any more (`line` itself when its call is not
    /// later than the latest's).
    pub fn offer(&mut self, date: i64, line: T) -> Option<T> {
        match &self.0 {
            Some((latest, _)) if *latest >= date => Some(line),
            _ => self.0.replace((date, line)).map(|(_, previous)| previous),
        }
    }

    /// The latest line left out, with its call's date.
    pub fn into_latest(self) -> Option<(i64, T)> {
        self.0
    }
}

/// Whether looking for lines to leave out pays, chunk by chunk: it costs
/// a look at every line, and pays only when it leaves most of them out.
/// A chunk where it kept more than half (of its bytes or lines) is followed by chunks
/// taken whole, two, then eight, then [`MOST_CHUNKS_TAKEN_WHOLE`] while it
/// keeps failing to pay; as soon as it pays, every chunk is looked
/// at again. Which lines are parsed changes, never which calls are kept.
#[derive(Debug, Default)]
pub(super) struct PickingPays {
    /// Chunks to take whole after the last chunk looked at.
    after_failure: u32,
    /// Chunks still to take whole before the next look.
    waiting: u32,
}

/// The most chunks taken whole between two looks (see [`PickingPays`]).
const MOST_CHUNKS_TAKEN_WHOLE: u32 = 16;

impl PickingPays {
    /// Whether to look at the lines of the next chunk.
    pub fn next_chunk(&mut self) -> bool {
        if self.waiting == 0 {
            return true;
        }
        self.waiting -= 1;
        false
    }

    /// What looking at a chunk of `size` kept: `kept` (both in bytes, or
    /// both in lines).
    pub fn record(&mut self, size: usize, kept: usize) {
        if kept * 2 > size {
            self.after_failure = (self.after_failure * 4).clamp(2, MOST_CHUNKS_TAKEN_WHOLE);
            self.waiting = self.after_failure;
        } else {
            self.after_failure = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picking_lines_stops_while_it_does_not_pay_and_starts_again() {
        let mut picking = PickingPays::default();
        let mut looked = Vec::new();
        // Kept bytes of each chunk looked at: 10 of 100 pays, 60 does not.
        let mut outcomes = [10, 60, 60, 60, 10, 10, 60, 60].into_iter();
        for _ in 0..32 {
            let look = picking.next_chunk();
            looked.push(look);
            if look {
                picking.record(100, outcomes.next().unwrap_or(60));
            }
        }
        let pattern: String = looked
            .iter()
            .map(|&look| if look { 'L' } else { '.' })
            .collect();
        // Fails: 2, 8, then 16 chunks taken whole; pays: looks at every chunk.
        assert_eq!(pattern, "LL..L........L................LL");
    }
}
