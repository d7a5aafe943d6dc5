#!/usr/bin/env python3
"""Embedded ClickHouse for ALTRepo DB: the ClickHouse HTTP interface over one chDB session.

chDB (PyPI ``chdb-core``) is the real ClickHouse engine running in-process. This server puts the
subset of the ClickHouse HTTP protocol that clients such as the official Rust ``clickhouse`` crate
use in front of a single chDB session, so the rest of the project talks to it exactly as it would
talk to a ClickHouse server.

Usage::

    python chserver.py --data DIR [--host 127.0.0.1] [--port N] [--port-file FILE]
                       [--idle-exit SECONDS] [--user name:pw ...] [--log FILE]
                       [--password-stdin | --password-file FILE]

The password is that of user `default`; without one (and without --user) the server refuses any
address other than loopback. Host files and other hosts are out of reach of queries: see "Host
access policy" below.

Design notes (the why; the facts live in shared/spec/clickhouse-embedded.md):

* One chDB session, one global lock: chDB runs one statement at a time per session, so every
  statement is serialised. Everything that does not need the engine (HTTP parsing, body
  decompression, spooling, response compression, sending) happens outside the lock, so a slow
  client never holds up the others and ``/ping`` always answers.
* Request bodies are received (and spooled) completely before an INSERT starts; results are
  produced completely before the first byte is sent. That way every error gets a proper status
  code and a client that keeps an INSERT open (the crate's Inserter) cannot block other requests.
* URL settings, the ``database`` parameter, and ``SET``/``USE`` sent as SQL apply to one request
  only, as in ClickHouse without HTTP sessions: they are reset after the request.

Only the Python standard library plus chdb, lz4 and clickhouse_cityhash are used (zstandard is
optional, for ZSTD-compressed insert blocks).
"""

import argparse
import base64
import hmac
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

PROCESS_START = time.monotonic()

# Force UTC unless the caller chose a zone: DateTime rendering and X-ClickHouse-Timezone follow
# the process timezone, and tests must not depend on the host's.
if not os.environ.get("TZ"):
    os.environ["TZ"] = "UTC"
    if hasattr(time, "tzset"):
        time.tzset()

log = logging.getLogger("chserver")

# Filled in main() once the optional modules are imported (keeps `--help` fast and lets the
# import failure be reported clearly).
chdb_session = None
lz4_block = None
lz4_frame = None
CityHash128 = None
zstandard = None

VERSION = "26.9.2.1"  # replaced by the engine's own version() at start-up
TIMEZONE = "UTC"
DISPLAY_NAME = socket.gethostname() or "localhost"

KEEPALIVE_TIMEOUT = 30  # seconds an idle keep-alive connection is kept (ClickHouse's default)
RECEIVE_TIMEOUT = 300  # seconds without a byte from the client while a request is in progress
MAX_REQUEST_LINE = 1 << 20  # ClickHouse accepts URIs up to 1 MiB (http_max_uri_size)
MAX_QUERY_BYTES = 128 << 20  # cap for SQL text that must be held in memory
MAX_INSERT_HEAD = 1 << 20  # how far into a body we look for "INSERT ... FORMAT x"
MAX_MULTIPART_BYTES = 256 << 20
SPOOL_MEMORY = 64 << 20  # spooled bodies/results beyond this go to a temporary file
IO_CHUNK = 1 << 20
NATIVE_BLOCK = 1 << 20  # uncompressed size of compress=1 response blocks (max_compress_block_size)

# Settings whose chDB default differs from a ClickHouse server's: "reset" means back to these.
BASELINE_SETTINGS = {"async_insert": "0"}

# URL parameters that are part of the HTTP interface, not settings: never passed to SET.
HTTP_ONLY_PARAMS = {
    "query", "database", "default_format", "user", "password", "quota_key",
    "decompress", "compress", "query_id", "session_id", "session_timeout", "session_check",
    "role", "enable_http_compression", "http_zlib_compression_level", "wait_end_of_query",
    "buffer_size", "http_response_buffer_size", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "http_wait_end_of_query", "client_protocol_version",
    "cancel_http_readonly_queries_on_client_close", "add_http_cors_header", "readonly",
    "http_native_compression_disable_checksumming_on_decompress", "stacktrace",
    "http_write_exception_in_output_format", "http_response_headers", "max_query_size_http",
}

READ_KINDS = {"SELECT", "WITH", "SHOW", "DESC", "DESCRIBE", "EXISTS", "EXPLAIN", "USE", "SET"}

# Fallback names for the codes this server raises itself (the engine's full table replaces it).
ERROR_NAMES = {
    1: "UNSUPPORTED_METHOD", 27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    33: "CANNOT_READ_ALL_DATA", 36: "BAD_ARGUMENTS", 40: "CHECKSUM_DOESNT_MATCH",
    48: "NOT_IMPLEMENTED", 60: "UNKNOWN_TABLE", 62: "SYNTAX_ERROR", 81: "UNKNOWN_DATABASE",
    89: "UNKNOWN_COMPRESSION_METHOD", 115: "UNKNOWN_SETTING", 164: "READONLY",
    194: "REQUIRED_PASSWORD", 209: "SOCKET_TIMEOUT", 236: "ABORTED",
    271: "CANNOT_DECOMPRESS", 497: "ACCESS_DENIED", 516: "AUTHENTICATION_FAILED",
    1000: "POCO_EXCEPTION", 1001: "STD_EXCEPTION",
}

# ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by name.
_STATUS_BY_NAME = {
    401: ["REQUIRED_PASSWORD"],
    403: ["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE",
          "ACCESS_DENIED"],
    400: ["BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
          "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
          "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
          "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
          "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
          "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
          "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
          "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"],
    404: ["UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
          "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING",
          "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
          "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"],
    413: ["QUERY_IS_TOO_LARGE"],
    501: ["NOT_IMPLEMENTED"],
    503: ["SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"],
    411: ["HTTP_LENGTH_REQUIRED"],
    408: ["TIMEOUT_EXCEEDED"],
    415: ["UNSUPPORTED_MEDIA_TYPE"],
}
STATUS_BY_NAME = {name: status for status, names in _STATUS_BY_NAME.items() for name in names}
CODE_BY_NAME = {}


# ---------------------------------------------------------------------------------------------
# Errors


class CHError(Exception):
    """A ClickHouse-style exception: numeric code plus the full message text sent to clients."""

    def __init__(self, code, message, full=None):
        super().__init__(message)
        self.code = code
        self.full = full if full is not None else format_exception(code, message)


def error_name(code):
    return ERROR_NAMES.get(code, "UNKNOWN_EXCEPTION")


def code_of(name, fallback):
    return CODE_BY_NAME.get(name, fallback)


def http_status(code):
    return STATUS_BY_NAME.get(ERROR_NAMES.get(code, ""), 500)


def format_exception(code, message):
    message = message.rstrip()
    if not message.endswith("."):
        message += "."
    return "Code: %d. DB::Exception: %s (%s) (version %s (official build))" % (
        code, message, error_name(code), VERSION)


_CODE_RE = re.compile(r"Code: (\d+)\. DB::Exception: ")
_VERSION_TAIL_RE = re.compile(r"\s*\(version [^()]*(?:\([^()]*\))?\)\s*$")
_NAME_TAIL_RE = re.compile(r"\(([A-Z][A-Z0-9_]*)\)$")


