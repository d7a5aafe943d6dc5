//! Disk images built without root: GPT and MBR tables written by `sfdisk` (compared with
//! `sfdisk --json`), an ext4 partition filled by `mke2fs -d -E offset=`, the disk as qcow2
//! (plain, zlib, zstd, v2) by `qemu-img convert` (compared byte for byte with the raw disk
//! and with `qemu-img info`), as `.img.xz` of many blocks and of one, and refused inputs.

mod common;

use std::path::Path;
use std::sync::Arc;

use altrepodb_image::disk::{open_disk, DiskFormat};
use altrepodb_image::partition::{find_partition, read_partitions, PartitionType, TableKind};
use altrepodb_image::qcow2::{ClusterCompression, Qcow2};
use altrepodb_image::spool::SpoolConfig;
use altrepodb_image::xz::{open_xz_with, XzIndexed};
use altrepodb_image::{Error, ReadAt};
use common::{have, sh};

fn read_all(src: &dyn ReadAt) -> Vec<u8> {
    let mut out = vec![0u8; src.len() as usize];
    src.read_exact_at(0, &mut out, "disk").unwrap();
    out
}

/// A 16 MiB GPT disk: a 1 MiB "bios" partition and an ext4 "root" holding an rpmdb dir.
fn make_gpt_disk(dir: &Path) {
    sh(
        dir,
        "mkdir -p rootfs/var/lib/rpm rootfs/etc && printf 'db' > rootfs/var/lib/rpm/Packages
         truncate -s 16M disk.img
         printf 'label: gpt\\nstart=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=\"bios\"\\nstart=4096, size=26624, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=\"root\"\\n' | sfdisk -q disk.img
         mke2fs -q -t ext4 -d rootfs -E offset=2097152 disk.img 13312k",
    );
}

