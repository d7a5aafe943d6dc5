"""Host access policy: what queries may reach, the engine configuration, the data directory."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403


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
