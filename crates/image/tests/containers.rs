//! Container images written by a small test builder: an OCI layout with two platforms and
//! two layers (gzip and zstd; the upper one whites out an rpmdb file and makes /usr opaque),
//! read as a directory, a tar and a tar.gz; a classic `docker save` archive; corrupt ones.
//! Layers are made by GNU tar and digests by `sha256sum`, independently of the reader.

mod common;

use std::path::Path;

use altrepodb_image::oci::ContainerArchive;
use altrepodb_image::spool::SpoolConfig;
use altrepodb_image::tartree::{Limits, Select};
use altrepodb_image::{resolve, Error, FileTree, TreePath};
use common::{have, sh};

const CREATED: &str = "2025-07-22T10:11:12.5Z";

fn sha256(dir: &Path, file: &str) -> String {
    sh(dir, &format!("sha256sum {file}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn size(dir: &Path, file: &str) -> u64 {
    std::fs::metadata(dir.join(file)).unwrap().len()
}

/// Moves `file` into `layout/blobs/sha256/` under its digest; returns the digest.
fn add_blob(dir: &Path, file: &str) -> (String, u64) {
    let hex = sha256(dir, file);
    let n = size(dir, file);
    sh(
        dir,
        &format!("mkdir -p layout/blobs/sha256 && cp {file} layout/blobs/sha256/{hex}"),
    );
    (format!("sha256:{hex}"), n)
}

/// Builds the two layers in `dir`: `l1.tar`, `l2.tar` (uncompressed) and their compressed forms.
fn make_layers(dir: &Path) {
    sh(
        dir,
        "mkdir -p r1/etc r1/usr/lib r1/usr/share/doc r1/var/lib/rpm r2/var/lib/rpm r2/usr/lib r2/etc
         printf 'ID=old\\n' > r1/usr/lib/os-release
         printf 'doc' > r1/usr/share/doc/README
         ln -s ../usr/lib/os-release r1/etc/os-release
         printf 'packages-db' > r1/var/lib/rpm/Packages
         printf 'name-index' > r1/var/lib/rpm/Name
         : > r2/var/lib/rpm/.wh.Name
         : > r2/usr/.wh..wh..opq
         printf 'ID=altlinux\\nVERSION_ID=p11\\n' > r2/usr/lib/os-release
         printf 'added' > r2/etc/added
         tar --format=pax -C r1 -cf l1.tar . && tar --format=gnu -C r2 -cf l2.tar .
         gzip -9 -c l1.tar > l1.tar.gz && zstd -q -c l2.tar > l2.tar.zst",
    );
}

fn make_oci_layout(dir: &Path) -> Vec<String> {
    make_layers(dir);
    let (l1, l1n) = add_blob(dir, "l1.tar.gz");
    let (l2, l2n) = add_blob(dir, "l2.tar.zst");
    let d1 = format!("sha256:{}", sha256(dir, "l1.tar"));
    let d2 = format!("sha256:{}", sha256(dir, "l2.tar"));
    let mut manifests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let config = format!(
            r#"{{"created":"{CREATED}","architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":["{d1}","{d2}"]}}}}"#
        );
        std::fs::write(dir.join(format!("config-{arch}.json")), config).unwrap();
        let (c, cn) = add_blob(dir, &format!("config-{arch}.json"));
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{c}","size":{cn}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{l1}","size":{l1n}}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"{l2}","size":{l2n}}}]}}"#
        );
        std::fs::write(dir.join(format!("manifest-{arch}.json")), manifest).unwrap();
        manifests.push(add_blob(dir, &format!("manifest-{arch}.json")));
    }
    let entry = |(d, n): &(String, u64), arch: &str, os: &str| {
        format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":{n},"platform":{{"architecture":"{arch}","os":"{os}"}}}}"#
        )
    };
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{},{},{}]}}"#,
        entry(&manifests[0], "amd64", "linux"),
        entry(&manifests[1], "arm64", "linux"),
        // A build attestation: not an image.
        entry(&manifests[1], "unknown", "unknown"),
    );
    std::fs::write(dir.join("index.json"), &index).unwrap();
    sh(
        dir,
        "cp index.json layout/ && printf '{\"imageLayoutVersion\":\"1.0.0\"}' > layout/oci-layout",
    );
    vec![manifests[0].0.clone(), manifests[1].0.clone(), l1, l2]
}

fn check_merged(tree: &dyn FileTree, what: &str) {
    let read = |p: &str| tree.read_file(&TreePath::new(p), 1 << 20);
    assert_eq!(
        read("/var/lib/rpm/Packages").unwrap(),
        b"packages-db",
        "{what}"
    );
    assert!(
        matches!(
            tree.metadata(&TreePath::new("/var/lib/rpm/Name")),
            Err(Error::NotFound(_))
        ),
        "{what}: whiteout"
    );
    assert!(
        matches!(
            tree.metadata(&TreePath::new("/usr/share")),
            Err(Error::NotFound(_))
        ),
        "{what}: opaque /usr"
    );
    let (real, _) = resolve(tree, &TreePath::new("/etc/os-release")).unwrap();
    assert_eq!(real.as_str(), "/usr/lib/os-release", "{what}");
    assert_eq!(
        tree.read_file(&real, 100).unwrap(),
        b"ID=altlinux\nVERSION_ID=p11\n",
        "{what}"
    );
    assert_eq!(read("/etc/added").unwrap(), b"added", "{what}");
}

