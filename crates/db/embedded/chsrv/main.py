"""Start-up and shutdown: arguments, the engine, signals, the serving loop."""

from . import chconfig
from .chconfig import *  # noqa: F401,F403 (one namespace, as in the single script)
from .errors import *  # noqa: F401,F403
from .sqltext import *  # noqa: F401,F403
from .policy import *  # noqa: F401,F403
from .formats import *  # noqa: F401,F403
from .bodies import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .state import *  # noqa: F401,F403
from .server import *  # noqa: F401,F403


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
    import lz4.block as _lz4_block
    import lz4.frame as _lz4_frame
    from clickhouse_cityhash.cityhash import CityHash128 as _city
    from chdb import session as _session

    chconfig.chdb_session, chconfig.lz4_block, chconfig.lz4_frame, chconfig.CityHash128 = _session, _lz4_block, _lz4_frame, _city
    try:
        import zstandard as _zstd
        chconfig.zstandard = _zstd
    except ImportError:
        chconfig.zstandard = None


def main(argv=None):
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
        chconfig.VERSION = engine.scalar("SELECT version()") or chconfig.VERSION
        chconfig.TIMEZONE = engine.scalar("SELECT timezone()") or chconfig.TIMEZONE
        rows = engine.scalar("SELECT number, errorCodeToName(number) FROM numbers(1, 2000) "
                             "WHERE errorCodeToName(number) != ''")
        names = {}
        for line in rows.splitlines():
            num, _, name = line.partition("\t")
            names[int(num)] = name
        if names:
            chconfig.ERROR_NAMES = names
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
             data_dir, chconfig.VERSION, chconfig.TIMEZONE, "%gs" % args.idle_exit if args.idle_exit else "off")

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
