//! Call ids, and the index that finds a call by its id.
//!
//! A `[[generate]]` block of a million calls is a prefix and a count, and the index keeps
//! it that way: numbered ids (`s1`, `s2`, …) at consecutive indices are one [`Block`],
//! found by parsing the number back rather than by hashing each id. Only ids written one
//! by one go into a hash map. Repeated ids are found block by block too: a block clashes
//! with an id, or another block, exactly when one's prefix is the other's followed by
//! digits, which is arithmetic on the counts.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;

use super::CallIdx;

/// A call's id. Ids of up to 24 bytes (every generated one, in practice) are stored
/// inline, so a million calls allocate nothing for their ids.
///
/// It reads as a `&str` (it derefs to one) and compares with strings.
///
/// ```
/// use parabench::plan::CallId;
///
/// let id = CallId::numbered("search", 12);
/// assert_eq!(id, "search12");
/// assert!(id.starts_with("search"));
/// assert_eq!(CallId::from("merge").as_str(), "merge");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(CompactString);

impl CallId {
    /// `{prefix}{n}`, as a `[[generate]]` block names its calls.
    pub fn numbered(prefix: &str, n: u64) -> Self {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n);
        let mut id = CompactString::with_capacity(prefix.len() + digits.len());
        id.push_str(prefix);
        id.push_str(digits);
        Self(id)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for CallId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for CallId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for CallId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for CallId {
    fn from(id: &str) -> Self {
        Self(CompactString::from(id))
    }
}

impl From<&String> for CallId {
    fn from(id: &String) -> Self {
        Self::from(id.as_str())
    }
}

impl From<String> for CallId {
    fn from(id: String) -> Self {
        Self(CompactString::from(id))
    }
}

impl From<CallId> for String {
    fn from(id: CallId) -> Self {
        id.0.into_string()
    }
}

impl PartialEq<str> for CallId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CallId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CallId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<CallId> for str {
    fn eq(&self, other: &CallId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<CallId> for &str {
    fn eq(&self, other: &CallId) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<CallId> for String {
    fn eq(&self, other: &CallId) -> bool {
        self == other.as_str()
    }
}

/// Calls numbered `{prefix}1..={prefix}{count}` at consecutive indices from `first`.
#[derive(Clone, Debug)]
struct Block {
    prefix: CompactString,
    first: u32,
    count: u32,
}

impl Block {
    /// The index of `{prefix}{n}`, if the block has it.
    fn get(&self, n: u64) -> Option<CallIdx> {
        (1..=u64::from(self.count))
            .contains(&n)
            .then(|| CallIdx(self.first + (n - 1) as u32))
    }
}

/// Two calls with the same id: the later one and the earliest before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Repeat {
    /// The first call with the id.
    pub(crate) first: CallIdx,
    /// The call that repeats it: of every repeat in the plan, the earliest.
    pub(crate) again: CallIdx,
}

impl Repeat {
    fn of(a: CallIdx, b: CallIdx) -> Self {
        Self {
            first: a.min(b),
            again: a.max(b),
        }
    }

    /// The repeat a call-by-call scan in input order meets first.
    fn earliest(self, other: Option<Self>) -> Self {
        match other {
            Some(other) if (other.again, other.first) < (self.again, self.first) => other,
            _ => self,
        }
    }
}

/// Every call's id to its index: ids added one by one in a hash map, numbered runs as
/// blocks.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdIndex {
    named: HashMap<CallId, CallIdx>,
    /// Where a repeated named id was first added, and the earliest repeat among them.
    named_repeat: Option<Repeat>,
    blocks: Vec<Block>,
    /// The first block with each prefix.
    by_prefix: HashMap<CompactString, usize>,
    /// The earliest call of a block whose prefix an earlier block has.
    prefix_repeat: Option<Repeat>,
    longest_named: usize,
}

impl IdIndex {
    /// Adds a call with an id of its own.
    pub(crate) fn add(&mut self, id: &CallId, idx: CallIdx) {
        self.longest_named = self.longest_named.max(id.len());
        if let Some(&first) = self.named.get(id.as_str()) {
            self.named_repeat = Some(Repeat::of(first, idx).earliest(self.named_repeat));
        } else {
            self.named.insert(id.clone(), idx);
        }
    }