#[test]
fn partition_tables_match_sfdisk() {
    if !have("disks", &["sfdisk", "mke2fs", "truncate"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_gpt_disk(dir);
    sh(
        dir,
        "truncate -s 8M mbr.img
         printf 'label: dos\\nstart=2048, size=4096, type=83, bootable\\nstart=6144, size=8192, type=5\\nstart=8192, size=2048, type=82\\nstart=12288, size=2048, type=83\\n' | sfdisk -q mbr.img",
    );
    for (name, kind) in [("disk.img", TableKind::Gpt), ("mbr.img", TableKind::Mbr)] {
        let json: serde_json::Value =
            serde_json::from_str(&sh(dir, &format!("sfdisk --json {name}"))).unwrap();
        let want: Vec<(u32, u64, u64, String, Option<String>)> = json["partitiontable"]
            ["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let node = p["node"].as_str().unwrap();
                let number = node.trim_start_matches(name).parse().unwrap();
                (
                    number,
                    p["start"].as_u64().unwrap() * 512,
                    p["size"].as_u64().unwrap() * 512,
                    p["type"].as_str().unwrap().to_uppercase(),
                    p["name"].as_str().map(str::to_owned),
                )
            })
            .collect();
        let file = std::fs::File::open(dir.join(name)).unwrap();
        let (got_kind, parts) = read_partitions(&file).unwrap();
        assert_eq!(got_kind, kind);
        let got: Vec<_> = parts
            .iter()
            .map(|p| match &p.kind {
                PartitionType::Mbr(t) => (p.number, p.start, p.size, format!("{t:X}"), None),
                PartitionType::Gpt {
                    type_guid, name, ..
                } => (
                    p.number,
                    p.start,
                    p.size,
                    type_guid.clone(),
                    Some(name.clone()),
                ),
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
    // The partition holding the ext4 filesystem is found by a probe of its superblock magic.
    let file = std::fs::File::open(dir.join("disk.img")).unwrap();
    let found = find_partition(&file, |_, w| {
        let mut magic = [0u8; 2];
        w.read_exact_at(1024 + 56, &mut magic, "ext4 superblock")?;
        Ok(magic == [0x53, 0xef])
    })
    .unwrap()
    .expect("the ext4 partition");
    assert_eq!(found.0.number, 2);
    assert_eq!(found.1.offset(), 4096 * 512);
}

#[test]
fn qcow2_disks_read_as_the_raw_disk() {
    if !have("disks", &["sfdisk", "mke2fs", "qemu-img"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_gpt_disk(dir);
    let raw = std::fs::read(dir.join("disk.img")).unwrap();
    for (name, opts, compression) in [
        ("plain.qcow2", "", ClusterCompression::Zlib),
        ("zlib.qcow2", "-c", ClusterCompression::Zlib),
        (
            "zstd.qcow2",
            "-c -o compression_type=zstd",
            ClusterCompression::Zstd,
        ),
        ("v2.qcow2", "-c -o compat=0.10", ClusterCompression::Zlib),
        (
            "small-clusters.qcow2",
            "-c -o cluster_size=4096",
            ClusterCompression::Zlib,
        ),
    ] {
        sh(
            dir,
            &format!("qemu-img convert -f raw -O qcow2 {opts} disk.img {name}"),
        );
        let info: serde_json::Value =
            serde_json::from_str(&sh(dir, &format!("qemu-img info --output=json {name}"))).unwrap();
        let q = Qcow2::open(std::fs::File::open(dir.join(name)).unwrap()).unwrap();
        assert_eq!(q.len(), info["virtual-size"].as_u64().unwrap(), "{name}");
        assert_eq!(
            q.cluster_size(),
            info["cluster-size"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(q.compression(), compression, "{name}");
        assert_eq!(
            q.version(),
            if name == "v2.qcow2" { 2 } else { 3 },
            "{name}"
        );
        assert!(
            read_all(&q) == raw,
            "{name}: content differs from the raw disk"
        );
        let (format, disk) = open_disk(&dir.join(name), &SpoolConfig::default()).unwrap();
        assert_eq!(format, DiskFormat::Qcow2);
        let (kind, parts) = read_partitions(&*disk).unwrap();
        assert_eq!((kind, parts.len()), (TableKind::Gpt, 2), "{name}");
    }
}

#[test]
fn qcow2_refusals_and_damage() {
    if !have("disks", &["qemu-img", "truncate"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sh(
        dir,
        "truncate -s 4M base.img && printf 'data' | dd of=base.img bs=1 seek=3000000 conv=notrunc 2>/dev/null
         qemu-img convert -f raw -O qcow2 base.img base.qcow2
         qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
         qemu-img create -q -f qcow2 --object secret,id=s0,data=pw -o encrypt.format=luks,encrypt.key-secret=s0 enc.qcow2 1M
         cp base.qcow2 cut.qcow2 && truncate -s 196608 cut.qcow2
         cp base.qcow2 cut-l2.qcow2 && truncate -s 262144 cut-l2.qcow2",
    );
    let open = |n: &str| Qcow2::open(std::fs::File::open(dir.join(n)).unwrap());
    let e = open("overlay.qcow2").err().unwrap();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                what: "qcow2 backing file",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("base.qcow2"), "{e}");
    let e = open("enc.qcow2").err().unwrap();
    assert!(
        matches!(
            e,
            Error::Unsupported {
                what: "qcow2 encryption",
                ..
            }
        ),
        "{e}"
    );
    // Tables cut off: the error names the table and its offset.
    let e = open("cut.qcow2").err().unwrap().to_string();
    assert_eq!(e, "corrupt qcow2 L1 table at offset 196608: truncated: need 8 bytes, the source ends at 196608");
    let q = open("cut-l2.qcow2").unwrap();
    let mut buf = [0u8; 4];
    let e = q
        .read_exact_at(3_000_000, &mut buf, "disk")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("corrupt qcow2 L2 table at offset 262144"), "{e}");
}

#[test]
fn xz_images_through_the_index_or_a_spool() {
    if !have("disks", &["xz", "head", "truncate"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sh(
        dir,
        "head -c 3000000 /dev/urandom > disk.img && truncate -s 6M disk.img
         xz -T2 -0 --block-size=1MiB -k -c disk.img > blocks.img.xz
         xz -T1 -0 -k -c disk.img > one.img.xz
         xz -0 -k -c disk.img | cat - one.img.xz > two-streams.img.xz",
    );
    let raw = std::fs::read(dir.join("disk.img")).unwrap();
    let cfg = SpoolConfig {
        dir: dir.to_owned(),
        ..SpoolConfig::default()
    };
    let x = XzIndexed::new(
        Arc::new(std::fs::File::open(dir.join("blocks.img.xz")).unwrap()),
        1 << 20,
    )
    .unwrap();
    assert_eq!(x.blocks(), 6);
    assert!(read_all(&x) == raw);
    // Backwards, across block edges.
    let mut buf = vec![0u8; 100_000];
    for off in [5_000_000u64, 2_097_100, 10] {
        x.read_exact_at(off, &mut buf, "xz").unwrap();
        assert!(buf[..] == raw[off as usize..off as usize + buf.len()]);
    }
    let (format, d) = open_disk(&dir.join("blocks.img.xz"), &cfg).unwrap();
    assert_eq!(format, DiskFormat::Xz);
    assert!(read_all(&*d) == raw);
    // One 6 MiB block: over a 1 MiB bound it goes through a temporary file.
    assert!(matches!(
        XzIndexed::new(
            Arc::new(std::fs::File::open(dir.join("one.img.xz")).unwrap()),
            1 << 20
        ),
        Err(Error::Unsupported { .. })
    ));
    let spooled = open_xz_with(&dir.join("one.img.xz"), &cfg, 1 << 20).unwrap();
    assert!(read_all(&*spooled) == raw);
    let two = open_xz_with(&dir.join("two-streams.img.xz"), &cfg, 1 << 20).unwrap();
    assert_eq!(two.len(), 2 * raw.len() as u64);
    // Not enough free space (a reserve larger than any disk) is refused before writing.
    let greedy = SpoolConfig {
        dir: dir.to_owned(),
        reserve: u64::MAX / 4,
        ..SpoolConfig::default()
    };
    let e = open_xz_with(&dir.join("one.img.xz"), &greedy, 1 << 20)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("free space"), "{e}");
    // A damaged block fails its check.
    sh(dir, "cp blocks.img.xz bad.img.xz && printf 'XXXXXXXX' | dd of=bad.img.xz bs=1 seek=500000 conv=notrunc 2>/dev/null");
    let bad = XzIndexed::new(
        Arc::new(std::fs::File::open(dir.join("bad.img.xz")).unwrap()),
        1 << 20,
    )
    .unwrap();
    let e = bad
        .read_exact_at(0, &mut vec![0u8; raw.len()], "disk")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("xz block at offset"), "{e}");
}
