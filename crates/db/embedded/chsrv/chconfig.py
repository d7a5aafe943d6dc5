"""Settings, limits, error tables and the values filled in at start-up (engine version,
timezone, error names, the optional modules)."""

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
