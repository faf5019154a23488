//! The nesting guard: one linear pass over the text that refuses arrays, inline tables
//! and dotted keys nested deeper than [`MAX_NESTING`], before the TOML parser sees them.
//!
//! The `toml` crate stops at 80 levels itself, but says only "cannot recurse further"
//! for arrays and "recursion limit", at line 1, for a long dotted key; and its limit
//! disappears with its `unbounded` feature, which any dependency could switch on. This
//! guard keeps the limit ours: documented, located at the character that crosses it, and
//! below the parser's own, so the parser's recursion (and serde's after it) stays shallow.
//!
//! The pass is a small lexer: it skips comments and the four kinds of strings, counts
//! `[` and `{` that are still open, and adds the dots of the key being written. It does
//! not validate anything else; a file it misreads is one the TOML parser rejects anyway.

use std::ops::Range;

use super::MAX_NESTING;

/// Where the text first nests deeper than [`MAX_NESTING`], and how deep it is there.
#[derive(Debug, PartialEq)]
pub(crate) struct TooDeep {
    /// The `[`, `{` or `.` that crosses the limit.
    pub(crate) span: Range<usize>,
    /// Open brackets plus dots of the current key, at that character.
    pub(crate) depth: usize,
}

/// What the lexer is inside of.
#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Code,
    Comment,
    /// `"..."` or, when `multiline`, `"""..."""`; both take backslash escapes.
    Basic {
        multiline: bool,
    },
    /// `'...'` or `'''...'''`; no escapes.
    Literal {
        multiline: bool,
    },
}

/// The first place `source` nests deeper than [`MAX_NESTING`], if any.
///
/// Nesting is the number of arrays and inline tables still open (a table header's
/// brackets count while it is written) plus the dots of the key being written (floats
/// such as `1.5` add one, which only makes the guard a level stricter). Runs in one pass,
/// without allocating.
pub(crate) fn too_deep(source: &str) -> Option<TooDeep> {
    let bytes = source.as_bytes();
    let mut state = State::Code;
    let mut open = 0usize;
    let mut dots = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match state {
            State::Code => match b {
                b'#' => state = State::Comment,
                b'"' | b'\'' => {
                    let multiline = bytes[i..].starts_with(if b == b'"' { b"\"\"\"" } else { b"'''" });
                    state = if b == b'"' {
                        State::Basic { multiline }
                    } else {
                        State::Literal { multiline }
                    };
                    if multiline {
                        i += 2;
                    }
                }
                b'[' | b'{' | b'.' => {
                    if b == b'.' {
                        dots += 1;
                    } else {
                        open += 1;
                        dots = 0;
                    }
                    if open + dots > MAX_NESTING {
                        return Some(TooDeep {
                            span: i..i + 1,
                            depth: open + dots,
                        });
                    }
                }
                b']' | b'}' => {
                    open = open.saturating_sub(1);
                    dots = 0;
                }
                b'=' | b',' | b'\n' => dots = 0,
                _ => {}
            },
            State::Comment => {
                if b == b'\n' {
                    state = State::Code;
                    dots = 0;
                }
            }
            State::Basic { multiline } => match b {
                // An escape hides the next byte, which may be a quote or a backslash.
                b'\\' => i += 1,
                b'"' if !multiline => state = State::Code,
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    // Up to two quotes may end the string's text right before the delimiter.
                    i += closing_quotes(&bytes[i..], b'"') - 1;
                    state = State::Code;
                }
                // A newline cannot be in a one-line string: resynchronise where TOML errs.
                b'\n' if !multiline => state = State::Code,
                _ => {}
            },
            State::Literal { multiline } => match b {
                b'\'' if !multiline => state = State::Code,
                b'\'' if bytes[i..].starts_with(b"'''") => {
                    i += closing_quotes(&bytes[i..], b'\'') - 1;
                    state = State::Code;
                }
                b'\n' if !multiline => state = State::Code,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// The length of the run of `quote` at the start of `rest` (at least 3 when called), at
/// most 5: the closing delimiter and up to two quotes of the string's own.
fn closing_quotes(rest: &[u8], quote: u8) -> usize {
    rest.iter().take(5).take_while(|&&b| b == quote).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(source: &str) -> Option<usize> {
        too_deep(source).map(|d| d.depth)
    }

    #[test]
    fn nesting_at_the_limit_passes_and_one_more_is_refused_where_it_starts() {
        let at = |n: usize| format!("a = {}{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(depth_of(&at(MAX_NESTING)), None);
        let deeper = at(MAX_NESTING + 1);
        let found = too_deep(&deeper).unwrap();
        assert_eq!(found.span, 4 + MAX_NESTING..5 + MAX_NESTING);
        assert_eq!(found.depth, MAX_NESTING + 1);
    }

    #[test]
    fn dotted_keys_count_each_dot_inside_the_brackets_around_them() {
        let key = |dots: usize| format!("{} = 1\n", vec!["k"; dots + 1].join("."));
        assert_eq!(depth_of(&key(MAX_NESTING)), None);
        assert_eq!(depth_of(&key(MAX_NESTING + 1)), Some(MAX_NESTING + 1));
        let inline = format!("t = {{ {} }}\n", key(MAX_NESTING).trim_end());
        assert_eq!(depth_of(&inline), Some(MAX_NESTING + 1));
        let header = format!("[{}]\n", vec!["k"; MAX_NESTING + 1].join("."));
        assert_eq!(depth_of(&header), Some(MAX_NESTING + 1));
    }

    #[test]
    fn brackets_and_dots_in_strings_and_comments_do_not_count() {
        let deep = "[".repeat(MAX_NESTING * 2);
        let dots = ".".repeat(MAX_NESTING * 2);
        for source in [
            format!("a = \"{deep}{dots}\"\n"),
            format!("a = \"\\\"{deep}\"\n"),
            format!("a = '{deep}\\'\n"),
            format!("a = \"\"\"\n{deep}\n\"{dots}\"\"\"\"\n"),
            format!("a = '''{deep}''''\n"),
            format!("# {deep}\na = 1\n"),
            format!("\"{dots}\" = 1\n"),
        ] {
            assert_eq!(depth_of(&source), None, "{source}");
        }
    }

    #[test]
    fn nesting_after_a_string_or_comment_still_counts() {
        let deep = "[".repeat(MAX_NESTING + 1);
        for source in [
            format!("a = \"x\"\nb = {deep}"),
            format!("a = '''\n'''\nb = {deep}"),
            format!("a = \"\"\"q\"\"\"\"\"\nb = {deep}"),
            format!("# c\nb = {deep}"),
            format!("a = \"unterminated\nb = {deep}"),
        ] {
            assert_eq!(depth_of(&source), Some(MAX_NESTING + 1), "{source}");
        }
    }

    #[test]
    fn closed_brackets_and_separators_reset_the_count() {
        let wide = format!("a = [{}]\n", "[1.5], ".repeat(10 * MAX_NESTING));
        assert_eq!(depth_of(&wide), None);
        let lines = "a.b.c = 1\n".repeat(10 * MAX_NESTING);
        assert_eq!(depth_of(&lines), None);
        let stray = "]".repeat(10) + &"[".repeat(MAX_NESTING);
        assert_eq!(depth_of(&stray), None, "stray closers do not go below zero");
    }
}
