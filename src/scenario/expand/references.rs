//! `${id.field}` references in a call's params: found in one pass, resolved to calls.

use std::ops::Range;

use super::graph::Index;
use crate::scenario::error::SourceMap;

/// The text of a `params` value: the inline table, or for a `[calls.params]` table (whose
/// span is only its header), the lines up to the next header outside it.
pub(super) fn written_params(span: Range<usize>, map: &SourceMap) -> &str {
    let header = map.text(span.clone());
    if !header.starts_with('[') {
        return header;
    }
    let path = header.trim_matches(|c| c == '[' || c == ']').trim();
    let rest = map.text(span.start..usize::MAX);
    let body = &rest[header.len()..];
    let end = body
        .match_indices('\n')
        .map(|(at, _)| at + 1)
        .find(|&at| {
            // One line at a time: trimming across lines would rescan a run of blank lines
            // from each of them.
            let line = body[at..].lines().next().unwrap_or("").trim_start();
            let inside = line.trim_start_matches('[').trim_start().strip_prefix(path);
            line.starts_with('[') && !inside.is_some_and(|tail| tail.trim_start().starts_with('.'))
        })
        .unwrap_or(body.len());
    &rest[..header.len() + end]
}

/// The call an `ID.FIELD` reference names: the longest prefix before a dot that is a call
/// id, so ids containing dots can be referred to.
///
/// Prefixes longer than every id are not looked up, so a reference with a million dots
/// costs one pass rather than a million hashes of ever longer prefixes.
pub(super) fn resolve_reference(inner: &str, index: &Index<'_>) -> Option<usize> {
    inner
        .rmatch_indices('.')
        .filter(|&(dot, _)| dot > 0 && dot <= index.longest && dot + 1 < inner.len())
        .find_map(|(dot, _)| index.get(&inner[..dot]))
}

pub(super) fn collect_references<'v>(value: &'v toml::Value, out: &mut Vec<&'v str>) {
    match value {
        toml::Value::String(s) => out.extend(references(s)),
        toml::Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        toml::Value::Table(table) => table.values().for_each(|v| collect_references(v, out)),
        _ => {}
    }
}

/// The `ID.FIELD` inside each `${ID.FIELD}` of `text`.
///
/// Both parts must be non-empty, with no whitespace, `$`, `{` or `}`: `${HOME}` or
/// `${ a }` are left alone as ordinary text.
pub(crate) fn references(text: &str) -> Vec<&str> {
    references_at(text).into_iter().map(|(_, inner)| inner).collect()
}

/// [`references`], each with the byte offset of its `${` in `text`.
pub(super) fn references_at(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut base = 0;
    let mut rest = text;
    while let Some(open) = rest.find("${") {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        // Of the `${` before this `}`, only the last can open a reference: the others
        // would hold a `$`. Taking it at once keeps the scan linear (`${${${…}` would
        // otherwise search for the same `}` from every `${`).
        let start = open + rest[open..close].rfind("${").unwrap_or(0) + 2;
        let inner = &rest[start..close];
        let plain = !inner.contains(|c: char| c.is_whitespace() || matches!(c, '$' | '{'));
        let dotted = inner.find('.').is_some_and(|dot| dot > 0 && dot + 1 < inner.len());
        if plain && dotted {
            found.push((base + start - "${".len(), inner));
        }
        rest = &rest[close + 1..];
        base += close + 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scenario::expand::test_support::*;

    #[test]
    fn references_are_found_in_nested_params_and_sub_tables() {
        let s = ok(&format!(
            "{TOOL}[[calls]]\nid = \"p\"\ntool = \"a\"\n\
             [[calls]]\nid = \"q\"\ntool = \"a\"\n\
             [[calls]]\nid = \"r\"\ntool = \"a\"\n\
             [calls.params]\nouter = {{ inner = [[\"x\", \"${{q.out}}\"]] }}\nhome = \"${{HOME}}\"\n\
             [calls.params.deep]\nv = \"prefix ${{p.result}} suffix\"\n"
        ));
        assert_eq!(deps_of(&s, "r"), ["q", "p"]);
    }

    #[test]
    fn reference_syntax_needs_an_id_and_a_field() {
        assert_eq!(references("${a.result}"), ["a.result"]);
        assert_eq!(references("x ${a.b} y ${c.d}z"), ["a.b", "c.d"]);
        assert!(references("${HOME} ${.x} ${a.} ${ a.b } $a.b {a.b} ${a.b").is_empty());
        assert_eq!(references("${${a.b}"), ["a.b"]);
    }

    #[test]
    fn ids_with_dots_are_resolved_by_their_longest_known_prefix() {
        let s = ok(&format!(
            "{TOOL}[[calls]]\nid = \"search.v2\"\ntool = \"a\"\n[[calls]]\nid = \"search\"\ntool = \"a\"\n\
             [[calls]]\nid = \"x\"\ntool = \"a\"\nparams = {{ q = \"${{search.v2.result}}\", r = \"${{search.v3}}\" }}\n"
        ));
        assert_eq!(deps_of(&s, "x"), ["search.v2", "search"]);
    }

    #[test]
    fn references_in_a_megabyte_of_openings_are_found_in_one_pass() {
        let text = format!("{}a.b}}", "${".repeat(500_000));
        assert_eq!(references(&text), ["a.b"]);
        let dots = format!("${{{}r}}", "a.".repeat(500_000));
        let mut builder = crate::plan::PlanBuilder::new();
        let tool = builder.tool(crate::plan::ToolSpec::io("t"));
        builder.call("a", tool);
        let index = Index {
            builder: &builder,
            longest: 1,
        };
        assert_eq!(resolve_reference(references(&dots)[0], &index), Some(0));
    }

    mod proptests {
        use super::*;
        use proptest::prelude::*;

        /// The scan `references` replaced: from every `${`, the first `}` after it.
        fn references_by_rescanning(text: &str) -> Vec<&str> {
            let mut found = Vec::new();
            let mut rest = text;
            while let Some(open) = rest.find("${") {
                let after = &rest[open + 2..];
                let Some(close) = after.find('}') else { break };
                let inner = &after[..close];
                let plain = !inner.contains(|c: char| c.is_whitespace() || matches!(c, '$' | '{'));
                let dotted = inner.find('.').is_some_and(|dot| dot > 0 && dot + 1 < inner.len());
                if plain && dotted {
                    found.push(inner);
                    rest = &after[close + 1..];
                } else {
                    rest = after;
                }
            }
            found
        }

        /// Text made of the pieces that matter to references.
        fn reference_soup() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec!["${", "}", ".", "a", "b", " ", "$", "{", "é"]),
                0..40,
            )
            .prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #[test]
            fn references_match_the_rescanning_scan(text in reference_soup()) {
                prop_assert_eq!(references(&text), references_by_rescanning(&text));
                for (at, inner) in references_at(&text) {
                    prop_assert_eq!(&text[at..at + 2 + inner.len() + 1], format!("${{{inner}}}"));
                }
            }
        }
    }
}
