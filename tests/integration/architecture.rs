//! The arrows between modules point one way. Read from the sources: which
//! module names which (`use crate::…`, `super::…` and paths in the code),
//! counted between top modules, and between the modules right under
//! `services` and `graphql`, where most of the code is. A module may use its
//! own children; a loop between two modules, or the event pipeline naming a
//! domain service, fails here with the path that closes it.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// The event pipeline: recording changes, reacting to them, the job queue,
/// wake-ups and pagination. It may use the foundation (errors, settings,
/// auth, state) and itself, never a domain service.
const PIPELINE: &[&str] = &[
    "services",
    "services::audit",
    "services::change",
    "services::jobs",
    "services::outbox",
    "services::pagination",
    "services::signals",
];

/// Modules whose children count as modules of their own.
const SPLIT: &[&str] = &["services", "graphql"];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

#[test]
fn no_module_depends_on_itself_through_others() {
    for krate in ["service", "api"] {
        let graph = module_graph(&crate_src(krate));
        assert!(graph.len() > 3, "{krate}: no modules read");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{krate}: a loop between modules: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_event_pipeline_knows_no_domain_service() {
    let graph = module_graph(&crate_src("service"));
    for unit in PIPELINE {
        assert!(graph.contains_key(*unit), "{unit} is not a module any more");
        for used in &graph[*unit] {
            let domain = used.starts_with("services::") && !PIPELINE.contains(&used.as_str());
            assert!(!domain, "{unit} uses the domain service {used}");
        }
    }
}

#[test]
fn the_reader_sees_a_loop_it_is_shown() {
    let files = [
        (
            vec!["a".to_owned()],
            "use crate::b::X; // crate::c\nfn f() {}",
        ),
        (
            vec!["b".to_owned()],
            "fn g() { crate::a::f(); let s = \"crate::c\"; }",
        ),
        (vec!["c".to_owned()], "use super::a;"),
    ];
    let mut graph = Graph::new();
    for (path, text) in files {
        add_edges(&mut graph, &path, text);
    }
    assert_eq!(graph["a"], BTreeSet::from(["b".to_owned()]));
    assert_eq!(graph["b"], BTreeSet::from(["a".to_owned()]));
    assert!(find_cycle(&graph).is_some());
}

fn module_graph(src: &Path) -> Graph {
    let mut graph = Graph::new();
    let mut files = Vec::new();
    collect(src, &mut files);
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file).with_extension("");
        let mut path: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            path.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            path.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        add_edges(&mut graph, &path, &text);
    }
    graph
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

fn unit_of(path: &[String]) -> String {
    match path {
        [] => "lib".to_owned(),
        [first, second, ..] if SPLIT.contains(&first.as_str()) => format!("{first}::{second}"),
        [first, ..] => first.clone(),
    }
}

/// Adds the modules named by the file at module `path` to the graph.
fn add_edges(graph: &mut Graph, path: &[String], text: &str) {
    let from = unit_of(path);
    let code = strip(text);
    // The parent module, for `super::` (a file's module is its own path).
    let parent = &path[..path.len().saturating_sub(1)];
    let mut targets = Vec::new();
    for (start, _) in code.match_indices("use ") {
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let statement = &code[start + 4..code[start..].find(';').map_or(code.len(), |e| start + e)];
        for used in expand(statement.trim()) {
            targets.push(used);
        }
    }
    for root in ["crate::", "super::"] {
        for (start, _) in code.match_indices(root) {
            let before = code[..start].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest: String = code[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            targets.push(rest.split("::").map(str::to_owned).collect());
        }
    }
    let entry = graph.entry(from.clone()).or_default();
    for target in targets {
        let absolute: Vec<String> = match target.first().map(String::as_str) {
            Some("crate") => target[1..].to_vec(),
            Some("super") => parent
                .iter()
                .cloned()
                .chain(target[1..].iter().cloned())
                .collect(),
            _ => continue,
        };
        let absolute: Vec<String> = absolute.into_iter().filter(|s| !s.is_empty()).collect();
        if absolute.is_empty() {
            continue;
        }
        let to = unit_of(&absolute);
        if to != from {
            entry.insert(to);
        }
    }
    // Names that are not modules of this crate (re-exports, items at the
    // root) are dropped when the cycle search finds no such node.
}

/// `crate::{a::{b, c}, d}` → `[crate, a, b]`, `[crate, a, c]`, `[crate, d]`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn go(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for part in split_top(tree) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if let Some(open) = part.find('{') {
                let head: Vec<String> = part[..open]
                    .split("::")
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().to_owned())
                    .collect();
                let inner = &part[open + 1..part.rfind('}').unwrap_or(part.len())];
                let prefix: Vec<String> = prefix.iter().cloned().chain(head).collect();
                go(inner, &prefix, out);
            } else {
                let name = part.split(" as ").next().unwrap_or(part);
                let path: Vec<String> = prefix
                    .iter()
                    .cloned()
                    .chain(name.split("::").map(|s| s.trim().to_owned()))
                    .filter(|s| !s.is_empty())
                    .collect();
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    go(tree, &[], &mut out);
    out
}

/// Splits at the commas outside braces.
fn split_top(tree: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in tree.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&tree[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tree[start..]);
    parts
}

/// The code without comments, string contents or the test module at the
/// end of the file (tests may reach anywhere).
fn strip(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            ('r', Some('#' | '"')) if i == 0 || !chars[i - 1].is_alphanumeric() => {
                let mut j = i + 1;
                let mut hashes = 0;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) != Some(&'"') {
                    out.push(chars[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
            }
            ('"', _) => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal ('x', '\n'); lifetimes ('a) are left alone.
            ('\'', Some(_)) if chars.get(i + 2) == Some(&'\'') => {
                i += 3;
            }
            ('\'', Some('\\')) => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A loop in the graph, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            // Only modules of this crate are nodes.
            if !graph.contains_key(next) {
                continue;
            }
            match marks.get(next) {
                Some(Mark::Open) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, marks, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if !marks.contains_key(node) {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(node, graph, &mut marks, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}
