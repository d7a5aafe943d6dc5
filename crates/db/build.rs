//! Embeds `schema/*.sql` (in file-name order) and the seed data into the library.

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("schema");
    println!("cargo:rerun-if-changed=schema");
    let mut files: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("/// Schema files in apply order: (file name, SQL text).\npub static SCHEMA_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed=schema/{f}");
        out.push_str(&format!(
            "    ({f:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/schema/{f}\"))),\n"
        ));
    }
    out.push_str("];\n");
    let dest =
        Path::new(&env::var("OUT_DIR").expect("OUT_DIR is set by cargo")).join("schema_files.rs");
    fs::write(dest, out).expect("write schema_files.rs");
}