def from_engine_error(exc):
    """Turn a chDB exception into a CHError with ClickHouse's exact message layout.

    chDB prefixes messages on the Python side ("Streaming query failed: ...", "Failed to create
    connection: ...") and drops or shortens the "(version ...)" tail; the real code is in the
    text.
    """
    text = str(exc).strip()
    m = _CODE_RE.search(text)
    if not m:
        return CHError(1001, "%s: %s" % (type(exc).__name__, text or "unknown error"))
    code = int(m.group(1))
    body = _VERSION_TAIL_RE.sub("", text[m.start():]).rstrip()
    if not _NAME_TAIL_RE.search(body):
        if not body.endswith("."):
            body += "."
        body += " (%s)" % error_name(code)
    return CHError(code, body, "%s (version %s (official build))" % (body, VERSION))


# ---------------------------------------------------------------------------------------------
# SQL lexing: just enough to find statement kinds, FORMAT clauses and statement boundaries
# without ever looking into string literals, comments or INSERT data.

_TOKEN_RE = re.compile(
    r"""(?P<ws>\s+)
      | (?P<lc>--[^\n]*|\#[ !][^\n]*)
      | (?P<bc>/\*)
      | (?P<str>'(?:[^'\\]|\\.|'')*')
      | (?P<qid>"(?:[^"\\]|\\.|"")*"|`(?:[^`\\]|\\.|``)*`)
      | (?P<hd>\$[A-Za-z0-9_]*\$)
      | (?P<ident>[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*)
      | (?P<num>[0-9][0-9A-Za-z_.]*)
      | (?P<punct>.)""",
    re.X | re.S,
)


class Tok:
    __slots__ = ("kind", "start", "end", "text", "depth")

    def __init__(self, kind, start, end, text, depth):
        self.kind, self.start, self.end, self.text, self.depth = kind, start, end, text, depth

    def upper(self):
        return self.text.upper() if self.kind == "ident" else None


def significant_tokens(text):
    """Yield tokens other than whitespace and comments, with their bracket depth.

    An unterminated string, identifier, comment or heredoc ends the stream with one "error"
    token, which callers treat as "let the engine report it".
    """
    pos, n, depth = 0, len(text), 0
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        kind = m.lastgroup
        end = m.end()
        if kind == "ws" or kind == "lc":
            pos = end
            continue
        if kind == "bc":
            level, i = 1, end
            while level and i < n:
                if text.startswith("/*", i):
                    level, i = level + 1, i + 2
                elif text.startswith("*/", i):
                    level, i = level - 1, i + 2
                else:
                    i += 1
            if level:
                yield Tok("error", pos, n, text[pos:], depth)
                return
            pos = i
            continue
        if kind == "hd":
            tag = m.group(kind)
            close = text.find(tag, end)
            if close < 0:
                yield Tok("error", pos, n, text[pos:], depth)
                return
            end = close + len(tag)
            kind = "str"
        elif kind == "punct":
            ch = m.group(kind)
            if ch in "'\"`":
                yield Tok("error", pos, n, text[pos:], depth)
                return
            if ch in "([{":
                yield Tok(kind, pos, end, ch, depth)
                depth += 1
                pos = end
                continue
            if ch in ")]}":
                depth = max(0, depth - 1)
        yield Tok(kind, pos, end, m.group(kind) if kind != "str" else text[pos:end], depth)
        pos = end


NEED_MORE = object()


def first_keyword(text, complete):
    """The statement's first keyword upper-cased ('(' counts as SELECT), '' if the text is
    empty, or NEED_MORE when the text may be cut short and the first token is not yet whole."""
    for tok in significant_tokens(text):
        if not complete and tok.end >= len(text):
            return NEED_MORE
        if tok.kind == "ident":
            return tok.text.upper()
        if tok.text == "(":
            return "SELECT"
        return tok.text
    return "" if complete else NEED_MORE


class InsertSplit:
    __slots__ = ("head_end", "fmt", "data_start")

    def __init__(self, head_end, fmt, data_start):
        self.head_end, self.fmt, self.data_start = head_end, fmt, data_start


def split_insert(text, complete):
    """Find where an INSERT's data starts: after the top-level "FORMAT name" or "VALUES".

    Returns an InsertSplit, None when the INSERT carries no inline data (INSERT ... SELECT, or
    something the engine should judge), or NEED_MORE when the text may be cut short.
    """
    n = len(text)
    toks = significant_tokens(text)
    for tok in toks:
        if not complete and tok.end >= n:
            return NEED_MORE
        if tok.kind == "error":
            return None
        if tok.depth:
            continue
        word = tok.upper()
        if word in ("SELECT", "WITH") or tok.text == ";":
            return None
        if word == "VALUES":
            return InsertSplit(tok.start, "Values", tok.end)
        if word == "FORMAT":
            name = next(toks, None)
            if name is None:
                return None if complete else NEED_MORE
            if not complete and name.end >= n:
                return NEED_MORE
            if name.kind != "ident":
                return None
            # ClickHouse: data starts after the first newline if there is one, otherwise after
            # the whitespace that follows the format name.
            i = name.end
            while i < n and text[i] in " \t\f":
                i += 1
            if i < n and text[i] == "\r":
                i += 1
            if i < n and text[i] == "\n":
                i += 1
            elif i >= n and not complete:
                return NEED_MORE  # a newline may still follow
            return InsertSplit(tok.start, name.text, i)
    return None if complete else NEED_MORE


class Statement:
    """What the server needs to know about a (non-INSERT-with-data) statement."""

    __slots__ = ("kind", "fmt", "multi_at", "set_names", "use_db")

    def __init__(self):
        self.kind = ""
        self.fmt = None
        self.multi_at = None
        self.set_names = []
        self.use_db = False


def analyse(text):
    st = Statement()
    toks = list(significant_tokens(text))
    if not toks:
        return st
    first = toks[0]
    st.kind = first.text.upper() if first.kind == "ident" else ("SELECT" if first.text == "(" else first.text)
    end = len(toks)
    for i, tok in enumerate(toks):
        if tok.depth == 0 and tok.text == ";":
            if any(t.text != ";" for t in toks[i + 1:]):
                st.multi_at = tok.start
            end = i
            break
    body = toks[:end]
    # The output format: a top-level "FORMAT name" that ends the statement or precedes SETTINGS
    # (a column called "format" must not be mistaken for the clause).
    for i in range(len(body) - 2, -1, -1):
        tok = body[i]
        if tok.depth == 0 and tok.upper() == "FORMAT" and body[i + 1].kind == "ident":
            after = body[i + 2] if i + 2 < len(body) else None
            if after is None or after.upper() == "SETTINGS":
                st.fmt = body[i + 1].text
                break
    if st.kind == "SET":
        for i in range(1, len(body) - 1):
            tok = body[i]
            if tok.depth == 0 and tok.kind == "ident" and body[i + 1].text == "=":
                if i == 1 or body[i - 1].text == ",":
                    st.set_names.append(tok.text)
    st.use_db = st.kind == "USE"
    return st


# ---------------------------------------------------------------------------------------------
# Host access policy
#
# The engine runs in-process (ClickHouse "local" mode), where it confines nothing to
# user_files_path and runs INTO OUTFILE / FROM INFILE itself. So the server closes the host in
# layers: the engine's own access control (a users.xml whose `default` user lacks the SOURCES
# grants -- file, url, s3, hdfs, remote, mysql, ... -- and CREATE DICTIONARY, BACKUP, SYSTEM
# SHUTDOWN/RELOAD; a settings profile that turns off the Python table function and VALUES
# expressions and locks every setting that names a file or carries SQL), and, for what local
# mode leaves open, a check of the statement's tokens here: the INTO OUTFILE / FROM INFILE
# clauses, the scalar file() function (local mode reads any path with it) and dynamic disk()
# definitions, and table or database engines other than the storage engines the schema uses.

