"""ClickHouse-style errors: codes, names, HTTP statuses and the exception text."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)


# Errors


class CHError(Exception):
    """A ClickHouse-style exception: numeric code plus the full message text sent to clients."""

    def __init__(self, code, message, full=None):
        super().__init__(message)
        self.code = code
        self.full = full if full is not None else format_exception(code, message)


def error_name(code):
    return chconfig.ERROR_NAMES.get(code, "UNKNOWN_EXCEPTION")


def code_of(name, fallback):
    return CODE_BY_NAME.get(name, fallback)


def http_status(code):
    return STATUS_BY_NAME.get(chconfig.ERROR_NAMES.get(code, ""), 500)


def format_exception(code, message):
    message = message.rstrip()
    if not message.endswith("."):
        message += "."
    return "Code: %d. DB::Exception: %s (%s) (version %s (official build))" % (
        code, message, error_name(code), chconfig.VERSION)


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
    return CHError(code, body, "%s (version %s (official build))" % (body, chconfig.VERSION))
