"""Output formats: content types and header lengths."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403
from .policy import *  # noqa: F401,F403


# Output formats

_HEADER_FORMATS = {}
for _f in ("RowBinaryWithNames",):
    _HEADER_FORMATS[_f.lower()] = ("rb", 1)
for _f in ("RowBinaryWithNamesAndTypes",):
    _HEADER_FORMATS[_f.lower()] = ("rb", 2)
for _base in ("TSV", "TabSeparated", "TSVRaw", "TabSeparatedRaw", "JSONCompactEachRow",
              "JSONCompactStringsEachRow"):
    _HEADER_FORMATS[(_base + "WithNames").lower()] = ("lines", 1)
    _HEADER_FORMATS[(_base + "WithNamesAndTypes").lower()] = ("lines", 2)
_HEADER_FORMATS["csvwithnames"] = ("csv", 1)
_HEADER_FORMATS["csvwithnamesandtypes"] = ("csv", 2)

# Formats whose streamed chunks can simply be concatenated.
_PLAIN_STREAM_FORMATS = {
    f.lower() for f in (
        "RowBinary", "TSV", "TabSeparated", "TSVRaw", "TabSeparatedRaw", "Raw", "CSV",
        "JSONEachRow", "JSONLines", "NDJSON", "JSONStringsEachRow", "JSONCompactEachRow",
        "JSONCompactStringsEachRow", "Native", "LineAsString",
    )
}

_BINARY_FORMATS = {
    f.lower() for f in (
        "RowBinary", "RowBinaryWithNames", "RowBinaryWithNamesAndTypes", "RowBinaryWithDefaults",
        "Native", "Parquet", "Arrow", "ArrowStream", "ORC", "Avro", "AvroConfluent", "Protobuf",
        "ProtobufSingle", "ProtobufList", "MsgPack", "CapnProto", "BSONEachRow", "Npy", "RawBLOB",
    )
}


def content_type(fmt):
    f = fmt.lower()
    if f in _BINARY_FORMATS:
        return "application/octet-stream"
    if f.startswith(("json", "ndjson")):
        return "application/json; charset=UTF-8"
    if f.startswith("csv"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "withnames" in f else "absent")
    if f.startswith(("tsv", "tabseparated")):
        return "text/tab-separated-values; charset=UTF-8"
    if f == "xml":
        return "application/xml; charset=UTF-8"
    return "text/plain; charset=UTF-8"


def _read_varuint(buf, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def header_length(kind, rows, data):
    """Length of the names/types header at the start of a streamed chunk, or None."""
    try:
        if kind == "rb":
            count, pos = _read_varuint(data, 0)
            for _ in range(count * rows):
                size, pos = _read_varuint(data, pos)
                pos += size
            return pos if pos <= len(data) else None
        pos = 0
        for _ in range(rows):
            if kind == "csv":
                quoted = False
                while pos < len(data):
                    ch = data[pos]
                    if ch == 0x22:
                        quoted = not quoted
                    elif ch == 0x0A and not quoted:
                        break
                    pos += 1
            else:
                pos = data.index(b"\n", pos)
            if pos >= len(data):
                return None
            pos += 1
        return pos
    except ValueError:
        return None