# Engine settings no client may change (profile constraints): they name host files, carry SQL
# that would escape the token check, or switch on features that reach out of the engine.
LOCKED_SETTINGS = (
    "allow_python_table_function", "input_format_values_interpret_expressions",
    "input_format_values_deduce_templates_of_expressions", "additional_table_filters",
    "additional_result_filter", "select", "filter", "order", "sort", "dialect",
    "implicit_table_at_top_level", "parallel_replicas_custom_key", "format_schema",
    "format_schema_source", "format_template_resultset", "format_template_row",
    "output_format_schema", "input_format_record_errors_file_path",
    "rename_files_after_processing", "format_avro_schema_registry_url", "url_base", "s3_base",
    "allow_experimental_eval_table_function", "allow_experimental_ai_functions",
    "allow_experimental_ytsaurus_table_function", "allow_experimental_paimon_storage_engine",
    "allow_experimental_database_paimon_rest_catalog", "dynamic_disk_allow_from_env",
    "dynamic_disk_allow_include", "dynamic_disk_allow_from_zk", "merge_tree_disk",
    "merge_tree_storage_policy", "default_table_engine", "default_temporary_table_engine",
    "into_outfile_create_parent_directories", "compatibility",
)
# Values the profile pins (everything else in LOCKED_SETTINGS keeps the engine's default).
PINNED_SETTINGS = {
    "allow_python_table_function": "0",
    "input_format_values_interpret_expressions": "0",
    "input_format_values_deduce_templates_of_expressions": "0",
}
GRANTS = (
    "GRANT ALL ON *.*",
    # file, url, s3, hdfs, remote, mysql, postgresql, sqlite, odbc, jdbc, mongo, redis, kafka,
    # azure, disk, ... as table functions, table engines and database engines
    "REVOKE SOURCES ON *.*",
    # DDL dictionaries can run commands (EXECUTABLE source) and reach hosts (HTTP, CLICKHOUSE)
    "REVOKE CREATE DICTIONARY ON *.*",
    "REVOKE BACKUP ON *.*",
    "REVOKE INTROSPECTION ON *.*",
    "REVOKE NAMED COLLECTION ADMIN ON *",
    "REVOKE SYSTEM SHUTDOWN, SYSTEM RELOAD, SYSTEM FAILPOINT, SYSTEM THREAD FUZZER, "
    "SYSTEM JEMALLOC, SYSTEM INSTRUMENT ADD, SYSTEM INSTRUMENT REMOVE, SYSTEM LISTEN ON *.*",
)
# Storage engines a client may name in ENGINE clauses (tables and databases); every other engine
# the engine knows is refused. The schema uses the MergeTree family, Buffer and Null.
ALLOWED_ENGINES = {
    "MergeTree", "ReplacingMergeTree", "SummingMergeTree", "AggregatingMergeTree",
    "CollapsingMergeTree", "VersionedCollapsingMergeTree", "CoalescingMergeTree",
    "GraphiteMergeTree", "Buffer", "Memory", "Null", "View", "MaterializedView", "Log",
    "TinyLog", "StripeLog", "Set", "Join", "Merge", "GenerateRandom", "Atomic",
}
# Function names refused wherever they are called: local mode's file() reads any host path,
# disk() defines a disk (a local path or a web/s3 endpoint) before settings constraints apply.
DENIED_CALLS = {"file", "disk"}
# Words whose presence anywhere in the raw text (even inside what our lexer takes for a string
# or comment) makes the server confirm with the engine's own parser that they are harmless.
_SUSPECT_RE = re.compile(rb"(?i)outfile|infile|file|disk|engine")


def access_denied(message):
    return CHError(code_of("ACCESS_DENIED", 497), message)


def _unquote(tok):
    if tok.kind == "qid":
        body, quote = tok.text[1:-1], tok.text[0]
        return body.replace(quote * 2, quote).replace("\\" + quote, quote)
    return tok.text if tok.kind == "ident" else None


def host_access_violation(text, known_engines):
    """Why the statement would touch the host, or None. `text` is latin-1 decoded SQL."""
    toks = [t for t in significant_tokens(text) if t.kind != "error"]
    for i, tok in enumerate(toks):
        word = tok.upper()
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if word in ("INTO", "FROM") and nxt is not None and nxt.upper() in ("OUTFILE", "INFILE"):
            return "%s %s reads or writes files of the server's host" % (word, nxt.upper())
        name = _unquote(tok)
        if name is None or nxt is None:
            continue
        if nxt.text == "(" and name.lower() in DENIED_CALLS:
            return "function %s() touches the server's host" % name
        if word == "ENGINE":
            j = i + 2 if nxt.text == "=" else i + 1
            engine = _unquote(toks[j]) if j < len(toks) else None
            if engine and engine.lower() in known_engines and engine not in ALLOWED_ENGINES:
                return "engine %s is not available on the embedded server (allowed: %s)" % (
                    engine, ", ".join(sorted(ALLOWED_ENGINES)))
    return None


def write_engine_config(rundir):
    """Writes config.xml and users.xml for the engine into `rundir`; returns config.xml."""
    from xml.sax.saxutils import escape

    empty = os.path.join(rundir, "empty")
    os.makedirs(empty, mode=0o700, exist_ok=True)
    users = os.path.join(rundir, "users.xml")
    profile = "".join("<%s>%s</%s>" % (k, escape(v), k) for k, v in PINNED_SETTINGS.items())
    constraints = "".join("<%s><readonly/></%s>" % (k, k) for k in LOCKED_SETTINGS)
    grants = "".join("<query>%s</query>" % escape(q) for q in GRANTS)
    with open(users, "w", encoding="utf-8") as fh:
        fh.write(
            "<clickhouse><profiles><default>%s<constraints>%s</constraints></default></profiles>"
            "<quotas><default/></quotas><users><default><no_password/>"
            "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile>"
            "<quota>default</quota><grants>%s</grants></default></users></clickhouse>\n"
            % (profile, constraints, grants))
    config = os.path.join(rundir, "config.xml")
    with open(config, "w", encoding="utf-8") as fh:
        # default_database: local mode makes its default database an overlay that also serves
        # host files by name (and then needs the FILE grant for every unknown table name); the
        # overlay goes to an unused name and `default` is a plain Atomic database (see
        # prepare_data_dir). Every path the engine may use for user files, scripts and format
        # schemas is an empty directory or /dev/null/, where nothing can be created.
        fh.write(
            "<clickhouse><default_database>%s</default_database>"
            "<user_files_path>%s/</user_files_path><format_schema_path>%s/</format_schema_path>"
            "<user_scripts_path>/dev/null/</user_scripts_path>"
            "<users_config>%s</users_config></clickhouse>\n"
            % (OVERLAY_DATABASE, escape(empty), escape(empty), escape(users)))
    return config


OVERLAY_DATABASE = "_local"


