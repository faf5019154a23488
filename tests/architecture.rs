//! The shape of the crate: dependencies between its top-level modules run one way.
//!
//! Read from the code itself: every `crate::MODULE` path outside `#[cfg(test)]` items
//! is an edge from the module of the file to MODULE. The layers below are the
//! architecture of docs/architecture.md; a module may use only modules of lower layers,
//! so no cycle can form. `cargo test --test architecture -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

mod common;

/// Top-level modules, lowest layer first; a module may use the modules of lower layers.
const LAYERS: &[&[&str]] = &[
    &["plan", "seed", "tls", "units"],
    &["stats", "clock"],
    &["executor"],
    &["sim"],
    &["scenario", "workload"],
    &["real"],
    &["telemetry"],
    &["report"],
    &["harness"],
    &["bench", "compare", "tune"],
    &["observed"],
    &["serve"],
    &["cli"],
];

/// The module graph, outside test code: module → the modules it uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = common::root().join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(&src) {
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = without_test_items(&std::fs::read_to_string(&path).unwrap());
        let uses = graph.entry(top.clone()).or_default();
        for name in crate_paths(&text) {
            if name != top {
                uses.insert(name);
            }
        }
    }
    graph
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The modules named as `crate::NAME` (also inside `use crate::{a, b}` groups).
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices("crate::") {
        // Not `parabench_crate::` or `$crate::`.
        if text[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(|p| ident(p.trim())).filter(|n| !n.is_empty()));
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// `text` without the items under `#[cfg(test)]` (and its comments), so a test's use of
/// a higher layer is not an edge.
fn without_test_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // The item ends at the `;` or the `}` that closes its first `{`.
        let mut depth = 0usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn dependencies_between_top_level_modules_run_one_way() {
    let graph = graph();
    println!("module graph (outside tests), by layer:");
    for (i, layer) in LAYERS.iter().enumerate() {
        for module in *layer {
            let uses: Vec<&str> = graph
                .get(*module)
                .map(|u| u.iter().map(String::as_str).collect())
                .unwrap_or_default();
            println!("  {i} {module:<10} -> {}", uses.join(", "));
        }
    }
    let mut wrong = Vec::new();
    for (module, uses) in &graph {
        let Some(layer) = layer_of(module) else {
            wrong.push(format!(
                "{module} is in no layer: add it to LAYERS and docs/architecture.md"
            ));
            continue;
        };
        for used in uses {
            match layer_of(used) {
                Some(l) if l < layer => {}
                Some(_) => wrong.push(format!("{module} (layer {layer}) uses {used}, which is not below it")),
                None => wrong.push(format!("{module} uses {used}, which is in no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Within each module folder, the files (sub-modules other than `mod.rs`, which glues
/// them) and the sibling each one uses through `super::NAME` or `crate::MODULE::NAME`.
fn sibling_graphs() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = common::root().join("src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let module = dir.file_name().unwrap().to_string_lossy().into_owned();
        let siblings: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .filter(|name| name != "mod")
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for name in &siblings {
            let file = dir.join(format!("{name}.rs"));
            let files = if file.exists() {
                vec![file]
            } else {
                rust_files(&dir.join(name))
            };
            let uses = graph.entry(name.clone()).or_default();
            for file in files {
                let text = without_test_items(&std::fs::read_to_string(&file).unwrap());
                for prefix in ["super::".to_string(), format!("crate::{module}::")] {
                    for (i, _) in text.match_indices(&prefix) {
                        let rest = &text[i + prefix.len()..];
                        let used: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        // `super::super::` from a nested file, `super::Item` a re-export of mod.rs.
                        if siblings.contains(&used) && used != *name && rest[used.len()..].starts_with("::") {
                            uses.insert(used);
                        }
                    }
                }
            }
        }
        out.insert(module, graph);
    }
    out
}

/// A cycle in `graph`, as the path that closes it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_cycle_between_the_files_of_a_module() {
    let mut cycles = Vec::new();
    for (module, graph) in sibling_graphs() {
        if let Some(cycle) = find_cycle(&graph) {
            cycles.push(format!("{module}: {}", cycle.join(" -> ")));
        }
    }
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
    // The check itself finds a cycle when there is one.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("model".into()).or_default().insert("rates".into());
    graph.entry("rates".into()).or_default().insert("sweep".into());
    graph.entry("sweep".into()).or_default().insert("model".into());
    assert_eq!(find_cycle(&graph).unwrap(), ["model", "rates", "sweep", "model"]);
}

#[test]
fn the_scanner_sees_edges_and_skips_tests() {
    let text = "use crate::plan::Plan;\nuse crate::{clock::Clock, seed};\nfn f() { crate::stats::x(); }\n\
                #[cfg(test)]\nmod tests {\n    use crate::cli::run;\n    fn g() { if true { crate::tune::x(); } }\n}\n\
                // crate::report in a comment\nuse crate::sim;\n";
    let names = crate_paths(&without_test_items(text));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(names, ["clock", "plan", "seed", "sim", "stats"]);
}

#[test]
fn no_source_file_is_long_without_a_reason_at_its_top() {
    // A room of more than ~800 lines says at its top why it is one room.
    let src = common::root().join("src");
    let mut long = Vec::new();
    for path in rust_files(&src) {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.lines().count();
        let head: String = text.lines().take(15).collect::<Vec<_>>().join("\n");
        if lines > 800 && !head.contains("One file because") {
            long.push(format!("{}: {lines} lines", path.display()));
        }
    }
    assert!(
        long.is_empty(),
        "split these, or say at the top why not (\"One file because ...\"):\n{}",
        long.join("\n")
    );
}
