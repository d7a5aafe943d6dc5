#!/usr/bin/env python3
"""A counting HTTP proxy in front of a ClickHouse HTTP port (bench tool).

Usage: ch-request-log.py LISTEN_PORT UPSTREAM_PORT LOG_FILE

Relays every request to 127.0.0.1:UPSTREAM_PORT and appends one line per request to LOG_FILE:
  <read_rows>\t<written_rows>\t<first 160 characters of the statement>
(read_rows / written_rows from the X-ClickHouse-Summary response header). Counting requests
this way measures any client, including a build of another commit, with the same yardstick.
"""
import json
import socket
import sys
import threading
import urllib.parse

LOCK = threading.Lock()


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line)


def read_body(f, headers, out):
    te = headers.get("transfer-encoding", "").lower()
    if "chunked" in te:
        body = b""
        while True:
            size_line = f.readline()
            out.write(size_line)
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            chunk = f.read(size + 2)
            out.write(chunk)
            body += chunk[:size]
            if size == 0:
                # trailers end with an empty line (already read as the chunk's CRLF)
                return body
    n = int(headers.get("content-length", "0") or 0)
    body = f.read(n) if n else b""
    out.write(body)
    return body


def parse_headers(lines):
    h = {}
    for l in lines[1:]:
        k, _, v = l.decode("latin-1").partition(":")
        h[k.strip().lower()] = v.strip()
    return h


def serve(client, upstream_port, log_path):
    server = socket.create_connection(("127.0.0.1", upstream_port))
    cf, sf = client.makefile("rb"), server.makefile("rb")
    cw, sw = client.makefile("wb"), server.makefile("wb")
    try:
        while True:
            head = read_head(cf)
            if head is None:
                return
            sw.write(b"".join(head) + b"\r\n")
            h = parse_headers(head)
            body = read_body(cf, h, sw)
            sw.flush()
            target = head[0].split(b" ")[1].decode("latin-1")
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
            stmt = q.get("query", [""])[0] or body[:400].decode("utf-8", "replace")
            rhead = read_head(sf)
            if rhead is None:
                return
            cw.write(b"".join(rhead) + b"\r\n")
            rh = parse_headers(rhead)
            read_body(sf, rh, cw)
            cw.flush()
            summary = {}
            try:
                summary = json.loads(rh.get("x-clickhouse-summary", "{}"))
            except ValueError:
                pass
            line = "%s\t%s\t%s\n" % (
                summary.get("read_rows", "?"),
                summary.get("written_rows", "?"),
                " ".join(stmt.split())[:160],
            )
            with LOCK, open(log_path, "a") as f:
                f.write(line)
    except (OSError, ValueError):
        return
    finally:
        client.close()
        server.close()


def main():
    listen, upstream, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", listen))
    s.listen(64)
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(c, upstream, log_path), daemon=True).start()


if __name__ == "__main__":
    main()