#[test]
fn oci_layouts_as_directory_tar_and_tar_gz() {
    if !have("containers", &["tar", "gzip", "zstd", "sha256sum", "date"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let digests = make_oci_layout(dir);
    sh(
        dir,
        "tar -C layout -cf layout.tar . && gzip -c layout.tar > layout.tar.gz",
    );
    let created: i64 = sh(dir, &format!("date -u -d '{CREATED}' +%s"))
        .trim()
        .parse()
        .unwrap();
    for name in ["layout", "layout.tar", "layout.tar.gz"] {
        let a = ContainerArchive::open(&dir.join(name), &SpoolConfig::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            a.images().len(),
            2,
            "{name}: the attestation is not an image"
        );
        let amd = a.select("x86_64").unwrap();
        assert_eq!(amd.manifest_digest.as_deref(), Some(digests[0].as_str()));
        assert_eq!(
            a.select("linux/arm64").unwrap().manifest_digest.as_deref(),
            Some(digests[1].as_str())
        );
        let e = a.select("riscv64").err().unwrap().to_string();
        assert!(
            e.contains("linux/amd64") && e.contains("linux/arm64"),
            "{e}"
        );
        for image in a.images() {
            let select = Select::rpmdb_and_os_release().path("/etc/added");
            let img = a
                .load(image, &select, Limits::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check_merged(&img.tree, name);
            assert_eq!(img.created_unix(), Some(created));
            assert_eq!(img.layers, 2);
            assert_eq!(Some(img.platform.clone()), image.platform, "{name}");
        }
        let img = a
            .load(amd, &Select::rpmdb_and_os_release(), Limits::default())
            .unwrap();
        assert_eq!(img.platform.alt_arch(), Some("x86_64"));
    }
}

#[test]
fn broken_oci_layouts_name_the_blob() {
    if !have("containers", &["tar", "gzip", "zstd", "sha256sum", "dd"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let digests = make_oci_layout(dir);
    let l1 = digests[2].trim_start_matches("sha256:").to_owned();
    let l2 = digests[3].trim_start_matches("sha256:").to_owned();
    sh(
        dir,
        &format!("cp -r layout missing && rm missing/blobs/sha256/{l2}"),
    );
    sh(dir, &format!("cp -r layout flipped && printf 'XXXX' | dd of=flipped/blobs/sha256/{l1} bs=1 seek=30 conv=notrunc 2>/dev/null"));
    let load = |n: &str| -> Result<(), Error> {
        let a = ContainerArchive::open(&dir.join(n), &SpoolConfig::default())?;
        a.load(
            &a.images()[0],
            &Select::rpmdb_and_os_release(),
            Limits::default(),
        )
        .map(|_| ())
    };
    let e = load("missing").unwrap_err().to_string();
    assert!(e.contains(&l2) && e.contains("missing"), "{e}");
    let e = load("flipped").unwrap_err().to_string();
    assert!(e.contains("layer 1"), "{e}");
}

#[test]
fn classic_docker_save_archive() {
    if !have("containers", &["tar", "sha256sum"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_layers(dir);
    let d1 = sha256(dir, "l1.tar");
    let d2 = sha256(dir, "l2.tar");
    let config = format!(
        r#"{{"created":"{CREATED}","architecture":"arm","variant":"v7","os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:{d1}","sha256:{d2}"]}}}}"#
    );
    std::fs::write(dir.join("config.json"), config).unwrap();
    let c = sha256(dir, "config.json");
    sh(
        dir,
        &format!(
            "mkdir -p save/aaa save/bbb && cp config.json save/{c}.json && cp l1.tar save/aaa/layer.tar && cp l2.tar save/bbb/layer.tar
             printf '[{{\"Config\":\"{c}.json\",\"RepoTags\":[\"alt:p11\"],\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]}}]' > save/manifest.json
             tar -C save -cf save.tar ."
        ),
    );
    let a = ContainerArchive::open(&dir.join("save.tar"), &SpoolConfig::default()).unwrap();
    assert_eq!(a.images().len(), 1);
    assert_eq!(a.images()[0].repo_tags, ["alt:p11"]);
    let select = Select::rpmdb_and_os_release().path("/etc/added");
    let img = a.load(&a.images()[0], &select, Limits::default()).unwrap();
    check_merged(&img.tree, "docker save");
    assert_eq!(img.manifest_digest, None);
    assert_eq!(img.config_digest, format!("sha256:{c}"));
    assert_eq!(img.platform.alt_arch(), Some("armh"));
    assert_eq!(img.platform.to_string(), "linux/arm/v7");
    // A layer that does not hash to its diff_id is refused.
    sh(
        dir,
        "printf 'x' >> save/bbb/layer.tar && tar -C save -cf bad.tar .",
    );
    let a = ContainerArchive::open(&dir.join("bad.tar"), &SpoolConfig::default()).unwrap();
    let e = a
        .load(
            &a.images()[0],
            &Select::rpmdb_and_os_release(),
            Limits::default(),
        )
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&d2) && e.contains("layer 2"), "{e}");
}
