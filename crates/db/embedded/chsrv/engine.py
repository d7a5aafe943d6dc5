"""The engine: one chDB session behind one lock."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403
from .policy import *  # noqa: F401,F403
from .formats import *  # noqa: F401,F403
from .bodies import *  # noqa: F401,F403
from .policy import _SUSPECT_RE
from .formats import _HEADER_FORMATS, _PLAIN_STREAM_FORMATS


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
        self.sess = chconfig.chdb_session.Session(base)
        self.ro = chconfig.chdb_session.Session(base + "&readonly=2")
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
