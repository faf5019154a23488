//! The dashboard's PromQL, for the dashboards tests: every panel and variable query,
//! Grafana's variables replaced by stand-ins, `promtool check rules` over them, and a
//! small scanner of which metrics, matchers and grouping labels an expression uses.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

/// Every panel, including those nested in (collapsed) rows.
pub fn all_panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// A PromQL expression and where it comes from, for messages.
#[derive(Clone, Debug)]
pub struct Query {
    pub origin: String,
    pub expr: String,
    /// Grafana asks for one value at the end of the time range, not a series over it.
    pub instant: bool,
}

/// The `expr` of every panel target.
pub fn panel_queries(dashboard: &Value) -> Vec<Query> {
    all_panels(dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("?").to_string();
            panel["targets"].as_array().into_iter().flatten().filter_map(move |t| {
                t["expr"].as_str().map(|expr| Query {
                    origin: format!("panel {title:?}, query {}", t["refId"].as_str().unwrap_or("?")),
                    expr: expr.to_string(),
                    instant: t["instant"] == true,
                })
            })
        })
        .collect()
}

/// A template variable's `label_values(SELECTOR, LABEL)` query: Grafana syntax, not PromQL.
#[derive(Clone, Debug)]
pub struct LabelValues {
    pub variable: String,
    pub selector: Option<String>,
    pub label: String,
}

pub fn parse_label_values(variable: &str, query: &str) -> LabelValues {
    let inner = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("variable {variable}: only label_values(...) queries are checked, got {query:?}"));
    // The label comes last and has no comma; the selector may have commas between braces.
    let (selector, label) = match inner.rsplit_once(',') {
        Some((selector, label)) => (Some(selector.trim().to_string()), label.trim()),
        None => (None, inner.trim()),
    };
    LabelValues {
        variable: variable.to_string(),
        selector,
        label: label.to_string(),
    }
}

/// The query of every `query` template variable.
pub fn variable_queries(dashboard: &Value) -> Vec<LabelValues> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["type"] == "query")
        .map(|v| {
            let name = v["name"].as_str().unwrap();
            let query = v["query"]
                .as_str()
                .or_else(|| v["query"]["query"].as_str())
                .unwrap_or_else(|| panic!("variable {name} has no query"));
            parse_label_values(name, query)
        })
        .collect()
}

/// The PromQL the dashboard sends: panel expressions, and the selectors inside the
/// variables' `label_values(...)`.
pub fn all_promql(dashboard: &Value) -> Vec<Query> {
    let mut queries = panel_queries(dashboard);
    queries.extend(variable_queries(dashboard).into_iter().filter_map(|lv| {
        lv.selector.map(|expr| Query {
            origin: format!("variable {}", lv.variable),
            expr,
            instant: true,
        })
    }));
    queries
}

// ---------------------------------------------------------------------------------------
// Grafana variables and their stand-ins

/// Grafana's built-in interval variables, replaced by durations that PromQL accepts.
pub const BUILTIN_DURATIONS: [(&str, &str); 3] = [("__rate_interval", "5m"), ("__interval", "1m"), ("__range", "1h")];

/// The names of the variables in `text`: `$name`, `${name}` and `${name:format}`.
pub fn grafana_variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let name = if let Some(braced) = rest.strip_prefix('{') {
            let end = braced.find('}').expect("an unclosed ${");
            let name = braced[..end].split(':').next().unwrap();
            rest = &braced[end + 1..];
            name
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let name = &rest[..end];
            rest = &rest[end..];
            name
        };
        names.push(name.to_string());
    }
    names
}

/// `expr` with each Grafana variable replaced by a valid stand-in: built-in intervals by
/// durations, template variables (used in regex matchers) by `.*`.
pub fn with_stand_ins(expr: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            let end = braced.find('}').expect("an unclosed ${");
            (braced[..end].split(':').next().unwrap(), &braced[end + 1..])
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        let stand_in = BUILTIN_DURATIONS
            .iter()
            .find(|(builtin, _)| *builtin == name)
            .map_or(".*", |(_, duration)| *duration);
        out.push_str(stand_in);
        rest = after;
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------
// promtool

/// Where CI gets Prometheus's programs from, and the local escape hatch.
pub const PROMETHEUS_HELP: &str = "is required to check the dashboard's PromQL: Debian's `prometheus` package has it \
     (`apt-get install prometheus`; .ci/run installs it); set PARABENCH_SKIP_PROMTOOL=1 to skip these checks locally";

/// `program` (promtool or prometheus), or `None` when it is missing and the developer
/// chose to skip. Missing without the opt-out fails: CI must never pass because the
/// checker was absent.
pub fn prometheus_program(program: &str) -> Option<Command> {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(Command::new(program));
    }
    if std::env::var("PARABENCH_SKIP_PROMTOOL").is_ok_and(|v| v == "1") {
        // Straight to stderr: libtest captures eprintln! of passing tests, and a skipped
        // check must not look like a passed one.
        let message =
            format!("\n!!! SKIPPED: {program} not found and PARABENCH_SKIP_PROMTOOL=1; {program} {PROMETHEUS_HELP}\n");
        std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes()).unwrap();
        return None;
    }
    panic!("{program} {PROMETHEUS_HELP}");
}

