//! An LZO1X decompressor (the stream `lzo1x_999` writes, as squashfs stores with `-comp lzo`).
//!
//! Written from the format description in the Linux kernel's `Documentation/staging/lzo.rst`.
//! Every read and back-reference is bounds-checked; the output never grows past `max_out`.

use super::compress::BlockError;

/// Decompresses `input` into at most `max_out` bytes; `Err` names what is wrong and where.
pub(crate) fn decompress(input: &[u8], max_out: usize) -> Result<Vec<u8>, BlockError> {
    let mut d = Lzo {
        input,
        ip: 0,
        out: Vec::with_capacity(max_out.min(1 << 20)),
        max_out,
    };
    d.run()?;
    Ok(d.out)
}

struct Lzo<'a> {
    input: &'a [u8],
    ip: usize,
    out: Vec<u8>,
    max_out: usize,
}

impl Lzo<'_> {
    fn byte(&mut self) -> Result<usize, BlockError> {
        let b = *self
            .input
            .get(self.ip)
            .ok_or_else(|| BlockError::Lzo(format!("lzo input ends at byte {}", self.ip)))?;
        self.ip += 1;
        Ok(usize::from(b))
    }

    fn le16(&mut self) -> Result<usize, BlockError> {
        let lo = self.byte()?;
        Ok(lo | (self.byte()? << 8))
    }

    /// A length continued in zero bytes (255 each) and a final non-zero byte.
    fn long_length(&mut self, base: usize) -> Result<usize, BlockError> {
        let mut zeros = 0usize;
        while self.input.get(self.ip) == Some(&0) {
            self.ip += 1;
            zeros += 1;
        }
        let last = self.byte()?;
        zeros
            .checked_mul(255)
            .and_then(|z| z.checked_add(base + last))
            .filter(|&n| n <= self.max_out)
            .ok_or_else(|| BlockError::Lzo(format!("lzo length too long at byte {}", self.ip)))
    }

    fn literals(&mut self, n: usize) -> Result<(), BlockError> {
        let end = self.ip + n;
        if end > self.input.len() {
            return Err(BlockError::Lzo(format!(
                "lzo literal run of {n} bytes passes the input end at byte {}",
                self.ip
            )));
        }
        if self.out.len() + n > self.max_out {
            return Err(BlockError::Lzo(format!(
                "lzo output exceeds {} bytes",
                self.max_out
            )));
        }
        self.out.extend_from_slice(&self.input[self.ip..end]);
        self.ip = end;
        Ok(())
    }

    fn copy_match(&mut self, distance: usize, len: usize) -> Result<(), BlockError> {
        if distance == 0 || distance > self.out.len() {
            return Err(BlockError::Lzo(format!(
                "lzo back-reference {distance} before the output start at byte {}",
                self.ip
            )));
        }
        if self.out.len() + len > self.max_out {
            return Err(BlockError::Lzo(format!(
                "lzo output exceeds {} bytes",
                self.max_out
            )));
        }
        let start = self.out.len() - distance;
        // Overlapping copies repeat the pattern, so go byte by byte.
        for i in 0..len {
            let b = self.out[start + i];
            self.out.push(b);
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), BlockError> {
        // Literals the last instruction copied: 0, 1..3, or 4 for "four or more".
        let mut state = 0usize;
        if let Some(&first) = self.input.first() {
            if first > 17 {
                self.ip = 1;
                let n = usize::from(first) - 17;
                self.literals(n)?;
                state = n.min(4);
            }
        }
        loop {
            let t = self.byte()?;
            let (distance, len, next) = if t < 16 {
                if state == 0 {
                    let n = if t == 0 { self.long_length(15)? } else { t };
                    self.literals(n + 3)?;
                    state = 4;
                    continue;
                }
                let h = self.byte()?;
                if state < 4 {
                    ((h << 2) + (t >> 2) + 1, 2, t & 3)
                } else {
                    ((h << 2) + (t >> 2) + 2049, 3, t & 3)
                }
            } else if t >= 64 {
                let h = self.byte()?;
                ((h << 3) + ((t >> 2) & 7) + 1, (t >> 5) + 1, t & 3)
            } else if t >= 32 {
                let l = t & 31;
                let len = if l == 0 { self.long_length(31)? } else { l } + 2;
                let v = self.le16()?;
                ((v >> 2) + 1, len, v & 3)
            } else {
                let l = t & 7;
                let len = if l == 0 { self.long_length(7)? } else { l } + 2;
                let v = self.le16()?;
                let d = ((t & 8) << 11) + (v >> 2);
                if d == 0 {
                    // The end marker: a far match of distance 16384.
                    if self.ip != self.input.len() {
                        return Err(BlockError::Lzo(format!(
                            "lzo end marker at byte {} before the input's end ({})",
                            self.ip,
                            self.input.len()
                        )));
                    }
                    return Ok(());
                }
                (d + 0x4000, len, v & 3)
            };
            self.copy_match(distance, len)?;
            self.literals(next)?;
            state = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn literal_only_stream() {
        // first byte 17+5: five literals, then the end marker 0x11 0x00 0x00.
        let input = [22, b'h', b'e', b'l', b'l', b'o', 0x11, 0, 0];
        assert_eq!(decompress(&input, 100).unwrap(), b"hello");
    }

    #[test]
    fn errors_not_panics() {
        assert!(decompress(&[], 10).is_err());
        assert!(decompress(&[22, 1, 2], 10).is_err());
        // A match before any output.
        assert!(decompress(&[0x40, 0x00], 10).is_err());
        // Output bound.
        assert!(decompress(&[22, 1, 2, 3, 4, 5, 0x11, 0, 0], 3).is_err());
    }
}
