//! The server's modules point one way: adapters (ssh, socket, http, jobs, the search indexer,
//! the command language, the cli) use the service; the service layer never uses an adapter.
//! This reads the sources and fails naming the file and the path that crosses a layer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The service layer: the rules, their live state, and the full-text index they query.
const SERVICE_LAYER: &[&str] = &["service", "runtime", "search_index"];
/// Every top-level module of the crate, so a new one must be placed in a layer here.
const MODULES: &[&str] = &[
    "cli",
    "commands",
    "config",
    "http",
    "jobs",
    "runtime",
    "search",
    "search_index",
    "service",
    "socket",
    "ssh",
    "terminal",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`src/ssh/driver.rs` → `ssh`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// The crate modules a file names through `crate::…`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            !rest.starts_with('{'),
            "write one `use crate::module::…` per module, so this test can read it: {}",
            &rest[..rest.len().min(60)]
        );
        found.insert(name);
    }
    found
}

fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    match from {
        // The service layer knows nothing of its front ends or workers.
        m if SERVICE_LAYER.contains(&m) => SERVICE_LAYER.contains(&to),
        // The command language talks to a server only through a protocol client.
        "commands" => false,
        // The app loop draws frames for any sink; it knows no transport.
        "terminal" => false,
        // Only the binary's entry point wires everything together.
        _ if to == "cli" => false,
        // Adapters use the service layer, and the ssh front hosts the app over an in-memory
        // protocol connection, the command language and the app loop.
        "ssh" => SERVICE_LAYER.contains(&to) || matches!(to, "socket" | "commands" | "terminal"),
        "socket" | "http" | "jobs" | "search" => SERVICE_LAYER.contains(&to) || to == "config",
        "config" => matches!(to, "socket" | "ssh"),
        "cli" => true,
        other => panic!("{other} is a new module: place it in a layer in this test"),
    }
}

#[test]
fn the_service_layer_never_uses_an_adapter_and_only_the_cli_wires_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut crossings = Vec::new();
    for file in &files {
        let from = module_of(&src, file);
        if from == "lib" || from == "main" {
            continue;
        }
        assert!(
            MODULES.contains(&from.as_str()),
            "{} is in a module this test does not know ({from}); add it to MODULES",
            file.display()
        );
        let text = std::fs::read_to_string(file).unwrap();
        for to in uses(&text) {
            if !allowed(&from, &to) {
                crossings.push(format!(
                    "{} uses crate::{to}",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        crossings.is_empty(),
        "layers crossed:\n{}",
        crossings.join("\n")
    );
}

#[test]
fn the_check_sees_a_crossing() {
    assert!(uses("use crate::jobs::Workers;\nlet x = crate::service::now_ms();").contains("jobs"));
    assert!(!allowed("service", "jobs"));
    assert!(!allowed("ssh", "cli"));
    assert!(!allowed("commands", "service"));
    assert!(allowed("ssh", "commands"));
}

/// Whether a file names the sled engine's crate.
fn names_an_engine(text: &str) -> bool {
    text.contains("tack_data_sled")
}

#[test]
fn only_the_cli_names_a_store_engine() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let naming: Vec<String> = files
        .iter()
        .filter(|file| module_of(&src, file) != "cli")
        .filter(|file| names_an_engine(&std::fs::read_to_string(file).unwrap()))
        .map(|file| file.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        naming.is_empty(),
        "the service and its adapters reach the store only through tack_data::Store; these name an engine:\n{}",
        naming.join("\n")
    );
    assert!(names_an_engine("use tack_data_sled::SledStore;"));
}