def prepare_data_dir(data_dir):
    """Makes `default` a plain Atomic database before the engine starts.

    Local mode attaches its default database as an overlay whose Atomic part takes its UUID from
    the symlink metadata/default. With the overlay renamed (write_engine_config), `default` is
    loaded from metadata/default.sql like any database, so that file names the same UUID (data
    of earlier versions stays where it is) and the symlink, which the Atomic database recreates
    at every start, is removed first: otherwise the overlay would claim the same UUID.
    """
    meta = os.path.join(data_dir, "metadata")
    os.makedirs(meta, exist_ok=True)
    link = os.path.join(meta, "default")
    sql = os.path.join(meta, "default.sql")
    db_uuid = None
    if os.path.islink(link):
        db_uuid = os.path.basename(os.readlink(link).rstrip("/"))
        uuid.UUID(db_uuid)  # refuse to go on with a symlink we do not understand
    if not os.path.exists(sql):
        tmp = sql + ".tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write("ATTACH DATABASE _ UUID '%s'\nENGINE = Atomic\n" % (db_uuid or uuid.uuid4()))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, sql)
    if db_uuid is not None:
        os.unlink(link)


# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
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
        dec = lz4_frame.LZ4FrameDecompressor()
        feed, tail = dec.decompress, (lambda: b"")
    elif enc == "zstd" and zstandard is not None:
        dec = zstandard.ZstdDecompressor().decompressobj()
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
    h = CityHash128(block)
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
            return lz4_block.decompress(payload, uncompressed_size=usize)
        if method == 0x02:
            if len(payload) != usize:
                raise ValueError("size mismatch in an uncompressed block")
            return payload
        if method == 0x90:
            if zstandard is None:
                raise CHError(code_of("UNKNOWN_COMPRESSION_METHOD", 89),
                              "ZSTD-compressed blocks need the Python module zstandard, which "
                              "is not installed for the embedded server")
            return zstandard.ZstdDecompressor().decompress(payload, max_output_size=usize)
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
        payload = lz4_block.compress(raw, store_size=False)
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


# ---------------------------------------------------------------------------------------------
# The engine: one chDB session behind one lock


class Result:
    __slots__ = ("body", "fmt", "summary", "timing")

    def __init__(self, body=b"", fmt=None, summary=None):
        self.body = body  # bytes or Spool
        self.fmt = fmt  # output format name, None for statements without a result
        self.summary = summary or {}
        self.timing = ""


class Plan:
    __slots__ = ("sql", "kind", "fmt", "stmt", "insert_head", "insert_fmt", "data")

    def __init__(self):
        self.sql = b""
        self.kind = ""
        self.fmt = "TabSeparated"
        self.stmt = None
        self.insert_head = None
        self.insert_fmt = None
        self.data = None  # Spool with the INSERT's data


class Engine:
    """Two chDB sessions over one data directory behind one lock.

    `sess` serves ordinary requests; `ro` was opened with readonly=2, so the engine itself refuses
    every write made through it (and a client cannot switch that off: readonly cannot be changed
    in a readonly session). Both share the tables; each has its own settings.
    """

    def __init__(self, data_dir, config):
        self.lock = threading.Lock()
        self.data_dir = data_dir
        base = "%s?config-file=%s" % (data_dir, config)
        self.sess = chdb_session.Session(base)
        self.ro = chdb_session.Session(base + "&readonly=2")
        self.known_engines = set()
        for sess in (self.sess, self.ro):
            self._set_baseline(sess, list(BASELINE_SETTINGS))

    def close(self):
        with self.lock:
            for name in ("ro", "sess"):
                sess = getattr(self, name)
                if sess is not None:
                    sess.close()
                    setattr(self, name, None)

    def scalar(self, sql):
        with self.lock:
            return self.sess.query(sql, "TabSeparatedRaw").bytes().decode("utf-8", "replace").strip()

    def check_host_access(self, text):
        """Refuses (code 497) a statement that would touch the host; `text` is bytes.

        The token check runs on the text as sent; when the raw bytes give any reason for doubt
        (a suspicious word anywhere, a backslash, a heredoc, an unterminated token), it runs again
        on the engine's own rendering of the statement (formatQuery), so escapes in quoted
        identifiers, comments and other lexing differences cannot hide anything from it.
        """
        decoded = text.decode("latin-1")
        why = host_access_violation(decoded, self.known_engines)
        if why is None and (_SUSPECT_RE.search(text) or b"\\" in text or b"$" in text):
            try:
                canonical = self.scalar("SELECT formatQuery(%s)" % sql_literal(
                    text.decode("utf-8", "surrogateescape")))
            except Exception as exc:
                raise from_engine_error(exc) from None
            why = host_access_violation(canonical, self.known_engines)
        if why is not None:
            raise access_denied("%s: not allowed on the embedded server" % why)

    def _set_baseline(self, sess, names):
        parts = []
        for name in names:
            if name in BASELINE_SETTINGS:
                parts.append("%s = %s" % (name, sql_literal(BASELINE_SETTINGS[name])))
            else:
                parts.append("%s = DEFAULT" % name)
        if not parts:
            return
        try:
            sess.query("SET " + ", ".join(parts), "TabSeparated")
        except Exception:
            for part in parts:  # one bad name must not keep the others set
                try:
                    sess.query("SET " + part, "TabSeparated")
                except Exception as exc:
                    log.debug("cannot reset setting %s: %s", part, exc)

    def run(self, plan, database, settings, params, readonly=False):
        waited = time.monotonic()
        with self.lock:
            started = time.monotonic()
            result = self._run_locked(self.ro if readonly else self.sess, plan, database, settings,
                                      params)
            result.timing = "lock wait %.1f ms, engine %.1f ms" % (
                (started - waited) * 1000, (time.monotonic() - started) * 1000)
            return result

    def _run_locked(self, sess, plan, database, settings, params):
        if sess is None:
            raise CHError(code_of("ABORTED", 236), "Server is shutting down")
        applied = []
        use_db = False
        try:
            if database:
                use_db = True
                sess.query("USE " + sql_ident(database), "TabSeparated")
            if settings:
                applied = list(settings)
                sess.query("SET " + ", ".join(
                    "%s = %s" % (k, sql_literal(v)) for k, v in settings.items()), "TabSeparated")
            if plan.insert_head is not None:
                return self._insert(sess, plan)
            stmt = plan.stmt
            if stmt.kind == "SET":
                applied.extend(stmt.set_names)
                if any(n.lower() == "readonly" for n in stmt.set_names) and sess is not self.ro:
                    # A lone SET only lasts for its own request anyway, and readonly could not be
                    # reset afterwards. In the readonly session the engine refuses it.
                    return Result()
            if stmt.use_db:
                use_db = True
            if stmt.kind in ("SELECT", "WITH"):
                return self._stream(sess, plan, params)
            return self._materialise(sess, plan, params)
        except CHError:
            raise
        except Exception as exc:
            raise from_engine_error(exc) from None
        finally:
            self._set_baseline(sess, applied)
            if use_db:
                try:
                    sess.query("USE default", "TabSeparated")
                except Exception as exc:
                    log.warning("cannot switch back to database default: %s", exc)

    def _materialise(self, sess, plan, params):
        res = sess.query(plan.sql, plan.fmt, params=params)
        body = res.bytes()
        fmt = plan.fmt if plan.stmt.kind in READ_KINDS - {"USE", "SET"} else None
        return Result(body, fmt, {
            "read_rows": res.storage_rows_read(), "read_bytes": res.storage_bytes_read(),
            "written_rows": res.rows_written(), "written_bytes": res.bytes_written(),
            "result_rows": res.rows_read() if fmt else 0, "result_bytes": len(body),
            "elapsed_ns": int(res.elapsed() * 1e9),
        })

    def _stream(self, sess, plan, params):
        fmt_l = plan.fmt.lower()
        header_kind = _HEADER_FORMATS.get(fmt_l)
        if header_kind is None and fmt_l not in _PLAIN_STREAM_FORMATS:
            return self._materialise(sess, plan, params)
        try:
            stream = sess.send_query(plan.sql, plan.fmt, params=params)
        except Exception as exc:
            err = from_engine_error(exc)
            if "Streaming query is not supported" in err.full:
                return self._materialise(sess, plan, params)
            raise err from None
        spool = Spool()
        header = None
        stats = dict.fromkeys(("read_rows", "read_bytes", "result_rows", "result_bytes"), 0)
        elapsed = 0.0
        chunks = 0
        try:
            while True:
                chunk = stream.fetch()
                if chunk is None:
                    break
                data = chunk.bytes()
                chunks += 1
                if header_kind is not None:
                    # chDB repeats the names/types header in every streamed chunk: keep the
                    # first one, drop identical copies.
                    if header is None:
                        hlen = header_length(header_kind[0], header_kind[1], data)
                        header = data[:hlen] if hlen else b""
                    elif header and data.startswith(header):
                        data = data[len(header):]
                spool.write(data)
                stats["read_rows"] += chunk.storage_rows_read()
                stats["read_bytes"] += chunk.storage_bytes_read()
                stats["result_rows"] += chunk.rows_read()
                elapsed += chunk.elapsed()
        except BaseException:
            spool.close()
            raise
        finally:
            try:
                stream.close()
            except Exception:
                pass
        if chunks == 0:
            # chDB yields no chunk for an empty result, so the format's header (which clients
            # such as the crate require) would be missing: produce the result in one piece.
            spool.close()
            return self._materialise(sess, plan, params)
        stats["result_bytes"] = spool.size
        stats["written_rows"] = stats["written_bytes"] = 0
        stats["elapsed_ns"] = int(elapsed * 1e9)
        return Result(spool, plan.fmt, stats)

    def _insert(self, sess, plan):
        ins = sess.send_insert(plan.insert_head, plan.insert_fmt)
        started = time.monotonic()
        try:
            for chunk in plan.data.chunks():
                ins.append(chunk)
            res = ins.finish()
        except BaseException:
            try:
                ins.cancel()
            except Exception:
                pass
            raise
        return Result(b"", None, {
            "read_rows": 0, "read_bytes": 0,
            "written_rows": res.rows_written, "written_bytes": res.bytes_written,
            "result_rows": 0, "result_bytes": 0,
            "elapsed_ns": int((res.elapsed or (time.monotonic() - started)) * 1e9),
        })


