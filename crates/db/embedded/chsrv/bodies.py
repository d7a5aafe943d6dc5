"""Request bodies: chunked transfer, content and native decompression, spooling, multipart."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403
from .policy import *  # noqa: F401,F403
from .formats import *  # noqa: F401,F403


# Request bodies


class RawBody:
    """The request body after transfer decoding (Content-Length or chunked)."""

    def __init__(self, rfile, length, chunked):
        self.rfile = rfile
        self.chunked = chunked
        self.remaining = length
        self.chunk_left = 0
        self.done = not chunked and length <= 0
        self.broken = False

    def _fail(self, what):
        self.broken = True
        self.done = True
        raise CHError(code_of("CANNOT_READ_ALL_DATA", 33), "Cannot read all data: %s" % what)

    def read_chunk(self, limit=IO_CHUNK):
        if self.done:
            return b""
        if not self.chunked:
            data = self.rfile.read(min(limit, self.remaining))
            if not data:
                self._fail("the client closed the connection %d bytes before the end of the body"
                           % self.remaining)
            self.remaining -= len(data)
            if self.remaining == 0:
                self.done = True
            return data
        if self.chunk_left == 0:
            line = self.rfile.readline(4096)
            if not line.endswith(b"\n"):
                self._fail("unexpected end of the chunked body")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._fail("bad chunk size line %r" % line[:40])
            if size < 0:
                self._fail("bad chunk size")
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = self.rfile.readline(65536)
                    if not trailer:
                        self._fail("unexpected end of the chunked body")
                    if trailer in (b"\r\n", b"\n"):
                        break
                self.done = True
                return b""
            self.chunk_left = size
        want = min(limit, self.chunk_left)
        data = self.rfile.read(want)
        if len(data) < want:
            self._fail("unexpected end of a body chunk")
        self.chunk_left -= want
        if self.chunk_left == 0:
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                self._fail("missing CRLF after a body chunk")
        return data

    def chunks(self):
        while True:
            data = self.read_chunk()
            if not data:
                return
            yield data

    def drain(self):
        """Consume the rest so the connection can carry the next request; False if it cannot."""
        try:
            while not self.done:
                self.read_chunk()
        except (CHError, OSError):
            self.broken = True
        return not self.broken


def content_decoded(chunks, encoding):
    """Undo a request Content-Encoding (gzip/deflate/lz4/zstd), streaming."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity", "none"):
        yield from chunks
        return
    if enc in ("gzip", "x-gzip", "deflate"):
        dec = zlib.decompressobj(47)
        feed, tail = dec.decompress, dec.flush
    elif enc == "lz4":
        dec = chconfig.lz4_frame.LZ4FrameDecompressor()
        feed, tail = dec.decompress, (lambda: b"")
    elif enc == "zstd" and chconfig.zstandard is not None:
        dec = chconfig.zstandard.ZstdDecompressor().decompressobj()
        feed, tail = dec.decompress, (lambda: b"")
    else:
        raise CHError(code_of("UNKNOWN_COMPRESSION_METHOD", 89),
                      "Unknown HTTP Content-Encoding of the request body: '%s'" % encoding)
    try:
        for chunk in chunks:
            out = feed(chunk)
            if out:
                yield out
        out = tail()
        if out:
            yield out
    except CHError:
        raise
    except Exception as exc:  # corrupt compressed body
        raise CHError(code_of("CANNOT_DECOMPRESS", 271),
                      "Cannot decompress the request body (%s): %s" % (enc, exc)) from None


