"""agentworld verifier sandbox: runs one AgentWorldModel-1K verifier on an initial/final database pair.

Started by awm/src/verify.rs once per verification, with an empty environment, resource limits (no file may grow:
RLIMIT_FSIZE 0), its own network namespace where the kernel allows it, and a wall-clock deadline. Reads one JSON
request on stdin: {"code", "mode": "code"|"sql", "initial", "final", "answer"}; writes one JSON line:
{"ok": true, "result": ...} or {"ok": false, "error": "...", "kind": "syntax"|"sandbox"|"exception"|"shape"}.

Inside, before the verifier's code runs: the modules verifiers use are imported, `sqlite3.connect` opens every
database read-only, and an audit hook (PEP 578) refuses new imports outside an allow-list, file writes and
deletions, sockets, subprocesses and native code loading.
"""

import json
import os
import sys

PROTOCOL_OUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr
request = json.loads(sys.stdin.read())

ALLOWED = {
    "sqlite3", "re", "json", "datetime", "math", "decimal", "fractions", "collections", "typing", "itertools",
    "functools", "statistics", "difflib", "string", "time", "calendar", "operator", "copy", "unicodedata",
    "dataclasses", "enum", "numbers", "textwrap", "hashlib", "zoneinfo", "os", "sys", "builtins", "_strptime",
}
for _name in sorted(ALLOWED):
    try:
        __import__(_name)
    except ImportError:
        pass
import sqlite3  # noqa: E402

_connect = sqlite3.connect


def _read_only_connect(database, *args, **kwargs):
    """Every database opens read-only, whatever the verifier asked for."""
    if isinstance(database, bytes):
        database = database.decode()
    if not isinstance(database, str) or database == ":memory:" or database == "":
        return _connect(database, *args, **kwargs)
    kwargs.pop("uri", None)
    if database.startswith("file:"):
        base, _, query = database[5:].partition("?")
        params = [p for p in query.split("&") if p and not p.startswith("mode=")]
        uri = "file:" + base + "?" + "&".join(params + ["mode=ro"])
    else:
        uri = "file:" + database + "?mode=ro"
    return _connect(uri, *args, uri=True, **kwargs)


sqlite3.connect = _read_only_connect

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_BLOCKED = (
    "socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "pty.", "ctypes.", "os.remove", "os.unlink", "os.rename", "os.replace", "os.rmdir",
    "os.mkdir", "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.putenv", "os.unsetenv",
    "shutil.", "sqlite3.enable_load_extension", "sqlite3.load_extension", "marshal.",
    "urllib.", "http.", "ftplib.", "smtplib.", "webbrowser.",
)


class SandboxViolation(Exception):
    pass


def _audit(event, args):
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            raise SandboxViolation(f"the verifier may not write files (open {path!r} mode {mode or flags!r})")
        return
    if event == "sqlite3.connect":
        database = str(args[0])
        if database not in (":memory:", "") and not (database.startswith("file:") and "mode=ro" in database):
            raise SandboxViolation(f"the verifier may open databases only read-only ({database!r})")
        return
    if event == "import":
        top = str(args[0]).split(".")[0]
        if top not in ALLOWED and args[0] not in sys.modules:
            raise SandboxViolation(f"the verifier may not import '{args[0]}'")
        return
    for prefix in _BLOCKED:
        if event == prefix or (prefix.endswith(".") and event.startswith(prefix)) or event.startswith(prefix + "."):
            raise SandboxViolation(f"the verifier may not use '{event}'")


def reply(obj):
    PROTOCOL_OUT.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
    PROTOCOL_OUT.flush()


def main():
    mode = request.get("mode", "code")
    func_name = "verify_task_completion" if mode == "code" else "verify_task"
    try:
        code = compile(request["code"], "<verifier>", "exec")
    except SyntaxError as e:
        reply({"ok": False, "kind": "syntax", "error": f"SyntaxError: {e.msg} (line {e.lineno})"})
        return
    namespace = {"__name__": "awm_verifier"}
    sys.addaudithook(_audit)  # from here on nothing can remove it
    try:
        exec(code, namespace)
        func = namespace.get(func_name)
        if not callable(func):
            reply({"ok": False, "kind": "shape", "error": f"the verifier defines no function '{func_name}'"})
            return
        if mode == "code":
            result = func(request["initial"], request["final"], request.get("answer"))
        else:
            result = func(request["initial"], request["final"])
    except SandboxViolation as e:
        reply({"ok": False, "kind": "sandbox", "error": str(e)})
        return
    except BaseException as e:  # the verifier's own failure, reported with its type
        kind = "sandbox" if isinstance(e, PermissionError) else "exception"
        reply({"ok": False, "kind": kind, "error": f"{type(e).__name__}: {e}"})
        return
    reply({"ok": True, "result": result})


main()
