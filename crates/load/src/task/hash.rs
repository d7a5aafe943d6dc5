//! The derived hashes of task rows (original-system §4.7).

use altrepodb_rpm::mmhash;

/// ClickHouse `IntHash64Impl::apply`: `intHash64(x ^ 0x4CF2D2BAAE6DA887)` (MurmurHash3's
/// 64-bit finaliser), used when hashing arrays.
fn int_hash64(x: u64) -> u64 {
    let mut x = x ^ 0x4cf2_d2ba_ae6d_a887;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// ClickHouse `murmurHash3_64(arr)` for an `Array(UInt64)`: the length hashed with
/// `intHash64`, then each element's `murmurHash3_64` of its 8 little-endian bytes folded in
/// with `intHash64(h) ^ e`. Equals the MATERIALIZED `TaskChroots.tch_hash` (checked against
/// the server by the tests), so no `SELECT` round trip is needed.
pub fn array_hash(values: &[u64]) -> u64 {
    values.iter().fold(int_hash64(values.len() as u64), |h, v| {
        int_hash64(h) ^ mmhash(&v.to_le_bytes())
    })
}

/// `titer_chroot_base` / `titer_chroot_br`: 0 for an empty chroot, else [`array_hash`].
pub fn chroot_hash(members: &[u64]) -> u64 {
    if members.is_empty() {
        0
    } else {
        array_hash(members)
    }
}

/// Plan hash of one arch: `mmhash(task_id ‖ try ‖ iter ‖ arch)` (decimal, no separators).
pub fn plan_hash(task_id: u32, task_try: u16, task_iter: u8, arch: &str) -> u64 {
    mmhash(format!("{task_id}{task_try}{task_iter}{arch}").as_bytes())
}

/// Hash string of a build (`"build"`) or srpm (`"srpm"`) log:
/// `kind ‖ task_id ‖ subtask ‖ try ‖ iter ‖ arch`.
pub fn build_log_key(
    kind: &str,
    task_id: u32,
    subtask: u32,
    task_try: u16,
    task_iter: u8,
    arch: &str,
) -> String {
    format!("{kind}{task_id}{subtask}{task_try}{task_iter}{arch}")
}

/// Hash string of `logs/events.<a>.<b>.log`: `"events" ‖ task_id ‖ a ‖ b` (the second and
/// third dot-separated parts of the file name, as the original takes them).
pub fn events_log_key(task_id: u32, file_name: &str) -> String {
    let mut parts = file_name.split('.');
    let (_, a, b) = (
        parts.next(),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    format!("events{task_id}{a}{b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_hash_matches_clickhouse() {
        // SELECT murmurHash3_64([1,2,3]::Array(UInt64)), murmurHash3_64([]::Array(UInt64)),
        //        murmurHash3_64([5]::Array(UInt64))  -- ClickHouse 26.9
        assert_eq!(array_hash(&[1, 2, 3]), 11179080114391065198);
        assert_eq!(array_hash(&[]), 4761183170873013810);
        assert_eq!(array_hash(&[5]), 8273619761663223246);
        assert_eq!(chroot_hash(&[]), 0);
    }

    #[test]
    fn key_strings() {
        assert_eq!(
            build_log_key("build", 350000, 100, 2, 1, "x86_64"),
            "build35000010021x86_64"
        );
        assert_eq!(events_log_key(350000, "events.2.1.log"), "events35000021");
        assert_eq!(plan_hash(1, 2, 3, "src"), mmhash(b"123src"));
    }
}
