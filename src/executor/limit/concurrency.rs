//! A concurrency limit: how many calls may hold a slot at once.

/// Counts the slots in use against a limit.
///
/// A call takes a slot when its first attempt starts and keeps it through its retries
/// and their backoffs, until it ends: the limit bounds calls in progress, as a pool of
/// workers would.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slots {
    limit: usize,
    used: usize,
}

impl Slots {
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit, used: 0 }
    }

    pub(crate) fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    pub(crate) fn has_room(&self) -> bool {
        self.used < self.limit
    }

    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// # Panics
    ///
    /// If no slot is free: the scheduler checks [`Slots::has_room`] first.
    pub(crate) fn acquire(&mut self) {
        assert!(self.has_room(), "acquired a slot beyond the limit");
        self.used += 1;
    }

    pub(crate) fn release(&mut self) {
        self.used = self.used.checked_sub(1).expect("released a slot never acquired");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_up_to_the_limit() {
        let mut s = Slots::new(2);
        s.acquire();
        s.acquire();
        assert!(!s.has_room());
        s.release();
        assert!(s.has_room());
        assert_eq!(s.used(), 1);
    }

    #[test]
    #[should_panic(expected = "beyond the limit")]
    fn acquiring_past_the_limit_is_a_bug() {
        let mut s = Slots::new(1);
        s.acquire();
        s.acquire();
    }
}