def _checksum(block):
    # On the wire: the first 64-bit half of CityHash128 v1.0.2, then the second, each
    # little-endian; the Python binding returns them as one int with the halves the other way.
    h = chconfig.CityHash128(block)
    return (h >> 64).to_bytes(8, "little") + (h & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")


def native_decompressed(chunks, verify=True):
    """Decode ClickHouse native compressed blocks (decompress=1): 16-byte CityHash128 checksum,
    method byte, u32 compressed size (with the 9-byte header), u32 uncompressed size, payload."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        pos = 0
        while len(buf) - pos >= 25:
            method = buf[pos + 16]
            csize = int.from_bytes(buf[pos + 17:pos + 21], "little")
            usize = int.from_bytes(buf[pos + 21:pos + 25], "little")
            if csize < 9 or csize > (1 << 30) or usize > (1 << 30):
                raise CHError(code_of("TOO_LARGE_SIZE_COMPRESSED", 120),
                              "Too large size_compressed_without_checksum: %d. Most likely "
                              "the data was not compressed with ClickHouse's native framing" % csize)
            total = 16 + csize
            if len(buf) - pos < total:
                break
            block = bytes(buf[pos:pos + total])
            pos += total
            if verify:
                actual = _checksum(block[16:])
                if actual != block[:16]:
                    raise CHError(
                        code_of("CHECKSUM_DOESNT_MATCH", 40),
                        "Checksum doesn't match: corrupted data. Reference: %s. Actual: %s. "
                        "Size of compressed block: %d" % (
                            _hex128(block[:16]), _hex128(actual), csize))
            yield _decompress_block(method, block[25:], usize)
        if pos:
            del buf[:pos]
    if buf:
        raise CHError(code_of("CANNOT_READ_ALL_DATA", 33),
                      "Cannot read all data: the body ends inside a compressed block "
                      "(%d bytes left over)" % len(buf))


def _hex128(raw):
    return "0x%016x%016x" % (int.from_bytes(raw[8:], "little"), int.from_bytes(raw[:8], "little"))


def _decompress_block(method, payload, usize):
    try:
        if method == 0x82:
            return chconfig.lz4_block.decompress(payload, uncompressed_size=usize)
        if method == 0x02:
            if len(payload) != usize:
                raise ValueError("size mismatch in an uncompressed block")
            return payload
        if method == 0x90:
            if chconfig.zstandard is None:
                raise CHError(code_of("UNKNOWN_COMPRESSION_METHOD", 89),
                              "ZSTD-compressed blocks need the Python module zstandard, which "
                              "is not installed for the embedded server")
            return chconfig.zstandard.ZstdDecompressor().decompress(payload, max_output_size=usize)
    except CHError:
        raise
    except Exception as exc:
        raise CHError(code_of("CANNOT_DECOMPRESS", 271),
                      "Cannot decompress a block (method 0x%02x): %s" % (method, exc)) from None
    raise CHError(code_of("UNKNOWN_COMPRESSION_METHOD", 89),
                  "Unknown compression method: 0x%02x" % method)


def native_compressed(data):
    """ClickHouse native LZ4 blocks, for compress=1 responses."""
    view = memoryview(data)
    for off in range(0, len(view), NATIVE_BLOCK):
        raw = bytes(view[off:off + NATIVE_BLOCK])
        payload = chconfig.lz4_block.compress(raw, store_size=False)
        header = bytes([0x82]) + (9 + len(payload)).to_bytes(4, "little") + len(raw).to_bytes(4, "little")
        yield _checksum(header + payload) + header + payload


class Spool:
    """Bytes kept in memory up to SPOOL_MEMORY, then in a temporary file."""

    def __init__(self):
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, prefix="chserver-")
        self.size = 0

    def write(self, data):
        if data:
            self.file.write(data)
            self.size += len(data)

    def chunks(self, size=IO_CHUNK * 4):
        self.file.seek(0)
        while True:
            data = self.file.read(size)
            if not data:
                return
            yield data

    def close(self):
        self.file.close()


def parse_multipart(body, content_type_value):
    m = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type_value)
    if not m:
        raise CHError(code_of("BAD_ARGUMENTS", 36), "multipart/form-data without a boundary")
    delim = b"--" + (m.group(1) or m.group(2)).encode("latin-1")
    fields = {}
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        elif part.startswith(b"\n"):
            part = part[1:]
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = part.partition(b"\n\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        disp = re.search(rb'(?im)^content-disposition:.*?\bname="([^"]*)"', head)
        if not disp:
            continue
        if re.search(rb'(?im)^content-disposition:.*?\bfilename=', head):
            raise CHError(code_of("NOT_IMPLEMENTED", 48),
                          "External tables (multipart file fields) are not supported by the "
                          "embedded server")
        fields[disp.group(1).decode("utf-8", "replace")] = content
    return fields


def sql_literal(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_ident(name):
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