pub fn promtool() -> Option<Command> {
    prometheus_program("promtool")
}

/// Writes one recording rule per expression (Grafana variables replaced by stand-ins)
/// and runs `promtool check rules` on them: Prometheus's own parser judges each one.
pub fn promtool_check_rules(promtool: Command, queries: &[Query], name: &str) -> Result<(), String> {
    let mut rules = String::from("groups:\n  - name: parabench_dashboard\n    rules:\n");
    let mut seen = BTreeSet::new();
    let mut legend = String::new();
    for (i, q) in queries.iter().enumerate() {
        let expr = with_stand_ins(&q.expr);
        // Identical rules would only draw promtool's duplicate-rule lint.
        if !seen.insert(expr.clone()) {
            continue;
        }
        // A JSON string is a valid YAML double-quoted scalar.
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&expr).unwrap()
        ));
        legend.push_str(&format!("  dashboard:query_{i} = {}: {expr}\n", q.origin));
    }
    let dir = super::common::temp_dir(name);
    let file = super::common::write(&dir, "dashboard_rules.yml", &rules);
    let mut promtool = promtool;
    let out = promtool.arg("check").arg("rules").arg(&file).output().unwrap();
    let (_, stdout, stderr) = super::common::text(&out);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool rejected the rules:\n{stdout}{stderr}\nwhere\n{legend}"
        ))
    }
}

// ---------------------------------------------------------------------------------------
// A small PromQL scanner: which metrics, label matchers and grouping labels an
// expression uses. It assumes valid PromQL (promtool checks that separately).

#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    pub label: String,
    pub op: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Scan {
    pub selectors: Vec<Selector>,
    /// Labels named in `by`, `without`, `on`, `ignoring`, `group_left`, `group_right`.
    pub grouping: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Ident(String),
    Str(String),
    Number,
    Punct(String),
}

pub fn tokenize(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            let mut value = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c != '`' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
            tokens.push(Token::Str(value));
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations (0.99, 5m, 1e9) alike.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Number);
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let punct = if ["!=", "=~", "!~", "==", ">=", "<="].contains(&two.as_str()) {
                two
            } else {
                c.to_string()
            };
            i += punct.chars().count();
            tokens.push(Token::Punct(punct));
        }
    }
    tokens
}

pub const GROUPING_KEYWORDS: [&str; 6] = ["by", "without", "on", "ignoring", "group_left", "group_right"];
pub const AGGREGATIONS: [&str; 14] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
pub const OTHER_KEYWORDS: [&str; 7] = ["and", "or", "unless", "bool", "offset", "inf", "nan"];

pub fn is_punct(token: Option<&Token>, p: &str) -> bool {
    matches!(token, Some(Token::Punct(q)) if q == p)
}

/// The label matchers of a selector, from just after its `{` to just after its `}`.
pub fn scan_matchers(tokens: &[Token], mut i: usize) -> (Vec<Matcher>, usize) {
    let mut matchers = Vec::new();
    while i < tokens.len() && !is_punct(tokens.get(i), "}") {
        match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
            (Token::Ident(label), Some(Token::Punct(op)), Some(Token::Str(value))) => {
                matchers.push(Matcher {
                    label: label.clone(),
                    op: op.clone(),
                    value: value.clone(),
                });
                i += 3;
            }
            (Token::Punct(comma), _, _) if comma == "," => i += 1,
            (other, _, _) => panic!("unexpected {other:?} in a label matcher list"),
        }
    }
    (matchers, i + 1)
}

pub fn scan(expr: &str) -> Scan {
    let tokens = tokenize(expr);
    let mut out = Scan::default();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            // Range and subquery durations.
            Token::Punct(p) if p == "[" => {
                while i < tokens.len() && !is_punct(tokens.get(i), "]") {
                    i += 1;
                }
                i += 1;
            }
            // A selector with no metric name (`{__name__=~"..."}`).
            Token::Punct(p) if p == "{" => {
                let (matchers, next) = scan_matchers(&tokens, i + 1);
                out.selectors.push(Selector {
                    metric: String::new(),
                    matchers,
                });
                i = next;
            }
            Token::Ident(word) if GROUPING_KEYWORDS.contains(&word.as_str()) => {
                i += 1;
                if is_punct(tokens.get(i), "(") {
                    i += 1;
                    while i < tokens.len() && !is_punct(tokens.get(i), ")") {
                        if let Token::Ident(label) = &tokens[i] {
                            out.grouping.insert(label.clone());
                        }
                        i += 1;
                    }
                    i += 1;
                }
            }
            Token::Ident(word)
                if AGGREGATIONS.contains(&word.as_str())
                    || OTHER_KEYWORDS.contains(&word.as_str())
                    || is_punct(tokens.get(i + 1), "(") =>
            {
                i += 1;
            }
            Token::Ident(metric) => {
                let (matchers, next) = if is_punct(tokens.get(i + 1), "{") {
                    scan_matchers(&tokens, i + 2)
                } else {
                    (Vec::new(), i + 1)
                };
                out.selectors.push(Selector {
                    metric: metric.clone(),
                    matchers,
                });
                i = next;
            }
            _ => i += 1,
        }
    }
    out
}
