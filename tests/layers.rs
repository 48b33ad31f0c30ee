//! The module layering written in ARCHITECTURE.md ("Layers") is the one the code has: every
//! `crate::MODULE` path in a module of `src/` names a module its row allows. A new module
//! needs a row; a new import across modules needs the table changed first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the modules it may use, from ARCHITECTURE.md's "Layers" table.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = doc
        .split("\n## Layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a \"## Layers\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split(',')
            .map(|name| name.trim().trim_matches('`').to_owned())
            .filter(|name| !name.is_empty() && name != "—")
            .collect()
    };
    let mut table = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let module = cells[1].trim_matches('`').to_owned();
        table.insert(module, names(cells[2]));
    }
    assert!(table.len() > 5, "the Layers table is missing or empty");
    table
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Top-level module → (module it uses, where), from `crate::NAME` in code (comments skipped).
fn uses() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src/");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|c| c.trim_end_matches(".rs").to_owned())
            .expect("a module name");
        if top == "lib" || top == "bin" {
            continue; // the crate root declares modules; the binary uses the library's API
        }
        let text = std::fs::read_to_string(&file).expect("a source file");
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            assert!(
                !line.contains("crate::{"),
                "{}:{}: name one module per `use crate::...` so its layer can be checked",
                rel.display(),
                n + 1
            );
            for part in line.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    let at = format!("{}:{}", rel.display(), n + 1);
                    uses.entry(top.clone())
                        .or_default()
                        .entry(name)
                        .or_insert(at);
                }
            }
        }
        uses.entry(top).or_default();
    }
    uses
}

#[test]
fn every_module_uses_only_what_its_layer_allows() {
    let table = table();
    let mut problems = Vec::new();
    for (module, used) in uses() {
        let Some(allowed) = table.get(&module) else {
            problems.push(format!(
                "src/{module} has no row in ARCHITECTURE.md's Layers table"
            ));
            continue;
        };
        for (name, at) in used {
            if !allowed.contains(&name) {
                problems.push(format!(
                    "{at}: {module} uses crate::{name}, which its layer does not allow"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_table_keeps_the_promised_absences() {
    let table = table();
    for (module, never) in [
        (
            "projection",
            &["api", "log", "server", "drive", "model"][..],
        ),
        ("sim", &["log", "server", "drive", "projection"]),
        ("api", &["server", "log", "drive"]),
        ("model", &["api", "log", "server", "drive"]),
    ] {
        let allowed = &table[module];
        for name in never {
            assert!(!allowed.contains(*name), "{module} must never use {name}");
        }
    }
}
