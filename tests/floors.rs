//! The floors of ARCHITECTURE.md, checked against the code: every `crate::`
//! path in `src/` names a floor below its own file's (or its own folder),
//! the Redis build's `cfg` stays behind its one door, and the top of
//! `src/` stays a short list. Reading the `use` lines keeps the page and
//! the code from drifting apart.

use std::fs;
use std::path::{Path, PathBuf};

/// The floors, bottom first: a folder (or file) may import only from the
/// ones before it in this list, and from itself.
const FLOORS: [&str; 9] = ["proto", "config", "auth", "ops", "conn", "ping", "events", "server", "lib"];

/// The floor of a file under `src/`: its top folder, or its own name.
fn floor_of(relative: &Path) -> usize {
    let top = relative.components().next().and_then(|part| part.as_os_str().to_str()).unwrap_or_default();
    let top = top.trim_end_matches(".rs");
    let top = if top == "main" { "lib" } else { top };
    FLOORS
        .iter()
        .position(|&floor| floor == top)
        .unwrap_or_else(|| panic!("{} is on no floor", relative.display()))
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Every `crate::NAME` in `text`, outside comments: the floors it reaches.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut paths = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            paths.push((number + 1, name));
            rest = after;
        }
        // `use crate::{a, b}` names several floors at once.
        if let Some(group) = code.split("crate::{").nth(1) {
            for name in group.split([',', '}']).map(|part| part.trim().split("::").next().unwrap_or_default())
            {
                if !name.is_empty() {
                    paths.push((number + 1, name.to_owned()));
                }
            }
        }
    }
    paths
}

#[test]
fn no_module_imports_from_a_higher_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let own = floor_of(relative);
        let text = fs::read_to_string(file).expect("read source");
        for (line, name) in crate_paths(&text) {
            // Items re-exported at the crate root (`crate::Config`) live on
            // the config floor or below; anything else names a floor.
            let floor = match FLOORS.iter().position(|&floor| floor == name) {
                Some(floor) => floor,
                None if name.chars().next().is_some_and(char::is_uppercase) => floor_of(Path::new("config")),
                None => panic!("{}:{line}: crate::{name} is on no floor", relative.display()),
            };
            if floor > own {
                wrong.push(format!(
                    "{}:{line} ({}) imports crate::{name} ({})",
                    relative.display(),
                    FLOORS[own],
                    FLOORS[floor]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "imports from a higher floor:\n{}", wrong.join("\n"));
}

#[test]
fn the_redis_feature_is_named_only_behind_its_door() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut outside = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src").to_string_lossy().into_owned();
        let text = fs::read_to_string(file).expect("read source");
        for (number, line) in text.lines().enumerate() {
            if !line.contains("feature = \"redis\"") || line.trim_start().starts_with("//") {
                continue;
            }
            // Inside the Redis folder; its one module line; the flags that
            // tell a build without it what to do.
            let door = relative.starts_with("events/redis/")
                || (relative == "events/mod.rs" && line.contains("path = \"redis/absent.rs\""))
                || (relative == "config/flags.rs" && line.contains("cfg!(feature = \"redis\")"));
            if !door {
                outside.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(outside.is_empty(), "the redis feature named outside its door:\n{}", outside.join("\n"));
}

#[test]
fn the_top_of_src_is_a_short_list() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let entries = fs::read_dir(&src).expect("read src").count();
    assert!(entries <= 10, "src/ has {entries} entries; ARCHITECTURE.md promises at most 10");
}
