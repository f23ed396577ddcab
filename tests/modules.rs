//! The library's modules depend on each other without cycles: data →
//! network → backend → report, as `src/lib.rs` lays them out.
//!
//! The check reads the sources: every `crate::...` path (in `use` trees,
//! nested groups included, and in code) and every `super::...` path is an
//! edge from the module it appears in to the module it names, re-exports
//! through `lib.rs`, `gpu/mod.rs` and `cpu/mod.rs` followed to where the item
//! lives. Edges between a module and its own submodules do not count. The
//! same graph can be drawn with `cargo modules dependencies --lib
//! --no-externs --no-fns --no-types --no-traits --acyclic` (crate
//! `cargo-modules`), which README.md describes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`gpu::kernels`) → its source, for every file under src/
/// except the binary's (main.rs, cli/).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if name != "cli" {
                    let mut p = prefix.to_vec();
                    p.push(name);
                    walk(&path, &p, out);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let mut p = prefix.to_vec();
            match name.as_str() {
                "main" | "lib" if prefix.is_empty() => p.push(String::new()),
                "mod" => {}
                _ => p.push(name),
            }
            out.insert(p.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
    let mut out = BTreeMap::new();
    walk(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &[],
        &mut out,
    );
    out.remove(""); // lib.rs and main.rs: the root only re-exports
    out
}

/// The source without comments, string literals (so paths in docs and
/// messages are not read as code) and its unit tests (whose `super` is the
/// file's own module).
fn code_only(src: &str) -> String {
    let src = match src
        .find("#[cfg(test)]")
        .or_else(|| src.find("#[cfg(all(test"))
    {
        Some(i) => &src[..i],
        None => src,
    };
    let mut out = String::new();
    for line in src.lines() {
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut in_string = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// The paths a `use` tree starting at `text` names: `a::{b, c::{d}}` gives
/// `a::b`, `a::c::d`.
fn use_tree(prefix: &str, text: &str, out: &mut Vec<String>) {
    let text = text.trim();
    if let Some(open) = text.find('{') {
        let head = text[..open].trim_end_matches("::").trim();
        let inner = &text[open + 1..text.rfind('}').unwrap_or(text.len())];
        let base = [prefix, head]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("::");
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_tree(&base, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        use_tree(&base, &inner[start..], out);
    } else if !text.is_empty() {
        let item = text.split_whitespace().next().unwrap_or("");
        let joined = if prefix.is_empty() {
            item.to_string()
        } else {
            format!("{prefix}::{item}")
        };
        out.push(joined);
    }
}

/// Every path (relative to the crate root) module `module` refers to.
fn paths_in(module: &str, src: &str) -> Vec<String> {
    let code = code_only(src);
    let mut out = Vec::new();
    let parent: Vec<&str> = module.split("::").collect();
    let parent = parent[..parent.len() - 1].join("::");
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::").or_else(|| rest.find("super::")) {
        let is_super = rest[i..].starts_with("super::");
        let after = &rest[i + 7..];
        // A use tree runs to its `;`, a path in code to the first character
        // that is not part of a path.
        let end = if after.starts_with('{') || rest[..i].trim_end().ends_with("use") {
            after.find(';').unwrap_or(after.len())
        } else {
            after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(after.len())
        };
        let base = if is_super { parent.as_str() } else { "" };
        use_tree(base, &after[..end], &mut out);
        rest = &after[end..];
    }
    out
}

/// Where the public names of a module's `pub use` lines live: `Network` →
/// `network`, for lib.rs (`prefix` ""), gpu/mod.rs ("gpu"), cpu/mod.rs.
fn reexports(prefix: &str, src: &str, out: &mut BTreeMap<String, String>) {
    for stmt in code_only(src).split(';') {
        let stmt = stmt.trim();
        let Some(tree) = stmt
            .strip_prefix("pub use ")
            .or_else(|| stmt.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let mut paths = Vec::new();
        use_tree(prefix, tree, &mut paths);
        for p in paths {
            let (module, name) = p.rsplit_once("::").unwrap();
            let key = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}::{name}")
            };
            out.insert(key, module.to_string());
        }
    }
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let modules = modules();
    let root = |name: &str| {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
    };
    let mut moved = BTreeMap::new();
    reexports("", &root("src/lib.rs"), &mut moved);
    reexports("gpu", &modules["gpu"], &mut moved);
    reexports("cpu", &modules["cpu"], &mut moved);

    // The module a path's item lives in: its longest module prefix, after
    // following re-exports.
    let resolve = |path: &str| -> Option<String> {
        let mut segs: Vec<String> = path.split("::").map(String::from).collect();
        for _ in 0..4 {
            let mut changed = false;
            for n in (1..=segs.len()).rev() {
                let key = segs[..n].join("::");
                if modules.contains_key(&key) {
                    break;
                }
                if let Some(m) = moved.get(&key) {
                    let mut new: Vec<String> = m.split("::").map(String::from).collect();
                    new.extend(segs[n - 1..].iter().cloned());
                    segs = new;
                    changed = true;
                    break;
                }
            }
            if !changed {
                break;
            }
        }
        (1..=segs.len())
            .rev()
            .map(|n| segs[..n].join("::"))
            .find(|m| modules.contains_key(m))
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, src) in &modules {
        let edges = graph.entry(module.clone()).or_default();
        for path in paths_in(module, src) {
            let Some(target) = resolve(&path) else {
                continue;
            };
            let nested = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}::"));
            if !nested(module, &target) && !nested(&target, module) {
                edges.insert(target);
            }
        }
    }
    // It must have found the obvious edges, or it reads nothing.
    assert!(graph["driver"].contains("cpu"), "{graph:?}");
    assert!(graph["gpu::resident"].contains("gpu::ops"), "{graph:?}");

    // A cycle is a path from a module back to itself (depth-first).
    fn find_cycle(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|m| m == at) {
            let mut cycle = path[i..].to_vec();
            cycle.push(at.to_string());
            return Some(cycle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_string());
        for next in graph.get(at).into_iter().flatten() {
            if let Some(c) = find_cycle(graph, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_string());
        None
    }
    // Top-level modules, then each module's submodules among themselves.
    let top = |m: &str| m.split("::").next().unwrap().to_string();
    let mut levels: Vec<BTreeMap<String, BTreeSet<String>>> = Vec::new();
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, edges) in &graph {
        let set = tops.entry(top(m)).or_default();
        set.extend(edges.iter().map(|e| top(e)).filter(|e| *e != top(m)));
    }
    levels.push(tops);
    levels.push(graph.clone());
    for level in &levels {
        let mut done = BTreeSet::new();
        for m in level.keys() {
            if let Some(cycle) = find_cycle(level, m, &mut Vec::new(), &mut done) {
                panic!("module cycle: {}", cycle.join(" -> "));
            }
        }
    }
}
