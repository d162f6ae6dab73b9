//! Build checks: the JavaScript library vendored into `kgx export --format
//! html` pages must be the file its checksum names (scripts/vendor-js.sh
//! updates both; npm is used at development time only, never by the build).

use std::path::Path;

use sha2::{Digest, Sha256};

fn main() {
    let dir = Path::new("src/export/html");
    let library = dir.join("cytoscape.min.js");
    let recorded = dir.join("cytoscape.min.js.sha256");
    for path in [&library, &recorded, &dir.join("LICENSE-cytoscape")] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let bytes = std::fs::read(&library).unwrap_or_else(|e| panic!("cannot read vendored {}: {e}", library.display()));
    let expected = std::fs::read_to_string(&recorded).unwrap_or_else(|e| panic!("cannot read {}: {e}", recorded.display()));
    let actual: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    if actual != expected.trim() {
        panic!(
            "{} has SHA-256 {actual}, but {} records {}: the vendored library changed; rerun scripts/vendor-js.sh",
            library.display(),
            recorded.display(),
            expected.trim()
        );
    }
    if bytes.windows(8).any(|w| w.eq_ignore_ascii_case(b"</script")) {
        panic!("{} contains `</script`, which would end the page's inline script", library.display());
    }
}
