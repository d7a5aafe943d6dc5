"""SQL lexing: statement kinds, FORMAT clauses and statement boundaries."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403


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