    /// Adds call `idx` as `{prefix}{n}` if it extends the last block (the next number at
    /// the next index) or starts one (`n` = 1); otherwise returns false and adds nothing.
    pub(crate) fn add_numbered(&mut self, prefix: &str, n: u64, idx: CallIdx) -> bool {
        if let Some(last) = self.blocks.last_mut()
            && u64::from(last.count) + 1 == n
            && last.first + last.count == idx.0
            && last.prefix == prefix
        {
            last.count += 1;
            return true;
        }
        if n != 1 {
            return false;
        }
        let block = self.blocks.len();
        self.blocks.push(Block {
            prefix: prefix.into(),
            first: idx.0,
            count: 1,
        });
        match self.by_prefix.get(prefix) {
            // Both blocks start with `{prefix}1`.
            Some(&earlier) => {
                let repeat = Repeat::of(CallIdx(self.blocks[earlier].first), idx);
                self.prefix_repeat = Some(repeat.earliest(self.prefix_repeat));
            }
            None => {
                self.by_prefix.insert(prefix.into(), block);
            }
        }
        true
    }

    /// Keeps only the calls before `len`.
    pub(crate) fn truncate(&mut self, len: usize) {
        let len = len as u32;
        self.named.retain(|_, idx| idx.0 < len);
        self.blocks.retain(|b| b.first < len);
        for b in &mut self.blocks {
            b.count = b.count.min(len - b.first);
        }
        let blocks = &self.blocks;
        self.by_prefix.retain(|_, &mut b| b < blocks.len());
        // Each is the earliest of its kind: if it lies past `len`, nothing before does.
        let before = |r: &Repeat| r.again.0 < len;
        self.named_repeat = self.named_repeat.filter(before);
        self.prefix_repeat = self.prefix_repeat.filter(before);
    }

    /// The call with this id. When ids repeat ([`IdIndex::repeat`]), one of them.
    pub(crate) fn get(&self, id: &str) -> Option<CallIdx> {
        if let Some(&idx) = self.named.get(id) {
            return Some(idx);
        }
        numbered_splits(id).find_map(|(prefix, n)| self.blocks[*self.by_prefix.get(prefix)?].get(n))
    }

    /// The length in bytes of the longest id: no longer string names a call.
    pub(crate) fn longest(&self) -> usize {
        let numbered = self.blocks.iter().map(|b| b.prefix.len() + decimal_digits(b.count));
        numbered.fold(self.longest_named, usize::max)
    }

    /// The earliest call (in input order) whose id an earlier call already has, as a
    /// scan of every id in input order would find it.
    pub(crate) fn repeat(&self) -> Option<Repeat> {
        let mut found = self.named_repeat;
        let mut note = |r: Repeat| found = Some(r.earliest(found));
        if let Some(r) = self.prefix_repeat {
            note(r);
        }
        // An id of its own that a block also makes.
        for (id, &idx) in &self.named {
            for (prefix, n) in numbered_splits(id) {
                if let Some(other) = self.by_prefix.get(prefix).and_then(|&b| self.blocks[b].get(n)) {
                    note(Repeat::of(idx, other));
                }
            }
        }
        // A block whose prefix is another's followed by digits: `{p}{s}{m}` is also `{p}{sm}`,
        // so they clash iff the other has `{p}{s}1`, and that is their earliest clash.
        for block in &self.blocks {
            for (prefix, s) in numbered_splits(&block.prefix) {
                let Some(&other) = self.by_prefix.get(prefix) else {
                    continue;
                };
                if let Some(one) = s.checked_mul(10).and_then(|s| s.checked_add(1))
                    && let Some(twin) = self.blocks[other].get(one)
                {
                    note(Repeat::of(twin, CallIdx(block.first)));
                }
            }
        }
        found
    }
}

/// Every way `id` reads as `{prefix}{n}` with `n` written without leading zeros: one per
/// non-zero digit in its trailing run of digits.
fn numbered_splits(id: &str) -> impl Iterator<Item = (&str, u64)> {
    let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
    let start = id.len() - digits;
    (start..id.len())
        .filter(move |&at| id.as_bytes()[at] != b'0')
        .filter_map(move |at| Some((&id[..at], id[at..].parse::<u64>().ok()?)))
}

fn decimal_digits(n: u32) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn idx(i: u32) -> CallIdx {
        CallIdx(i)
    }

    /// Adds `count` calls `{prefix}1..` from `first`.
    fn block(index: &mut IdIndex, prefix: &str, first: u32, count: u32) {
        for n in 1..=count {
            assert!(index.add_numbered(prefix, u64::from(n), idx(first + n - 1)));
        }
    }

