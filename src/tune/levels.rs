//! The concurrency levels a sweep tries, as a user writes them: `1,2,4,8`, `1..16:2`
//! (a step) or `1..64:x2` (doubling).

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

/// Most levels one sweep may try: each is a full run of the scenario.
pub const MAX_LEVELS: usize = 256;

/// Why a levels string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LevelsError {
    /// Nothing was given.
    #[error("no levels given (expected a list like 1,2,4,8, a range like 1..16:2, or doubling like 1..64:x2)")]
    Empty,
    /// A level is not a positive integer.
    #[error("`{0}` is not a positive integer (expected levels of at least 1, like 1,2,4,8)")]
    NotALevel(String),
    /// A range's end is below its start.
    #[error("the range {start}..{end} ends below its start (expected START..END with START <= END)")]
    Backwards {
        /// The first level.
        start: usize,
        /// The last level asked for.
        end: usize,
    },
    /// A step is not a positive integer, or a factor not at least 2.
    #[error("`{0}` is not a valid step (expected :N with N >= 1 to add N, or :xF with F >= 2 to multiply by F)")]
    Step(String),
    /// Too many levels.
    #[error("{0} levels is more than a sweep may try (expected at most {MAX_LEVELS})")]
    TooMany(usize),
}

/// Concurrency levels in increasing order, without duplicates.
///
/// # Examples
///
/// ```
/// use parabench::tune::Levels;
///
/// let levels: Levels = "1..64:x2".parse().unwrap();
/// assert_eq!(levels.to_vec(), [1, 2, 4, 8, 16, 32, 64]);
/// let levels: Levels = "1..8:3".parse().unwrap();
/// assert_eq!(levels.to_vec(), [1, 4, 7]);
/// let levels: Levels = "8, 2,4,2".parse().unwrap();
/// assert_eq!(levels.to_vec(), [2, 4, 8]);
/// assert!("0..4".parse::<Levels>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Levels(Vec<NonZeroUsize>);

impl Levels {
    /// The levels, sorted and deduplicated.
    ///
    /// # Errors
    ///
    /// [`LevelsError::Empty`] for no levels, [`LevelsError::TooMany`] above [`MAX_LEVELS`].
    pub fn new(mut levels: Vec<NonZeroUsize>) -> Result<Self, LevelsError> {
        levels.sort_unstable();
        levels.dedup();
        match levels.len() {
            0 => Err(LevelsError::Empty),
            n if n > MAX_LEVELS => Err(LevelsError::TooMany(n)),
            _ => Ok(Self(levels)),
        }
    }

    /// The levels with 1 added if missing: the sequential baseline every speedup and
    /// bound is measured against.
    pub fn with_baseline(&self) -> Self {
        let mut levels = self.0.clone();
        // The baseline may take a full list one past MAX_LEVELS: it is not the user's.
        if levels[0] != NonZeroUsize::MIN {
            levels.insert(0, NonZeroUsize::MIN);
        }
        Self(levels)
    }

    /// The levels in increasing order.
    pub fn get(&self) -> &[NonZeroUsize] {
        &self.0
    }

    /// The levels as plain numbers.
    pub fn to_vec(&self) -> Vec<usize> {
        self.0.iter().map(|n| n.get()).collect()
    }
}

impl fmt::Display for Levels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&text.join(","))
    }
}

impl FromStr for Levels {
    type Err = LevelsError;

    fn from_str(s: &str) -> Result<Self, LevelsError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(LevelsError::Empty);
        }
        let Some((start, rest)) = s.split_once("..") else {
            return Self::new(s.split(',').map(level).collect::<Result<_, _>>()?);
        };
        let (end, step) = rest.split_once(':').unwrap_or((rest, "1"));
        let (start, end) = (level(start)?.get(), level(end)?.get());
        if end < start {
            return Err(LevelsError::Backwards { start, end });
        }
        let bad_step = || LevelsError::Step(format!(":{step}"));
        let next: Box<dyn Fn(usize) -> Option<usize>> = match step.trim().strip_prefix('x') {
            Some(factor) => match factor.trim().parse::<usize>() {
                Ok(f) if f >= 2 => Box::new(move |n: usize| n.checked_mul(f)),
                _ => return Err(bad_step()),
            },
            None => match step.trim().parse::<usize>() {
                Ok(d) if d >= 1 => Box::new(move |n: usize| n.checked_add(d)),
                _ => return Err(bad_step()),
            },
        };
        let mut levels = Vec::new();
        let mut n = Some(start);
        while let Some(at) = n.filter(|&at| at <= end) {
            if levels.len() == MAX_LEVELS {
                return Err(LevelsError::TooMany(levels.len() + 1));
            }
            levels.push(NonZeroUsize::new(at).expect("at least start >= 1"));
            n = next(at);
        }
        Self::new(levels)
    }
}

fn level(text: &str) -> Result<NonZeroUsize, LevelsError> {
    text.trim()
        .parse::<NonZeroUsize>()
        .map_err(|_| LevelsError::NotALevel(text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<usize>, LevelsError> {
        s.parse::<Levels>().map(|l| l.to_vec())
    }

    #[test]
    fn lists_ranges_and_doubling_expand_in_order() {
        assert_eq!(parse("1,2,4,8"), Ok(vec![1, 2, 4, 8]));
        assert_eq!(parse("1..16:2"), Ok(vec![1, 3, 5, 7, 9, 11, 13, 15]));
        assert_eq!(parse("2..10"), Ok(vec![2, 3, 4, 5, 6, 7, 8, 9, 10]));
        assert_eq!(parse("1..64:x2"), Ok(vec![1, 2, 4, 8, 16, 32, 64]));
        assert_eq!(parse("1..100:x3"), Ok(vec![1, 3, 9, 27, 81]));
        assert_eq!(parse(" 5 "), Ok(vec![5]));
    }

    #[test]
    fn bad_levels_say_what_was_expected() {
        let cases = [
            ("", LevelsError::Empty),
            ("1,,2", LevelsError::NotALevel(String::new())),
            ("0,2", LevelsError::NotALevel("0".into())),
            ("1,two", LevelsError::NotALevel("two".into())),
            ("8..2", LevelsError::Backwards { start: 8, end: 2 }),
            ("1..8:0", LevelsError::Step(":0".into())),
            ("1..8:x1", LevelsError::Step(":x1".into())),
            ("1..8:y", LevelsError::Step(":y".into())),
            ("1..1000", LevelsError::TooMany(MAX_LEVELS + 1)),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Err(want), "{text:?}");
        }
        assert!(
            parse("1..x").unwrap_err().to_string().contains("positive integer"),
            "the message says what a level is"
        );
    }

    #[test]
    fn the_baseline_is_added_once() {
        let l: Levels = "4,2".parse().unwrap();
        assert_eq!(l.with_baseline().to_vec(), [1, 2, 4]);
        assert_eq!(l.with_baseline().with_baseline().to_vec(), [1, 2, 4]);
        assert_eq!(l.to_string(), "2,4");
        let full: Levels = format!("2..{}", MAX_LEVELS + 1).parse().unwrap();
        assert_eq!(full.with_baseline().get().len(), MAX_LEVELS + 1);
    }

    #[test]
    fn doubling_stops_before_overflow() {
        let top = usize::MAX / 2 + 1;
        assert_eq!(parse(&format!("{top}..{}:x2", usize::MAX)), Ok(vec![top]));
    }
}
