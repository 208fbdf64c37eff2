//! Rounding of SPEC §4: rates to 3 decimals, changes to 2, averages to 1,
//! half away from zero, applied once to the exact value.
//!
//! Ratios of integers are rounded with integer arithmetic, so a value that
//! lies exactly on a half (e.g. 1 ÷ 8 = 0.125 at 2 decimals) is never pushed
//! the wrong way by binary floating point.

/// Decimals of a rate.
pub const RATE_DECIMALS: u32 = 3;
/// Decimals of a change.
pub const CHANGE_DECIMALS: u32 = 2;
/// Decimals of an average of seconds.
pub const AVERAGE_DECIMALS: u32 = 1;

/// Whether numbers are rounded (the API's behaviour) or printed exactly (`--exact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// Round per SPEC §4.
    #[default]
    Api,
    /// Keep the exact value.
    Exact,
}

impl Rounding {
    /// `numerator ÷ denominator` rounded to `decimals`; `None` when the
    /// denominator is 0.
    pub fn ratio(self, numerator: i128, denominator: i128, decimals: u32) -> Option<f64> {
        if denominator == 0 {
            return None;
        }
        Some(match self {
            Rounding::Exact => numerator as f64 / denominator as f64,
            Rounding::Api => round_ratio(numerator, denominator, decimals),
        })
    }

    /// The change of SPEC §4 between two counts or totals,
    /// `(value − previous) ÷ previous` rounded as a change; `None` when
    /// `previous` is 0.
    pub fn change(self, value: i128, previous: i128) -> Option<f64> {
        self.ratio(value - previous, previous, CHANGE_DECIMALS)
    }

    /// The change of SPEC §4 between two means `sum ÷ count` (`current` and
    /// `previous`, each `(sum, count)`), computed on the exact fractions:
    /// `(s1/c1 − s0/c0) ÷ (s0/c0) = (s1·c0 − s0·c1) ÷ (s0·c1)`; `None` when
    /// either mean is undefined (a count of 0) or the previous mean is 0.
    /// Where these products overflow 128 bits, the change is the quotient of
    /// the two means in floating point.
    pub fn mean_change(self, current: (i128, i128), previous: (i128, i128)) -> Option<f64> {
        let ((_, c1), (s0, c0)) = (current, previous);
        if c1 == 0 || c0 == 0 {
            return None;
        }
        let exact = cross_difference(current, previous).zip(s0.checked_mul(c1));
        match exact {
            Some((numerator, denominator)) => self.ratio(numerator, denominator, CHANGE_DECIMALS),
            None => {
                let (m1, m0) = (quotient(current), quotient(previous));
                (m0 != 0.0).then(|| self.round_f64((m1 - m0) / m0, CHANGE_DECIMALS))
            }
        }
    }

    /// The difference of two rates `x1/n1 − x0/n0` (each `(x, n)`), a change
    /// in percentage points as a fraction (0.05 is 5 points), rounded as a
    /// rate on the exact value `(x1·n0 − x0·n1) ÷ (n1·n0)`; `None` when
    /// either rate is undefined (`n` is 0). Where these products overflow
    /// 128 bits, the difference of the two rates in floating point.
    pub fn rate_difference(self, current: (i128, i128), previous: (i128, i128)) -> Option<f64> {
        let ((_, n1), (_, n0)) = (current, previous);
        if n1 == 0 || n0 == 0 {
            return None;
        }
        let exact = cross_difference(current, previous).zip(n1.checked_mul(n0));
        match exact {
            Some((numerator, denominator)) => self.ratio(numerator, denominator, RATE_DECIMALS),
            None => Some(self.round_f64(quotient(current) - quotient(previous), RATE_DECIMALS)),
        }
    }

    /// `value` rounded to `decimals`, half away from zero (for a value that is
    /// not a ratio of integers).
    pub fn round_f64(self, value: f64, decimals: u32) -> f64 {
        match self {
            Rounding::Exact => value,
            Rounding::Api => {
                let scale = 10f64.powi(decimals as i32);
                (value * scale).round() / scale
            }
        }
    }
}

