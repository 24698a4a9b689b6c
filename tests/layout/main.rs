//! Keeps the layout of `shared/src` true, as `docs/architecture.md`
//! describes it. It reads the sources (no compiler involved) and fails, file
//! by file and with the reason, when:
//!
//! - two modules import each other, directly or through others: between the
//!   top-level modules (`domain`, `store`, `services`, `events`, `http`…),
//!   and between the files and submodules of any one directory (a use of the
//!   directory's own `mod.rs` — its namespace — does not count);
//! - a store key format (`"T#…`) is written outside `store/keys.rs`;
//! - the HTTP layer uses the store (it would build a key or an index
//!   partition: it must go through a service);
//! - the domain uses another layer, axum or the AWS SDK; the store uses the
//!   layers above it; `error.rs` uses anything of the crate;
//! - a file is longer than 600 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 600;

/// One source file: its path under `src`, its module path, its text.
struct Source {
    rel: String,
    module: Vec<String>,
    text: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src")
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("shared/src is readable")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let root = src_dir();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let mut module: Vec<String> = rel
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&p).expect("a readable source");
            Source { rel, module, text }
        })
        .collect()
}

/// Is `path` (a module path) a module of the crate: a file or a directory?
fn is_module(path: &[String]) -> bool {
    if path.is_empty() {
        return true;
    }
    let base = src_dir().join(path.join("/"));
    base.with_extension("rs").is_file() || base.join("mod.rs").is_file()
}

// ---- reading paths out of the code ----------------------------------------

/// The code without comments, strings and character literals (their
/// content must not look like paths), as tokens: identifiers, `::` and
/// single punctuation characters.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && raw_string(&chars, &mut i)
        {
            // skipped by raw_string
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && next == Some(':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Skips a raw string starting at `i` (`r"…"`, `r#"…"#`); false when it is
/// not one (an identifier starting with `r`).
fn raw_string(chars: &[char], i: &mut usize) -> bool {
    let mut j = *i + 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return false;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
            *i = j + 1 + hashes;
            return true;
        }
        j += 1;
    }
    *i = chars.len();
    true
}

