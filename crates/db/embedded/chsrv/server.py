"""The HTTP server and request handler."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403
from .policy import *  # noqa: F401,F403
from .formats import *  # noqa: F401,F403
from .bodies import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .state import *  # noqa: F401,F403
from .bodies import _SETTING_NAME_RE


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
        return "ClickHouse-embedded/%s" % chconfig.VERSION

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
            if enc in accepted and (enc != "zstd" or chconfig.zstandard is not None):
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
            self.send_header("X-ClickHouse-Timezone", chconfig.TIMEZONE)
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
        comp = chconfig.lz4_frame.LZ4FrameCompressor()
        yield comp.begin()
        for piece in pieces:
            yield comp.compress(piece)
        yield comp.flush()
    elif encoding == "zstd":
        comp = chconfig.zstandard.ZstdCompressor().compressobj()
        for piece in pieces:
            yield comp.compress(piece)
        yield comp.flush()
    else:
        comp = zlib.compressobj(3, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        for piece in pieces:
            yield comp.compress(piece)
        yield comp.flush()


# ---------------------------------------------------------------------------------------------
