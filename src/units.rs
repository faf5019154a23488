//! Durations and counts as people read them, for every renderer and every message: the
//! figures stay `Duration`s, seconds and numbers everywhere else, and only their text is
//! decided here.

use std::time::Duration;

/// Four significant figures at most, in the unit that keeps the number short.
pub fn fmt_secs(secs: f64) -> String {
    fmt_duration(Duration::try_from_secs_f64(secs).unwrap_or_default())
}

/// A duration in µs, ms, s or minutes, short enough for a table cell.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s == 0.0 {
        "0".to_string()
    } else if s < 1e-3 {
        format!("{:.0}µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1}ms", s * 1e3)
    } else if s < 60.0 {
        format!("{s:.3}s")
    } else {
        format!("{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    }
}

/// A count and its noun, singular for one: `count(1, "call")` is "1 call", `count(3,
/// "call")` "3 calls". Nouns whose plural is not `+s` are not counted with it.
///
/// ```
/// assert_eq!(parabench::units::count(1, "session"), "1 session");
/// assert_eq!(parabench::units::count(0, "step"), "0 steps");
/// ```
pub fn count(n: u64, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_duration_takes_the_unit_that_keeps_it_short() {
        let cases = [
            (0.0, "0"),
            (0.000_25, "250µs"),
            (0.0125, "12.5ms"),
            (2.5, "2.500s"),
            (150.0, "2m30s"),
        ];
        for (secs, text) in cases {
            assert_eq!(fmt_secs(secs), text);
        }
        assert_eq!(fmt_secs(f64::NAN), "0", "what is not a duration prints as none");
    }
}
