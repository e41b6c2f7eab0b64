//! The layers of the crate, checked from its sources: every module imports
//! only modules below it (adapters → session → codec), so no two modules
//! import each other. A module's rank is its layer; a reference from one
//! module to another of the same or a higher rank fails.

use std::collections::BTreeMap;
use std::path::Path;

/// Top-level modules of `src/` and their layers, lowest first.
const RANKS: &[(&str, u8)] = &[
    // codec: one frame, one close payload, UTF-8, randomness
    ("frame", 0),
    ("utf8", 0),
    ("entropy", 0),
    ("close", 1),
    ("message", 2),
    ("extensions", 2),
    ("deflate", 3),
    // session
    ("config", 4),
    ("error", 4),
    ("connection", 5),
    ("handshake", 6),
    // adapters
    ("blocking", 7),
    ("http", 7),
    ("pool", 3),
    ("tokio", 8),
    ("hyper", 9),
    ("axum", 10),
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// The top-level module a file under `src/` belongs to.
fn module_of(path: &Path, src: &Path) -> Option<String> {
    let rel = path.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib").then(|| name.to_string())
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source without comments and test modules: what the library itself uses.
fn library_code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_module_imports_only_modules_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut problems = BTreeMap::new();
    for path in &all {
        let Some(from) = module_of(path, &src) else {
            continue;
        };
        let from_rank = rank(&from).unwrap_or_else(|| panic!("no layer for module {from}"));
        let code = library_code(&std::fs::read_to_string(path).unwrap());
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let target: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // Root re-exports (`crate::Config`) name a module through lib.rs.
            let target = match target.as_str() {
                "Config" => "config",
                "Connection" | "Event" | "Role" | "State" | "Payload" | "TextPayload"
                | "PreparedMessage" => "connection",
                "Message" | "MessageKind" => "message",
                "Error" | "ProtocolError" => "error",
                "CloseCode" | "CloseFrame" | "CloseError" => "close",
                "Utf8Bytes" | "Utf8Validator" | "InvalidUtf8" => "utf8",
                other => other,
            }
            .to_string();
            if target == from || target == "Bytes" {
                continue;
            }
            let Some(to_rank) = rank(&target) else {
                continue;
            };
            if to_rank >= from_rank {
                problems
                    .entry(format!("{from} -> {target}"))
                    .or_insert_with(|| path.display().to_string());
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports that point up or sideways: {problems:#?}"
    );
}
