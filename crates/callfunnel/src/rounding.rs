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