# ---------------------------------------------------------------------------------------------
# Server state: active requests, idle exit, shutdown


class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.active = 0
        self.last = time.monotonic()
        self.stopping = False
        self.stop_event = threading.Event()
        self.stop_reason = None

    def begin(self):
        with self.cond:
            if self.stopping:
                return False
            self.active += 1
            self.last = time.monotonic()
            return True

    def end(self):
        with self.cond:
            self.active -= 1
            self.last = time.monotonic()
            self.cond.notify_all()

    def request_stop(self, reason):
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop_event.set()

    def idle_for(self):
        with self.cond:
            return 0.0 if self.active else time.monotonic() - self.last

    def quiesce(self, timeout):
        """Refuse new requests and wait for the running ones to finish."""
        deadline = time.monotonic() + timeout
        with self.cond:
            self.stopping = True
            while self.active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


# ---------------------------------------------------------------------------------------------
# HTTP


def is_loopback_host(host):
    """True for 127.0.0.0/8, ::1 and localhost, with or without a port ("[::1]:8123")."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host in ("localhost", "::1", "0:0:0:0:0:0:0:1"):
        return True
    parts = host.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256 for p in parts)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, engine, state, users, response_compression):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.engine = engine
        self.state = state
        self.users = users
        self.response_compression = response_compression
        super().__init__(addr, Handler)
        port = self.server_address[1]
        self.loopback = is_loopback_host(addr[0])
        self.own_origins = {"http://%s:%d" % (h, port) for h in ("127.0.0.1", "localhost", "[::1]")}

    def handle_error(self, request, client_address):
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the client's
    # delayed ACK adds ~40 ms to every small response.
    disable_nagle_algorithm = True

    def version_string(self):
        return "ClickHouse-embedded/%s" % VERSION

    # -- plumbing ------------------------------------------------------------------------------

    def log_message(self, fmt, *args):
        pass  # dispatch() logs each request with its timing instead

    def handle_one_request(self):
        # Like the base class, but with ClickHouse's URI limit and separate idle and receive
        # timeouts (an Inserter may pause between blocks for a while; an idle keep-alive
        # connection should not linger).
        try:
            self.connection.settimeout(KEEPALIVE_TIMEOUT)
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        self.connection.settimeout(RECEIVE_TIMEOUT)
        # The handler object lives as long as the connection: reset per-request state.
        self._headers_sent = False
        self._raw_body = None
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline = ""
            self.request_version = "HTTP/1.1"
            self.command = "GET"
            self.close_connection = True
            self._send_plain(414, "Request-URI is too long\n", close=True)
            return
        if not self.parse_request():
            return
        method = self.command
        try:
            if method in ("GET", "POST", "HEAD"):
                self.dispatch(method)
            elif method == "OPTIONS":
                # No CORS: a web page must not be able to talk to the database.
                self._drain_for_error()
                self._send_plain(405, "Cross-origin requests are not served by the embedded server\n",
                                 extra={"Allow": "GET, POST, HEAD"})
            else:
                self._drain_for_error()
                self.send_exception(CHError(code_of("UNSUPPORTED_METHOD", 1),
                                            "Unsupported HTTP method %s" % method))
            self.wfile.flush()
        except (ConnectionError, TimeoutError, OSError) as exc:
            log.debug("connection %s: %s", self.address_string(), exc)
            self.close_connection = True

    def send_error(self, code, message=None, explain=None):
        # Used by the base class for malformed requests: answer in ClickHouse's style.
        self.close_connection = True
        text = format_exception(code_of("POCO_EXCEPTION", 1000),
                                "Malformed HTTP request (%d): %s" % (code, message or "bad request"))
        try:
            self._send_plain(code, text + "\n", close=True,
                             extra={"X-ClickHouse-Exception-Code": str(code_of("POCO_EXCEPTION", 1000))})
        except OSError:
            pass

    def _send_plain(self, status, text, close=False, extra=None):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-ClickHouse-Server-Display-Name", DISPLAY_NAME)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Keep-Alive", "timeout=%d" % KEEPALIVE_TIMEOUT)
        self.end_headers()
        self._headers_sent = True
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self):
        if getattr(self, "_raw_body", None) is None:
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            chunked = "chunked" in te
            length = 0
            if not chunked:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    self.close_connection = True
                    raise CHError(code_of("BAD_ARGUMENTS", 36), "Bad Content-Length header") from None
            self._raw_body = RawBody(self.rfile, length, chunked)
        return self._raw_body

    def _drain_for_error(self):
        try:
            body = self._body()
        except CHError:
            self.close_connection = True
            return
        if not body.drain():
            self.close_connection = True

    # -- dispatch ------------------------------------------------------------------------------

    def send_response(self, code, message=None):
        self._status = code
        super().send_response(code, message)

    def dispatch(self, method):
        self._raw_body = None
        self._status = None
        self._timing = ""
        self.query_id = None
        started = time.monotonic()
        try:
            self._dispatch(method)
        finally:
            if log.isEnabledFor(logging.DEBUG):
                body = getattr(self, "_raw_body", None)
                log.debug("%s %s -> %s in %.1f ms (%s; query id %s, body %s)", method, self.path[:200],
                          self._status, (time.monotonic() - started) * 1000, self._timing or "-",
                          self.query_id, "chunked" if body is not None and body.chunked else
                          (self.headers.get("Content-Length") or 0))

    def _dispatch(self, method):
        state = self.server.state
        if not state.begin():
            self._drain_for_error()
            self.send_exception(CHError(code_of("ABORTED", 236), "Server is shutting down"), close=True)
            return
        try:
            url = urlsplit(self.path)
            params = {}
            for key, value in parse_qsl(url.query, keep_blank_values=True, errors="surrogateescape"):
                params[key] = value
            path = url.path or "/"
            if path != "/ping":
                foreign = self._foreign_origin()
                if foreign is not None:
                    self._drain_for_error()
                    self.send_exception(access_denied(
                        "Requests from web pages are refused by the embedded server (%s)" % foreign))
                    return
            if path in ("/ping", "/replicas_status") or (
                    path == "/" and method != "POST" and "query" not in params and not self._has_body()):
                self._drain_for_error()
                self._send_plain(200, "Ok.\n")
                return
            if path != "/":
                self._drain_for_error()
                self._send_plain(404, "There is no handle %s\n\nUse / or /ping for health checks.\n"
                                 "Or /replicas_status for more sophisticated health checks.\n\n"
                                 "Send queries from your program with POST method or GET /?query=...\n"
                                 % path)
                return
            self.query_id = params.get("query_id") or str(uuid.uuid4())
            try:
                self.handle_query(method, params)
            except CHError as exc:
                log.info("query %s failed: %s", self.query_id, exc.full.splitlines()[0][:300])
                self._drain_for_error()
                self.send_exception(exc)
            except (ConnectionError, TimeoutError):
                raise
            except Exception as exc:
                log.exception("internal error in query %s", self.query_id)
                self._drain_for_error()
                self.send_exception(CHError(code_of("STD_EXCEPTION", 1001),
                                            "Internal error of the embedded server: %s: %s"
                                            % (type(exc).__name__, exc)))
        finally:
            state.end()

    def _foreign_origin(self):
        """Why the request looks like it comes from a web page (or a rebound DNS name), or None.

        Browsers send Origin with every POST and Sec-Fetch-Site with every request; other clients
        send neither. A server on a loopback address also insists on a loopback Host, so a page
        whose own name resolves to 127.0.0.1 (DNS rebinding) is refused too.
        """
        origin = self.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.server.own_origins:
            return "Origin: %s" % origin[:100]
        site = (self.headers.get("Sec-Fetch-Site") or "").strip().lower()
        if site not in ("", "same-origin", "none"):
            return "Sec-Fetch-Site: %s" % site[:40]
        host = self.headers.get("Host")
        if self.server.loopback and host is not None and not is_loopback_host(host):
            return "Host: %s" % host[:100]
        return None

    def _has_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        return "chunked" in te or (self.headers.get("Content-Length") or "0").strip() not in ("", "0")

    def send_exception(self, exc, close=False):
        if self._headers_sent:
            # The response is already on its way: all we can do is cut the connection.
            self.close_connection = True
            return
        extra = {"X-ClickHouse-Exception-Code": str(exc.code)}
        qid = getattr(self, "query_id", None)
        if qid:
            extra["X-ClickHouse-Query-Id"] = qid
        status = http_status(exc.code)
        if exc.code == code_of("REQUIRED_PASSWORD", 194):
            extra["WWW-Authenticate"] = 'Basic realm="ClickHouse server HTTP API"'
        self._send_plain(status, exc.full + "\n", close=close or self.close_connection, extra=extra)

    # -- authentication ------------------------------------------------------------------------

    def authenticate(self, params):
        auth_failed = code_of("AUTHENTICATION_FAILED", 516)
        user = self.headers.get("X-ClickHouse-User", "")
        password = self.headers.get("X-ClickHouse-Key", "")
        authorization = self.headers.get("Authorization")
        in_params = "user" in params or "password" in params
        if user or password:
            if not user:
                raise CHError(auth_failed, "Got an empty user name from X-ClickHouse HTTP headers")
            if authorization:
                raise CHError(auth_failed, "Invalid authentication: it is not allowed to use "
                              "X-ClickHouse HTTP headers and Authorization HTTP header simultaneously")
            if in_params:
                raise CHError(auth_failed, "Invalid authentication: it is not allowed to use "
                              "X-ClickHouse HTTP headers and authentication via parameters simultaneously")
        elif authorization:
            if in_params:
                raise CHError(auth_failed, "Invalid authentication: it is not allowed to use "
                              "Authorization HTTP header and authentication via parameters simultaneously")
            scheme, _, info = authorization.strip().partition(" ")
            if scheme.lower() != "basic":
                raise CHError(auth_failed, "Invalid authentication: '%s' HTTP Authorization scheme "
                              "is not supported" % scheme)
            try:
                decoded = base64.b64decode(info.strip(), validate=True).decode("utf-8")
            except Exception:
                raise CHError(auth_failed, "Invalid authentication: malformed Basic credentials") from None
            user, _, password = decoded.partition(":")
            if not user:
                raise CHError(auth_failed, "Got an empty user name from Authorization HTTP header")
        else:
            user = params.get("user", "default")
            password = params.get("password", "")
            if not user:
                raise CHError(auth_failed, "Got an empty user name from authentication via parameters")
        expected = self.server.users.get(user)
        if expected is None or not hmac.compare_digest(expected.encode("utf-8", "surrogateescape"),
                                                       password.encode("utf-8", "surrogateescape")):
            raise CHError(auth_failed, "%s: Authentication failed: password is incorrect, or there "
                          "is no user with such name" % user)
        return user

    # -- queries -------------------------------------------------------------------------------

    def handle_query(self, method, params):
        self.authenticate(params)
        engine = self.server.engine
        body = self._body()
        ctype = self.headers.get("Content-Type") or ""

        readonly = 2 if method in ("GET", "HEAD") else 0
        if "readonly" in params:
            try:
                readonly = max(readonly, int(params["readonly"] or 0))
            except ValueError:
                raise CHError(code_of("CANNOT_PARSE_NUMBER", 72),
                              "Cannot parse readonly=%r" % params["readonly"]) from None

        query_params = {}
        settings = {}
        for key, value in params.items():
            if key.startswith("param_"):
                query_params[key[6:]] = value
            elif key not in HTTP_ONLY_PARAMS:
                if not _SETTING_NAME_RE.match(key):
                    raise CHError(code_of("UNKNOWN_SETTING", 115),
                                  "Setting %s is neither a builtin setting nor started with the "
                                  "prefix 'custom_' registered for user-defined settings" % key)
                settings[key] = value
        if readonly == 1 and settings:
            raise CHError(code_of("READONLY", 164), "Cannot modify '%s' setting in readonly mode"
                          % next(iter(settings)))

        chunks = content_decoded(body.chunks(), self.headers.get("Content-Encoding"))
        if params.get("decompress") in ("1", "true"):
            verify = params.get("http_native_compression_disable_checksumming_on_decompress") not in ("1", "true")
            chunks = native_decompressed(chunks, verify)

        query_text = params.get("query", "").encode("utf-8", "surrogateescape")
        if ctype.lower().startswith("multipart/form-data"):
            raw = bytearray()
            for chunk in chunks:
                raw += chunk
                if len(raw) > MAX_MULTIPART_BYTES:
                    raise CHError(code_of("QUERY_IS_TOO_LARGE", 202), "multipart body is too large")
            fields = parse_multipart(bytes(raw), ctype)
            for key, value in fields.items():
                if key.startswith("param_"):
                    query_params[key[6:]] = value.decode("utf-8", "surrogateescape")
            if "query" in fields:
                query_text = fields["query"]
            chunks = iter(())
        for key, value in query_params.items():
            if isinstance(value, str):
                query_params[key] = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

        default_format = params.get("default_format") or self.headers.get("X-ClickHouse-Format") or "TabSeparated"
        started = time.monotonic()
        plan = self.make_plan(query_text, chunks, default_format)
        self._timing = "body %.1f ms" % ((time.monotonic() - started) * 1000)
        try:
            # An INSERT with data is checked as its head plus the FORMAT clause (a statement the
            # engine can render on its own); its data is data.
            engine.check_host_access(plan.sql if plan.insert_head is None else (
                "%s FORMAT %s" % (plan.insert_head, plan.insert_fmt)).encode("utf-8", "surrogateescape"))
            if readonly == 1 and plan.kind == "SET":
                raise CHError(code_of("READONLY", 164), "Cannot modify settings in readonly mode")
            database = params.get("database") or self.headers.get("X-ClickHouse-Database") or ""
            # Readonly requests run in the engine's readonly session: the engine refuses writes.
            result = engine.run(plan, database, settings, query_params, readonly=bool(readonly))
        finally:
            if plan.data is not None:
                plan.data.close()
        self._timing += ", " + result.timing
        started = time.monotonic()
        self.send_result(result, params)
        self._timing += ", send %.1f ms" % ((time.monotonic() - started) * 1000)

    def make_plan(self, query_text, chunks, default_format):
        """Work out the statement, reading only as much of the body as needed.

        The full text is the `query` parameter, a newline, then the body (as ClickHouse
        concatenates them). For "INSERT ... FORMAT x" only the head is parsed; the rest is data,
        spooled for send_insert.
        """
        buf = bytearray(query_text)
        if query_text:
            buf += b"\n"
        eof = False

        def more():
            nonlocal eof
            if eof:
                return False
            for chunk in chunks:
                buf.extend(chunk)
                return True
            eof = True
            return False

        plan = Plan()
        while True:
            kind = first_keyword(buf.decode("latin-1"), eof)
            if kind is NEED_MORE and more():
                continue
            if kind is NEED_MORE:
                kind = first_keyword(buf.decode("latin-1"), True)
            break
        if kind == "":
            raise CHError(code_of("SYNTAX_ERROR", 62), "Empty query")

        if kind == "INSERT":
            while True:
                split = split_insert(buf.decode("latin-1"), eof)
                if split is NEED_MORE and len(buf) <= MAX_INSERT_HEAD and more():
                    continue
                if split is NEED_MORE:
                    split = split_insert(buf.decode("latin-1"), True) if eof else None
                break
            if split is not None:
                head = bytes(buf[:split.head_end])
                stmt = analyse(head.decode("latin-1"))
                if stmt.multi_at is not None:
                    raise self._multi_statement(head, stmt.multi_at)
                plan.kind = "INSERT"
                plan.insert_head = head.decode("utf-8", "replace").rstrip()
                plan.insert_fmt = split.fmt
                spool = Spool()
                try:
                    spool.write(bytes(buf[split.data_start:]))
                    del buf[:]
                    for chunk in chunks:
                        spool.write(chunk)
                except BaseException:
                    spool.close()
                    raise
                plan.data = spool
                return plan

        for chunk in chunks:
            buf.extend(chunk)
            if len(buf) > MAX_QUERY_BYTES:
                raise CHError(code_of("QUERY_IS_TOO_LARGE", 202),
                              "Query is too large (more than %d bytes)" % MAX_QUERY_BYTES)
        text = bytes(buf)
        stmt = analyse(text.decode("latin-1"))
        if stmt.multi_at is not None:
            raise self._multi_statement(text, stmt.multi_at)
        plan.sql = text
        plan.kind = stmt.kind
        plan.stmt = stmt
        plan.fmt = stmt.fmt or default_format
        return plan

    @staticmethod
    def _multi_statement(text, pos):
        snippet = text[pos:pos + 60].decode("utf-8", "replace")
        return CHError(code_of("SYNTAX_ERROR", 62),
                       "Syntax error (Multi-statements are not allowed): failed at position %d "
                       "(end of query): %s" % (pos + 1, snippet))

    # -- responses -----------------------------------------------------------------------------

    def _response_encoding(self, params):
        if self.request_version == "HTTP/1.0":
            return None  # compressed bodies are sent chunked, which HTTP/1.0 lacks
        if params.get("compress") in ("1", "true"):
            return "native"
        if not self.server.response_compression or params.get("enable_http_compression") in ("0", "false"):
            return None
        accepted = []
        for item in (self.headers.get("Accept-Encoding") or "").split(","):
            name, _, q = item.strip().partition(";")
            name = name.strip().lower()
            if q.strip().replace(" ", "") in ("q=0", "q=0.0"):
                continue
            accepted.append(name)
        for enc in ("lz4", "zstd", "gzip", "deflate"):
            if enc in accepted and (enc != "zstd" or zstandard is not None):
                return enc
        return None

    def send_result(self, result, params):
        body = result.body
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type(result.fmt) if result.fmt else "text/plain; charset=UTF-8")
            if result.fmt:
                self.send_header("X-ClickHouse-Format", result.fmt)
            self.send_header("X-ClickHouse-Query-Id", self.query_id)
            self.send_header("X-ClickHouse-Timezone", TIMEZONE)
            self.send_header("X-ClickHouse-Server-Display-Name", DISPLAY_NAME)
            self.send_header("X-ClickHouse-Summary", json.dumps(
                {k: str(int(v)) for k, v in result.summary.items()}, separators=(",", ":")))
            self.send_header("Keep-Alive", "timeout=%d" % KEEPALIVE_TIMEOUT)
            encoding = self._response_encoding(params)
            if self.command == "HEAD":
                self.send_header("Content-Length", "0")
                self.end_headers()
                self._headers_sent = True
                return
            pieces = body.chunks(IO_CHUNK) if isinstance(body, Spool) else _slices(body)
            if encoding is None:
                size = body.size if isinstance(body, Spool) else len(body)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self._headers_sent = True
                for piece in pieces:
                    self.wfile.write(piece)
                return
            if encoding == "native":
                out = (block for piece in pieces for block in native_compressed(piece))
            else:
                self.send_header("Content-Encoding", encoding)
                out = _compressed_stream(pieces, encoding)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._headers_sent = True
            for piece in out:
                if piece:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        finally:
            if isinstance(body, Spool):
                body.close()


def _slices(data):
    view = memoryview(data)
    for off in range(0, len(view), IO_CHUNK):
        yield view[off:off + IO_CHUNK]


def _compressed_stream(pieces, encoding):
    if encoding == "lz4":
        comp = lz4_frame.LZ4FrameCompressor()
        yield comp.begin()
        for piece in pieces:
            yield comp.compress(piece)
        yield comp.flush()
    elif encoding == "zstd":
        comp = zstandard.ZstdCompressor().compressobj()
        for piece in pieces:
            yield comp.compress(piece)
        yield comp.flush()
    else:
        comp = zlib.compressobj(3, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        for piece in pieces:
            yield comp.compress(piece)
        yield comp.flush()


# ---------------------------------------------------------------------------------------------
# Start-up and shutdown


def parse_users(specs):
    users = {}
    for spec in specs or []:
        name, sep, password = spec.partition(":")
        if not sep or not name:
            raise ValueError("--user must be name:password, got %r" % spec)
        users[name] = password
    return users or {"default": ""}


def read_password(args):
    """The password of user `default` from --password-stdin / --password-file, else None."""
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise ValueError("--password-stdin: nothing on stdin")
        return line.rstrip("\r\n")
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as fh:
            return fh.readline().rstrip("\r\n")
    return None


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write("%d\n" % port)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def remove_port_file(path, port):
    # Only remove it if it still names us: a newer server may have replaced it.
    try:
        with open(path, encoding="ascii") as fh:
            if fh.read().strip() != str(port):
                return
        os.unlink(path)
    except OSError:
        pass


def import_modules():
    global chdb_session, lz4_block, lz4_frame, CityHash128, zstandard
    import lz4.block as _lz4_block
    import lz4.frame as _lz4_frame
    from clickhouse_cityhash.cityhash import CityHash128 as _city
    from chdb import session as _session

    chdb_session, lz4_block, lz4_frame, CityHash128 = _session, _lz4_block, _lz4_frame, _city
    try:
        import zstandard as _zstd
        zstandard = _zstd
    except ImportError:
        zstandard = None


def main(argv=None):
    global VERSION, TIMEZONE, ERROR_NAMES
    ap = argparse.ArgumentParser(description="ClickHouse HTTP interface over one chDB session")
    ap.add_argument("--data", required=True, help="data directory (created if missing)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="written atomically with the port once ready")
    ap.add_argument("--pid-file", help="written with the process id once ready")
    ap.add_argument("--idle-exit", type=float, default=0,
                    help="exit after this many seconds without an active request (0 = never)")
    ap.add_argument("--user", action="append", metavar="NAME:PASSWORD",
                    help="accepted credentials (default: user 'default' with an empty password)")
    ap.add_argument("--password-stdin", action="store_true",
                    help="read the password of user 'default' from the first line of stdin")
    ap.add_argument("--password-file", help="read the password of user 'default' from this file")
    ap.add_argument("--log", help="log file (default: stderr)")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    ap.add_argument("--no-response-compression", action="store_true",
                    help="never compress responses, whatever Accept-Encoding says")
    args = ap.parse_args(argv)

    if args.log:
        args.log = os.path.abspath(args.log)
    handler = logging.FileHandler(args.log) if args.log else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s chserver[%(process)d] %(message)s"))
    log.addHandler(handler)
    verbose = args.verbose or os.environ.get("ALTREPODB_SERVER_DEBUG") not in (None, "", "0")
    log.setLevel(logging.DEBUG if verbose else logging.INFO)

    try:
        users = parse_users(args.user)
        password = read_password(args)
    except (ValueError, OSError) as exc:
        print("chserver: %s" % exc, file=sys.stderr)
        return 2
    if password is not None:
        users["default"] = password
    if not is_loopback_host(args.host) and not any(users.values()):
        print("chserver: refusing to listen on %s without a password (give --password-file, "
              "--password-stdin or --user name:password)" % args.host, file=sys.stderr)
        return 2
    data_dir = os.path.abspath(args.data)
    if "?" in data_dir or "&" in data_dir:
        print("chserver: the data directory path must not contain '?' or '&': %s" % data_dir,
              file=sys.stderr)
        return 2
    for name in ("port_file", "pid_file", "log"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))

    try:
        import_modules()
    except ImportError as exc:
        print("chserver: cannot import Python module %r (%s) with %s; run scripts/setup.sh to "
              "install the embedded ClickHouse (chdb-core, lz4, clickhouse-cityhash)"
              % (exc.name, exc, sys.executable), file=sys.stderr)
        return 3

    state = State()
    try:
        server = Server((args.host, args.port), None, state, users, not args.no_response_compression)
    except OSError as exc:
        print("chserver: cannot listen on %s:%d: %s" % (args.host, args.port, exc), file=sys.stderr)
        return 4
    port = server.server_address[1]

    # The engine's configuration lives in a private directory of this process, which is also the
    # working directory: relative paths the engine might resolve land in an empty place.
    rundir = tempfile.mkdtemp(prefix="altrepodb-chserver-")
    config = write_engine_config(rundir)
    os.chdir(os.path.join(rundir, "empty"))
    # A server that is just shutting down may still hold the directory's lock: retry a while.
    deadline = time.monotonic() + 15
    while True:
        try:
            os.makedirs(data_dir, exist_ok=True)
            prepare_data_dir(data_dir)
            engine = Engine(data_dir, config)
            break
        except Exception as exc:
            if time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            print("chserver: cannot open the chDB data directory %s: %s (is another server "
                  "using it?)" % (data_dir, str(exc).strip().replace("\n", " ")), file=sys.stderr)
            server.server_close()
            shutil.rmtree(rundir, ignore_errors=True)
            return 5
    server.engine = engine
    try:
        engine.known_engines = {name.lower() for name in engine.scalar(
            "SELECT name FROM system.table_engines UNION ALL "
            "SELECT name FROM system.database_engines").split()}
    except Exception as exc:
        log.error("cannot list the engine's storage engines: %s", exc)
        engine.close()
        server.server_close()
        shutil.rmtree(rundir, ignore_errors=True)
        return 5

    try:
        VERSION = engine.scalar("SELECT version()") or VERSION
        TIMEZONE = engine.scalar("SELECT timezone()") or TIMEZONE
        rows = engine.scalar("SELECT number, errorCodeToName(number) FROM numbers(1, 2000) "
                             "WHERE errorCodeToName(number) != ''")
        names = {}
        for line in rows.splitlines():
            num, _, name = line.partition("\t")
            names[int(num)] = name
        if names:
            ERROR_NAMES = names
            CODE_BY_NAME.update({name: num for num, name in names.items()})
    except Exception as exc:
        log.warning("cannot read engine metadata: %s", exc)

    def on_signal(signum, _frame):
        # A second Ctrl-C means "now"; a repeated SIGTERM (or one during an idle exit) just
        # lets the clean shutdown carry on.
        if state.stop_event.is_set() and signum == signal.SIGINT:
            log.warning("second SIGINT: exiting at once")
            os._exit(1)
        state.request_stop(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                             name="serve", daemon=True)
    serve.start()
    if args.pid_file:
        write_port_file(args.pid_file, os.getpid())
    if args.port_file:
        write_port_file(args.port_file, port)
    print("listening on %s:%d" % (args.host, port), file=sys.stderr, flush=True)
    log.info("ready in %.2f s: data %s, engine %s, timezone %s, idle exit %s", time.monotonic() - PROCESS_START,
             data_dir, VERSION, TIMEZONE, "%gs" % args.idle_exit if args.idle_exit else "off")

    while not state.stop_event.wait(0.5):
        if args.idle_exit and state.idle_for() >= args.idle_exit:
            state.request_stop("idle for %g s" % args.idle_exit)
        if not serve.is_alive():
            log.error("the HTTP serving thread died")
            state.request_stop("serving thread died")

    log.info("stopping (%s)", state.stop_reason)
    server.shutdown()
    server.server_close()
    if args.port_file:
        # First, so that launchers stop handing out this server while it finishes.
        remove_port_file(args.port_file, port)
    if args.pid_file:
        remove_port_file(args.pid_file, os.getpid())
    if not state.quiesce(600):
        log.warning("requests still running after 600 s; closing anyway")
    try:
        engine.close()
    except Exception as exc:
        log.warning("closing the chDB session failed: %s", exc)
    shutil.rmtree(rundir, ignore_errors=True)
    log.info("stopped")
    logging.shutdown()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
