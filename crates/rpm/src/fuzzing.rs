//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the regression test that
//! replays `fuzz/corpus-regressions/` in a normal `cargo test`. Not a stable API.
//!
//! Properties checked besides "no panic": every error names an offset inside the input, and
//! a header that parses gives the same entries as a bare blob and as a record.

use crate::header::Header;
use crate::meta::{self, DepKind, PackageMeta};
use crate::package::{read_package_bytes, Package};
use crate::tags::{Tag, TagKind};
use crate::{apt_headers, Error};

fn check_err(e: &Error, len: usize) {
    assert!(
        e.offset() <= len as u64,
        "error offset {} past input length {len}: {e}",
        e.offset()
    );
    // Display must not panic either.
    let _ = e.to_string();
}

/// Calls every accessor on every entry, and every derived view.
fn exercise<T: TagKind>(h: &Header<'_, T>, len: usize) {
    for e in h.entries() {
        let t = e.tag();
        for r in [
            h.string(t).map(drop),
            h.string_array(t).map(|a| a.for_each(drop)),
            h.u32(t).map(drop),
            h.u32_array(t).map(|a| a.for_each(drop)),
            h.u64(t).map(drop),
            h.u64_array(t).map(|a| a.for_each(drop)),
            h.bin(t).map(drop),
            h.text(t).map(drop),
            h.text_array(t).map(drop),
        ] {
            if let Err(e) = r {
                check_err(&e, len);
            }
        }
    }
    let _ = format!("{h:?}");
}

fn exercise_main(h: &Header<'_, Tag>, len: usize) {
    exercise(h, len);
    let results = [
        h.file_names().map(drop),
        h.file_classes().map(drop),
        h.file_count().map(drop),
        h.pkg_hash().map(drop),
        h.is_source().map(drop),
        meta::files(h).map(drop),
        meta::changelog(h).map(drop),
        PackageMeta::from_header(h).map(drop),
    ];
    for r in results {
        if let Err(e) = r {
            check_err(&e, len);
        }
    }
    for k in DepKind::ALL {
        if let Err(e) = meta::dependencies(h, k) {
            check_err(&e, len);
        }
    }
}

/// Fuzz target `header`: the input as a bare blob, as a record, and as an APT list.
pub fn header(data: &[u8]) {
    match Header::from_blob(data) {
        Ok(h) => {
            assert!(h.record_len() <= data.len());
            exercise_main(&h, data.len());
        }
        Err(e) => check_err(&e, data.len()),
    }
    match Header::from_record(data) {
        Ok(h) => {
            exercise_main(&h, data.len());
            // The same bytes without the magic are the same header.
            if let Some(blob) = data.get(8..) {
                match Header::from_blob(blob) {
                    Ok(b) => assert_eq!(b.len(), h.len()),
                    Err(e) => panic!("record parses but its blob does not: {e}"),
                }
            }
        }
        Err(e) => check_err(&e, data.len()),
    }
    match Header::signature_from_record(data) {
        Ok(h) => exercise(&h, data.len()),
        Err(e) => check_err(&e, data.len()),
    }
    let mut n = 0usize;
    for r in apt_headers(data) {
        match r {
            Ok(h) => exercise_main(&h, data.len()),
            Err(e) => check_err(&e, data.len()),
        }
        n += 1;
        assert!(n <= data.len() / 16 + 1, "APT iterator does not advance");
    }
    // Text decoding of arbitrary bytes.
    let _ = crate::text(data);
    let _ = meta::parse_packager(&crate::text(data));
}

/// Fuzz target `package`: the input as a `.rpm` file, from a buffer and from a stream.
pub fn package(data: &[u8]) {
    let parsed = Package::parse(data);
    match &parsed {
        Ok(p) => {
            exercise(p.signature(), data.len());
            exercise_main(p.main_header(), data.len());
            exercise_main(p.header(), data.len());
            assert!(p.payload_offset() <= data.len() as u64);
            let _ = p.main_header_bytes();
            let _ = p.signature_bytes();
        }
        Err(e) => check_err(e, data.len()),
    }
    match read_package_bytes(&mut &data[..]) {
        Ok(bytes) => {
            assert!(data.starts_with(&bytes));
            // The stream reader only sizes the records; entry checks happen in parse.
            let again = Package::parse(&bytes);
            assert_eq!(again.is_ok(), parsed.is_ok(), "{:?}", again.err());
            if let Ok(p) = &parsed {
                assert_eq!(bytes.len() as u64, p.payload_offset());
            }
        }
        Err(e) => {
            check_err(&e, data.len());
            assert!(parsed.is_err(), "parse succeeds but stream read fails: {e}");
        }
    }
}