/// `a·d − c·b` for the fractions `a/b` (`current`) and `c/d` (`previous`):
/// the numerator of their difference over `b·d`; `None` on overflow.
fn cross_difference((a, b): (i128, i128), (c, d): (i128, i128)) -> Option<i128> {
    a.checked_mul(d)?.checked_sub(c.checked_mul(b)?)
}

/// `sum ÷ count` in floating point.
fn quotient((sum, count): (i128, i128)) -> f64 {
    sum as f64 / count as f64
}

/// Rounds `numerator ÷ denominator` to `decimals`, half away from zero, exactly.
///
/// Where the scaled numerator would overflow 128 bits, the whole part is
/// kept exact and only the fraction is rounded in floating point (at such
/// magnitudes the decimals are below the precision of an `f64` anyway).
fn round_ratio(numerator: i128, denominator: i128, decimals: u32) -> f64 {
    let negative = (numerator < 0) != (denominator < 0) && numerator != 0;
    let (numerator, denominator) = (numerator.unsigned_abs(), denominator.unsigned_abs());
    let scale = 10u128.pow(decimals);
    let scaled = numerator
        .checked_mul(2 * scale)
        .and_then(|twice| twice.checked_add(denominator))
        .zip(denominator.checked_mul(2))
        .map(|(top, bottom)| top / bottom);
    let magnitude = match scaled {
        Some(scaled) => scaled as f64 / scale as f64,
        None => {
            let (whole, rest) = (numerator / denominator, numerator % denominator);
            let fraction = rest as f64 / denominator as f64;
            whole as f64 + (fraction * scale as f64).round() / scale as f64
        }
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_away_from_zero() {
        assert_eq!(Rounding::Api.ratio(1, 8, 2), Some(0.13));
        assert_eq!(Rounding::Api.ratio(-1, 8, 2), Some(-0.13));
        assert_eq!(Rounding::Api.ratio(1, 3, 3), Some(0.333));
        assert_eq!(Rounding::Api.ratio(2, 3, 3), Some(0.667));
        assert_eq!(Rounding::Api.ratio(1, 2000, 3), Some(0.001));
        assert_eq!(Rounding::Api.ratio(5, 0, 3), None);
        assert_eq!(Rounding::Api.ratio(0, -4, 2), Some(0.0));
        assert_eq!(Rounding::Exact.ratio(1, 8, 2), Some(0.125));
    }

    #[test]
    fn changes_of_counts_means_and_rates() {
        assert_eq!(Rounding::Api.change(9, 8), Some(0.13));
        assert_eq!(Rounding::Api.change(3, 0), None);
        // 10/4 against 6/3: (2.5 − 2) ÷ 2 = 0.25.
        assert_eq!(Rounding::Api.mean_change((10, 4), (6, 3)), Some(0.25));
        assert_eq!(Rounding::Api.mean_change((10, 4), (0, 3)), None);
        assert_eq!(Rounding::Api.mean_change((10, 0), (6, 3)), None);
        // 1/8 − 0/5 = 0.125 points → 0.125; 1/3 − 1/2 = −0.1666… → −0.167.
        assert_eq!(Rounding::Api.rate_difference((1, 8), (0, 5)), Some(0.125));
        assert_eq!(Rounding::Api.rate_difference((1, 3), (1, 2)), Some(-0.167));
        assert_eq!(Rounding::Api.rate_difference((1, 3), (1, 0)), None);
        assert_eq!(
            Rounding::Exact.rate_difference((1, 3), (1, 2)),
            Some(-1.0 / 6.0)
        );
    }

    #[test]
    fn ratios_of_huge_integers_do_not_overflow() {
        let huge = i128::MAX / 3;
        assert_eq!(Rounding::Api.ratio(huge, huge, 2), Some(1.0));
        assert_eq!(
            Rounding::Api.ratio(i128::MAX, 2, 1),
            Some(i128::MAX as f64 / 2.0)
        );
        assert_eq!(Rounding::Api.ratio(-huge, 8 * (huge / 8), 2), Some(-1.0));
    }
}
