//! Likely tag typos (SPEC §8.6): a tag seen at most twice that is within two
//! edits of a tag seen at least ten times more often. An edit is an
//! insertion, a deletion, a substitution or a swap of two adjacent
//! characters (Damerau-Levenshtein distance, optimal string alignment).

use std::collections::HashMap;

/// Calls a tag is seen on, at most, to be a likely typo.
pub const RARE_TAG_CALLS: u64 = 2;
/// Edits, at most, between a likely typo and the tag it was meant to be.
pub const TYPO_EDITS: usize = 2;
/// How many times more often the meant tag is seen than the typo, at least.
pub const COMMON_TAG_FACTOR: u64 = 10;

/// A rare tag likely meant as a common one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikelyTypo {
    /// The rare tag.
    pub tag: String,
    /// Calls it is seen on.
    pub calls: u64,
    /// The common tag it is closest to.
    pub meant: String,
    /// Calls the common tag is seen on.
    pub meant_calls: u64,
    /// Edits between them.
    pub edits: usize,
}

/// The likely typos among `tags` (calls by tag), sorted by tag. Each rare
/// tag is given the closest common tag (ties: the more frequent, then the
/// first by name).
pub fn likely_typos(tags: &HashMap<String, u64>) -> Vec<LikelyTypo> {
    let mut typos: Vec<LikelyTypo> = tags
        .iter()
        .filter(|(_, calls)| **calls <= RARE_TAG_CALLS)
        .filter_map(|(tag, calls)| closest_common(tag, *calls, tags))
        .collect();
    typos.sort_by(|a, b| a.tag.cmp(&b.tag));
    typos
}

/// The common tag closest to `tag`, if one is within [`TYPO_EDITS`].
fn closest_common(tag: &str, calls: u64, tags: &HashMap<String, u64>) -> Option<LikelyTypo> {
    let length = tag.chars().count();
    tags.iter()
        .filter(|(_, common)| **common >= calls * COMMON_TAG_FACTOR)
        .filter(|(other, _)| other.chars().count().abs_diff(length) <= TYPO_EDITS)
        .map(|(other, common)| (edit_distance(tag, other), other, *common))
        .filter(|(edits, _, _)| *edits <= TYPO_EDITS)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(b.1)))
        .map(|(edits, meant, meant_calls)| LikelyTypo {
            tag: tag.to_string(),
            calls,
            meant: meant.clone(),
            meant_calls,
            edits,
        })
}

/// The Damerau-Levenshtein distance between `a` and `b` in its optimal
/// string alignment form (no substring edited twice), by characters.
///
/// ```
/// use callfunnel::check::edit_distance;
///
/// assert_eq!(edit_distance("meeting_booked", "meeting_booked"), 0);
/// assert_eq!(edit_distance("meetign_booked", "meeting_booked"), 1);
/// assert_eq!(edit_distance("meetng_boked", "meeting_booked"), 2);
/// ```
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut cost = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        cost[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        cost[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (cost[at(i - 1, j)] + 1)
                .min(cost[at(i, j - 1)] + 1)
                .min(cost[at(i - 1, j - 1)] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(cost[at(i - 2, j - 2)] + 1);
            }
            cost[at(i, j)] = best;
        }
    }
    cost[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_is_one_edit_and_a_far_word_is_none() {
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("café", "cafe"), 1);
    }

    #[test]
    fn a_rare_tag_near_a_tag_ten_times_more_common_is_a_typo() {
        let tags = HashMap::from([
            ("meeting_booked".to_string(), 20),
            ("meetign_booked".to_string(), 2),
            ("meetng_boked".to_string(), 1),
            ("demo".to_string(), 19),
            ("dem".to_string(), 2),
            ("follow_up".to_string(), 2),
        ]);
        let typo = |tag: &str, calls, meant: &str, meant_calls, edits| LikelyTypo {
            tag: tag.into(),
            calls,
            meant: meant.into(),
            meant_calls,
            edits,
        };
        assert_eq!(
            likely_typos(&tags),
            vec![
                typo("meetign_booked", 2, "meeting_booked", 20, 1),
                typo("meetng_boked", 1, "meeting_booked", 20, 2),
            ]
        );
    }
}
