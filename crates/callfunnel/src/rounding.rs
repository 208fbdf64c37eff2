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
}

/// Rounds `numerator ÷ denominator` to `decimals`, half away from zero, exactly.
fn round_ratio(numerator: i128, denominator: i128, decimals: u32) -> f64 {
    let negative = (numerator < 0) != (denominator < 0) && numerator != 0;
    let (numerator, denominator) = (numerator.unsigned_abs(), denominator.unsigned_abs());
    let scale = 10u128.pow(decimals);
    let scaled = (2 * numerator * scale + denominator) / (2 * denominator);
    let magnitude = scaled as f64 / scale as f64;
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
}
