//! Seeded, paired random draws: each depends only on (seed, call id, attempt, stream).
//!
//! The sequential and the parallel run of a scenario must see the same latencies,
//! failures and backoffs, whatever order the calls happen to run in. Drawing from a
//! generator keyed by the call rather than from one shared stream guarantees that, and
//! so makes the speedup compare like with like. ChaCha is used because its output is
//! specified, so a seed replays identically across platforms and releases.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a draw is for; each purpose has its own stream, so changing a failure rate does
/// not change the latencies that were drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Stream {
    /// The simulated latency of an attempt.
    Latency = 1,
    /// Whether an attempt fails or hangs.
    Failure = 2,
    /// The jitter of a retry's backoff.
    Jitter = 3,
}

/// A stable 64-bit key for a call id (FNV-1a), independent of the Rust release.
pub fn call_key(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The generator for one draw of one attempt of one call.
pub fn rng(seed: u64, call_key: u64, attempt: u32, stream: Stream) -> ChaCha8Rng {
    let tag = (u64::from(attempt) << 8) | stream as u64;
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix(call_key ^ mix(tag))))
}

/// The seed of repetition `index` (0 for the first) of `run --repeat --vary-seed`: the
/// first repetition keeps `base`, so it replays a plain run, and the others follow from
/// `base` alone, so the whole series replays too.
pub fn repetition_seed(base: u64, index: usize) -> u64 {
    if index == 0 {
        base
    } else {
        mix(base ^ mix(index as u64))
    }
}

/// SplitMix64's finaliser: spreads nearby inputs over the whole range.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn draws_depend_only_on_their_key() {
        let a: u64 = rng(42, call_key("s1"), 1, Stream::Latency).next_u64();
        let b: u64 = rng(42, call_key("s1"), 1, Stream::Latency).next_u64();
        assert_eq!(a, b);
        for other in [
            rng(43, call_key("s1"), 1, Stream::Latency).next_u64(),
            rng(42, call_key("s2"), 1, Stream::Latency).next_u64(),
            rng(42, call_key("s1"), 2, Stream::Latency).next_u64(),
            rng(42, call_key("s1"), 1, Stream::Failure).next_u64(),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn repetition_seeds_start_at_the_base_and_differ() {
        assert_eq!(repetition_seed(42, 0), 42);
        let seeds: std::collections::BTreeSet<u64> = (0..100).map(|i| repetition_seed(42, i)).collect();
        assert_eq!(seeds.len(), 100);
        assert_eq!(repetition_seed(42, 3), repetition_seed(42, 3));
        assert_ne!(repetition_seed(42, 3), repetition_seed(43, 3));
    }

    #[test]
    fn call_keys_are_stable_across_releases() {
        // FNV-1a test vectors.
        assert_eq!(call_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(call_key("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