/// Every path of the file that starts with `crate`, `super` or `self`
/// (the `use` trees expanded), with the inline module it appears in.
fn paths(toks: &[String]) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`): their names, and the brace depth
    // at which each ends.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if toks.get(i + 2).map(String::as_str) == Some("{") => {
                inline.push((toks[i + 1].clone(), depth));
            }
            _ => {}
        }
        let here: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
        if t == "use" {
            let end = toks[i..]
                .iter()
                .position(|t| t == ";")
                .map_or(toks.len(), |e| i + e);
            for p in use_tree(&toks[i + 1..end]) {
                if matches!(
                    p.first().map(String::as_str),
                    Some("crate" | "super" | "self")
                ) {
                    out.push((here.clone(), p));
                }
            }
            i = end;
            continue;
        }
        if matches!(t, "crate" | "super" | "self")
            && toks.get(i + 1).map(String::as_str) == Some("::")
        {
            let mut p = vec![t.to_owned()];
            let mut j = i + 1;
            while toks.get(j).map(String::as_str) == Some("::")
                && toks.get(j + 1).is_some_and(|s| is_ident(s))
            {
                p.push(toks[j + 1].clone());
                j += 2;
            }
            out.push((here, p));
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The paths of a `use` tree: `a::b::{c, d::{e, f}}` → `a::b::c`, `a::b::d::e`…
fn use_tree(toks: &[String]) -> Vec<Vec<String>> {
    fn parse(toks: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        while *i < toks.len() {
            match toks[*i].as_str() {
                "::" => *i += 1,
                "{" => {
                    *i += 1;
                    loop {
                        parse(toks, i, &path, out);
                        match toks.get(*i).map(String::as_str) {
                            Some(",") => *i += 1,
                            Some("}") => {
                                *i += 1;
                                break;
                            }
                            _ => break,
                        }
                        if toks.get(*i).map(String::as_str) == Some("}") {
                            *i += 1;
                            break;
                        }
                    }
                    return;
                }
                "," | "}" => break,
                "as" => *i += 2,
                "*" => *i += 1,
                t if is_ident(t) => {
                    path.push(t.to_owned());
                    *i += 1;
                }
                _ => *i += 1,
            }
        }
        if path.len() > prefix.len() || !prefix.is_empty() {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    parse(toks, &mut i, &[], &mut out);
    out
}

/// `path` as a module path from the crate's root, seen from `module` (the
/// file's module and the inline modules it is in).
fn resolve(module: &[String], path: &[String]) -> Vec<String> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        _ => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "self" => rest = &rest[1..],
                    "super" => {
                        base.pop();
                        rest = &rest[1..];
                    }
                    _ => break,
                }
            }
        }
    }
    base.extend(rest.iter().cloned());
    base
}

// ---- the checks --------------------------------------------------------------

/// An import of one module by another: in directory `dir`, `from` uses
/// `to`; `why` says which file and which path.
struct Edge {
    dir: Vec<String>,
    from: String,
    to: String,
    why: String,
}

/// Every path of every file, resolved: (file, module path it names).
fn uses(sources: &[Source]) -> Vec<(&Source, Vec<String>)> {
    let mut out = Vec::new();
    for s in sources {
        for (inline, p) in paths(&tokens(&s.text)) {
            let mut here = s.module.clone();
            here.extend(inline);
            out.push((s, resolve(&here, &p)));
        }
    }
    out
}

fn edges(sources: &[Source]) -> Vec<Edge> {
    let mut out = Vec::new();
    for (s, target) in uses(sources) {
        let from = &s.module;
        let d = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
        if d >= from.len() || d >= target.len() || !is_module(&target[..=d]) {
            continue;
        }
        out.push(Edge {
            dir: from[..d].to_vec(),
            from: from[d].clone(),
            to: target[d].clone(),
            why: format!("{} uses {}", s.rel, target.join("::")),
        });
    }
    out
}

/// The cycles of one directory's graph, one line per import that closes
/// one, with the way back and a use that makes each step.
fn cycles(edges: &[&Edge]) -> Vec<String> {
    let mut graph: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for e in edges {
        graph
            .entry(e.from.as_str())
            .or_default()
            .entry(e.to.as_str())
            .or_insert(e.why.as_str());
    }
    // The shortest way from `a` to `b`, as steps (from, to, why).
    let way = |a: &str, b: &str| -> Option<Vec<(String, String, String)>> {
        let mut back: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        let mut todo = std::collections::VecDeque::from([a]);
        let mut seen = BTreeSet::from([a]);
        while let Some(n) = todo.pop_front() {
            if n == b {
                let mut steps = Vec::new();
                let mut at = b;
                while at != a {
                    let (prev, why) = back[at];
                    steps.push((prev.to_owned(), at.to_owned(), why.to_owned()));
                    at = prev;
                }
                steps.reverse();
                return Some(steps);
            }
            for (next, why) in graph.get(n).into_iter().flatten() {
                if seen.insert(next) {
                    back.insert(next, (n, why));
                    todo.push_back(next);
                }
            }
        }
        None
    };
    let mut out = Vec::new();
    for (from, tos) in &graph {
        for (to, why) in tos {
            if let Some(steps) = way(to, from) {
                let back: Vec<String> = steps
                    .iter()
                    .map(|(a, b, w)| format!("{a} → {b} ({w})"))
                    .collect();
                out.push(format!(
                    "{from} → {to} ({why}), and back: {}",
                    back.join(", ")
                ));
            }
        }
    }
    out
}

#[test]
fn no_two_modules_import_each_other() {
    let sources = sources();
    let all = edges(&sources);
    let mut dirs: BTreeMap<Vec<String>, Vec<&Edge>> = BTreeMap::new();
    for e in &all {
        dirs.entry(e.dir.clone()).or_default().push(e);
    }
    let mut problems = Vec::new();
    for (dir, edges) in &dirs {
        for line in cycles(edges) {
            let at = if dir.is_empty() {
                "src".to_owned()
            } else {
                format!("src/{}", dir.join("/"))
            };
            problems.push(format!("in {at}: {line}"));
        }
    }
    assert!(
        problems.is_empty(),
        "module cycles:\n{}",
        problems.join("\n")
    );
    // The checks see edges at all (a broken parser would pass everything).
    assert!(
        all.iter()
            .any(|e| e.dir.is_empty() && e.from == "http" && e.to == "services")
    );
    assert!(
        all.iter()
            .any(|e| e.dir == ["store"] && e.from == "items" && e.to == "keys")
    );
}

#[test]
fn store_keys_are_written_in_store_keys_only() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|s| s.rel != "store/keys.rs")
        .flat_map(|s| {
            s.text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains("\"T#"))
                .map(|(n, l)| {
                    format!(
                        "{}:{}: a key format outside store/keys.rs: {}",
                        s.rel,
                        n + 1,
                        l.trim()
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// What each layer may not use: (files under, crate modules it may not
/// use, extern crates it may not use).
const FORBIDDEN: &[(&str, &[&str], &[&str])] = &[
    (
        "domain/",
        &[
            "store", "services", "http", "events", "lambda", "app", "runtime", "config", "notify",
            "cache", "crypto",
        ],
        &[
            "axum",
            "aws_config",
            "aws_sdk_dynamodb",
            "aws_sdk_eventbridge",
            "aws_sdk_sesv2",
            "lambda_http",
            "redb",
            "tokio",
        ],
    ),
    (
        "store/",
        &["services", "http", "events", "lambda", "app", "runtime"],
        &["axum", "lambda_http"],
    ),
    (
        "services/",
        &["http", "lambda", "runtime"],
        &["axum", "lambda_http"],
    ),
    (
        "events/",
        &["services", "http", "lambda", "app", "runtime"],
        &["axum"],
    ),
    ("http/", &["store", "lambda", "runtime"], &[]),
    (
        "delivery/",
        &["services", "http", "events", "lambda", "app", "runtime"],
        &["axum", "lambda_http"],
    ),
    (
        "video/",
        &[
            "store", "services", "http", "events", "lambda", "app", "runtime",
        ],
        &["axum", "lambda_http"],
    ),
    (
        "blobs/",
        &[
            "services", "http", "events", "lambda", "app", "runtime", "store",
        ],
        &["axum", "lambda_http"],
    ),
    (
        "metrics/",
        &[
            "services", "http", "events", "lambda", "app", "runtime", "delivery",
        ],
        &["axum", "lambda_http"],
    ),
    ("error.rs", &["*"], &[]),
];

#[test]
fn layers_use_only_what_they_may() {
    let sources = sources();
    let mut problems = Vec::new();
    for (s, target) in uses(&sources) {
        let Some(first) = target.first() else {
            continue;
        };
        for (under, modules, _) in FORBIDDEN {
            let here = s.rel.starts_with(under);
            let top = s.module.first().map(String::as_str).unwrap_or("");
            if here && first != top && (modules.contains(&"*") || modules.contains(&first.as_str()))
            {
                let why = if *under == "http/" && first == "store" {
                    " (the HTTP layer builds no store key: go through a service)"
                } else {
                    ""
                };
                problems.push(format!("{} uses {}{why}", s.rel, target.join("::")));
            }
        }
    }
    for s in &sources {
        let toks = tokens(&s.text);
        for (under, _, crates) in FORBIDDEN {
            if !s.rel.starts_with(under) {
                continue;
            }
            for (i, t) in toks.iter().enumerate() {
                let is_path = toks.get(i + 1).map(String::as_str) == Some("::")
                    && (i == 0 || toks[i - 1] != "::");
                if is_path && crates.contains(&t.as_str()) {
                    problems.push(format!("{} uses the crate {t}", s.rel));
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_file_is_longer_than_600_lines() {
    let long: Vec<String> = sources()
        .iter()
        .map(|s| (s, s.text.lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(s, n)| {
            format!(
                "{}: {n} lines (at most {MAX_LINES}; split it by what it does)",
                s.rel
            )
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn the_reader_reads_rust() {
    let toks = tokens(
        "use crate::a::{b, c::{d, e as f}, g::*}; // crate::x::y\nlet s = \"crate::z\"; let c = '\"'; fn f<'a>() { super::h::i(); }",
    );
    let found: Vec<String> = paths(&toks)
        .into_iter()
        .map(|(_, p)| p.join("::"))
        .collect();
    assert_eq!(
        found,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "crate::a::g",
            "super::h::i"
        ]
    );
    assert_eq!(
        resolve(
            &["http".into(), "pages".into(), "views".into()],
            &["super".into(), "texts".into()]
        ),
        ["http", "pages", "texts"]
    );
    let inline = paths(&tokens("mod tests { use super::x; }"));
    assert_eq!(
        inline,
        [(
            vec!["tests".to_owned()],
            vec!["super".to_owned(), "x".to_owned()]
        )]
    );
}
