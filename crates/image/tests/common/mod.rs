//! Helpers of the image tests: running the Debian tools that build and check inputs.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs `script` with `sh -c` in `dir`; panics with its stderr on failure. Returns stdout.
pub fn sh(dir: &Path, script: &str) -> String {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when every tool is on PATH; otherwise prints the skip line (or panics when every
/// prerequisite is required).
pub fn have(test: &str, tools: &[&str]) -> bool {
    for t in tools {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            let msg = format!("{test}: skipped: {t} is not installed");
            if altrepodb_testdata::corpus::required() {
                panic!("{msg}");
            }
            eprintln!("TEST: {msg}");
            return false;
        }
    }
    true
}

/// The `rpmdb/generated-bdb-from-alt-headers/Packages` corpus file (a real BDB rpmdb of ALT
/// headers), if the corpus is present.
pub fn alt_packages(test: &str) -> Option<std::path::PathBuf> {
    altrepodb_testdata::corpus::dir(test, "rpmdb/generated-bdb-from-alt-headers")
        .map(|d| d.join("Packages"))
}

/// A small root filesystem: os-release through a symlink, an rpmdb, a long path, a hard
/// link, a fifo, an empty directory.
pub fn make_rootfs(root: &Path, packages: &Path) {
    sh(
        root,
        &format!(
            "mkdir -p etc usr/lib var/lib/rpm empty/dir \
               a/very/long/directory/name/that/goes/on/and/on/for/more/than/one/hundred/bytes/in/total
             printf 'NAME=\"ALT Workstation\"\\nID=altlinux\\nVERSION_ID=10.1\\n' > usr/lib/os-release
             ln -s ../usr/lib/os-release etc/os-release
             cp {} var/lib/rpm/Packages
             printf 'index' > var/lib/rpm/Name
             ln var/lib/rpm/Name var/lib/rpm/Name.hardlink
             printf 'deep' > a/very/long/directory/name/that/goes/on/and/on/for/more/than/one/hundred/bytes/in/total/file-with-a-long-name
             mkfifo empty/fifo
             chmod 0750 empty/dir
             touch -d '2024-05-06 07:08:09' usr/lib/os-release",
            packages.display()
        ),
    );
}