    #[test]
    fn numbered_ids_are_found_without_being_stored() {
        let mut index = IdIndex::default();
        index.add(&"merge".into(), idx(0));
        block(&mut index, "s", 1, 1000);
        assert!(index.named.len() == 1 && index.blocks.len() == 1);
        assert_eq!(index.get("s1"), Some(idx(1)));
        assert_eq!(index.get("s1000"), Some(idx(1000)));
        assert_eq!(index.get("merge"), Some(idx(0)));
        for missing in ["s0", "s01", "s1001", "s", "t1", "1"] {
            assert_eq!(index.get(missing), None, "{missing}");
        }
        assert_eq!(index.longest(), "s1000".len());
        assert_eq!(index.repeat(), None);
    }

    #[test]
    fn a_number_that_does_not_follow_is_not_numbered() {
        let mut index = IdIndex::default();
        block(&mut index, "s", 0, 2);
        assert!(!index.add_numbered("s", 4, idx(2)));
        assert!(!index.add_numbered("s", 2, idx(2)));
        assert!(index.add_numbered("s", 3, idx(2)));
    }

    #[test]
    fn blocks_clash_where_one_prefix_is_the_other_with_digits() {
        // "a1" makes "a11" first, which "a" makes as its 11th call, iff it has 11 or more.
        let mut index = IdIndex::default();
        block(&mut index, "a", 0, 10);
        block(&mut index, "a1", 10, 9);
        assert_eq!(index.repeat(), None);
        let mut index = IdIndex::default();
        block(&mut index, "a", 0, 11);
        block(&mut index, "a1", 11, 9);
        assert_eq!(index.repeat(), Some(Repeat::of(idx(10), idx(11))));
        // A leading zero is never a number of "a".
        let mut index = IdIndex::default();
        block(&mut index, "a", 0, 100);
        block(&mut index, "a0", 100, 9);
        assert_eq!(index.repeat(), None);
    }

    #[test]
    fn truncating_keeps_the_calls_before_and_their_repeats() {
        let mut index = IdIndex::default();
        block(&mut index, "s", 0, 10);
        index.add(&"x".into(), idx(10));
        block(&mut index, "s", 11, 3);
        assert_eq!(index.repeat(), Some(Repeat::of(idx(0), idx(11))));
        index.truncate(11);
        assert_eq!(index.repeat(), None);
        assert_eq!(index.get("x"), Some(idx(10)));
        assert_eq!(index.get("s10"), Some(idx(9)));
        index.truncate(5);
        assert_eq!(
            (index.get("s5"), index.get("s6"), index.get("x")),
            (Some(idx(4)), None, None)
        );
    }

    /// Ids from a small alphabet, so that prefixes, digits and repeats collide often.
    fn ids() -> impl Strategy<Value = Vec<(String, Option<u32>)>> {
        let prefix = proptest::string::string_regex("[ab]{0,2}[0-2]{0,2}").unwrap();
        // A named id, or a block of up to 25 numbered calls.
        let entry = (prefix, proptest::option::of(1u32..25));
        proptest::collection::vec(entry, 1..8)
    }

    proptest! {
        /// The index answers as a hash map of every id would, and finds the same first
        /// repeat as a scan of every id in input order.
        #[test]
        fn the_index_agrees_with_a_map_of_every_id(entries in ids()) {
            let mut index = IdIndex::default();
            let mut every: Vec<CallId> = Vec::new();
            for (text, count) in &entries {
                match count {
                    None => {
                        let id = CallId::from(text.as_str());
                        index.add(&id, idx(every.len() as u32));
                        every.push(id);
                    }
                    Some(count) => {
                        for n in 1..=u64::from(*count) {
                            let at = idx(every.len() as u32);
                            if !index.add_numbered(text, n, at) {
                                index.add(&CallId::numbered(text, n), at);
                            }
                            every.push(CallId::numbered(text, n));
                        }
                    }
                }
            }
            let mut seen: HashMap<&str, CallIdx> = HashMap::new();
            let mut expected = None;
            for (i, id) in every.iter().enumerate() {
                if let Some(&first) = seen.get(id.as_str()) {
                    expected.get_or_insert(Repeat { first, again: idx(i as u32) });
                } else {
                    seen.insert(id, idx(i as u32));
                }
            }
            prop_assert_eq!(index.repeat(), expected);
            prop_assert_eq!(index.longest(), every.iter().map(|id| id.len()).max().unwrap_or(0));
            if expected.is_none() {
                for (id, &at) in &seen {
                    prop_assert_eq!(index.get(id), Some(at), "{}", id);
                    for other in [format!("{id}0"), format!("{id}x"), format!("x{id}")] {
                        prop_assert_eq!(index.get(&other), seen.get(other.as_str()).copied(), "{}", other);
                    }
                }
            }
        }
    }
}
