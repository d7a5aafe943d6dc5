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

import os
import sys

# The package sits next to this script (the embedded-server installer writes both).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chsrv.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
