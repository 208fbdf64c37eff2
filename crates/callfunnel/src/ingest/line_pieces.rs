//! A text's whole lines, looked at on every core, in pieces.

use std::ops::Range;

/// `look` applied to about one piece of `text` a core (each made of whole
/// lines, together covering `text`), each on a thread of its own, with the
/// piece's offset in `text`; the results in order, `None` if a thread
/// panicked.
pub(super) fn on_every_core<'a, T: Send>(
    text: &'a [u8],
    look: impl Fn(&'a [u8], usize) -> T + Sync,
) -> Option<Vec<T>> {
    in_pieces_on_every_core(text, 1, look)
}

/// Like [`on_every_core`], with `text` cut into about `pieces_per_core`
/// pieces a core: a thread that is done with its piece takes the next, so
/// that no core waits long on a slower piece (where the work per line
/// varies).
pub(super) fn in_pieces_on_every_core<'a, T: Send>(
    text: &'a [u8],
    pieces_per_core: usize,
    look: impl Fn(&'a [u8], usize) -> T + Sync,
) -> Option<Vec<T>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let pieces = line_pieces(text, cores * pieces_per_core);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take_pieces = || {
        let mut looked = Vec::new();
        loop {
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(piece) = pieces.get(index) else {
                return looked;
            };
            looked.push((index, look(&text[piece.clone()], piece.start)));
        }
    };
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..cores.min(pieces.len()))
            .map(|_| scope.spawn(take_pieces))
            .collect();
        let mut looked = Vec::with_capacity(pieces.len());
        for thread in threads {
            looked.extend(thread.join().ok()?);
        }
        looked.sort_by_key(|(index, _)| *index);
        Some(looked.into_iter().map(|(_, result)| result).collect())
    })
}

/// About `count` ranges of `text`, each made of whole lines, in order,
/// together covering `text` (one empty range for an empty text).
fn line_pieces(text: &[u8], count: usize) -> Vec<Range<usize>> {
    let mut pieces = Vec::with_capacity(count);
    let mut start = 0;
    for index in 1..count {
        let target = (text.len() * index / count).max(start);
        let Some(at) = memchr::memchr(b'\n', &text[target..]) else {
            break;
        };
        pieces.push(start..target + at + 1);
        start = target + at + 1;
    }
    if start < text.len() || pieces.is_empty() {
        pieces.push(start..text.len());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_whole_lines_covering_the_text() {
        let text = b"aaaa\nbb\ncccccc\nd\neeeeeeeeee\nff";
        for count in 1..8 {
            let pieces = line_pieces(text, count);
            assert!(pieces.len() <= count);
            assert_eq!(pieces.first().unwrap().start, 0);
            assert_eq!(pieces.last().unwrap().end, text.len());
            for pair in pieces.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                assert_eq!(text[pair[0].end - 1], b'\n');
            }
        }
        assert_eq!(line_pieces(b"", 2), vec![0..0]);
    }

    #[test]
    fn every_piece_is_looked_at_in_order() {
        let text = b"one\ntwo\nthree\nfour\n";
        let lengths = on_every_core(text, |piece, offset| (offset, piece.len())).unwrap();
        let mut next = 0;
        for (offset, length) in lengths {
            assert_eq!(offset, next);
            next += length;
        }
        assert_eq!(next, text.len());
    }
}
