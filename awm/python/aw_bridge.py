"""agentworld bridge worker: hosts AgentWorldModel-1K FastAPI apps and plays their tools for many episodes.

Started by the Rust `BridgePool` (awm/src/bridge.rs) with an empty environment, resource limits and, where the
kernel allows it, its own network namespace. It speaks one JSON object per line on stdin/stdout:

  request:  {"id": N, "op": "load_app" | "open" | "call" | "save" | "close" | "stats" | "ping", ...}
  response: {"id": N, "ok": true, ...} or {"id": N, "ok": false, "error": "..."}

Every episode has its own in-memory SQLite database (a copy of the app's initial state), and every app's
SQLAlchemy engines and session factories are pointed at the episode's database for the duration of a call.
Temporary triggers log each row a call changes, so the Rust side can record state changes without a second copy.
A tool call goes through the app's ASGI interface the way AWM's fastapi-mcp does (path, query and JSON body built
from the tool's OpenAPI operation), and the observation is formatted as AWM formats it.

The programs read the time through `datetime.now()` / `datetime.utcnow()` (creation and update timestamps): they
are given a `datetime` whose clock is the episode's virtual clock (sent with each call), so the same actions give
the same state on every run, as in the engine.
"""

import asyncio
import json
import os
import sqlite3
import sys
import time
import traceback
import types
import urllib.parse
import warnings
import datetime as _datetime_module

# Everything the apps and this worker need is imported before the audit hook goes in.
import fastapi  # noqa: F401
import jsonschema
import pydantic  # noqa: F401
import sqlalchemy
import sqlalchemy.dialects.sqlite  # noqa: F401  (imported now, so it binds the real `datetime`)
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

warnings.simplefilter("ignore", DeprecationWarning)  # generated programs use deprecated FastAPI arguments
LOOP = asyncio.new_event_loop()  # its self-pipe socketpair is made before sockets are refused
PROTOCOL_OUT = sys.stdout
sys.stdout = sys.stderr  # an app's print() must never corrupt the protocol stream

_REAL_DATETIME = _datetime_module.datetime
VIRTUAL_NOW = [None]  # the current call's virtual time (naive UTC), or None for the real clock


class VirtualDatetime(_REAL_DATETIME):
    """`datetime` whose `now`/`utcnow` read the episode's virtual clock during a call."""

    # Instances are of this class (a subclass of the real one), so `isinstance` checks against either pass, whichever
    # a library bound.
    @classmethod
    def now(cls, tz=None):
        v = VIRTUAL_NOW[0] or _REAL_DATETIME.utcnow()
        v = cls(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
        if VIRTUAL_NOW[0] is None:
            return _REAL_DATETIME.now(tz)
        return v.replace(tzinfo=_datetime_module.timezone.utc).astimezone(tz) if tz else v

    @classmethod
    def utcnow(cls):
        v = VIRTUAL_NOW[0]
        if v is None:
            return _REAL_DATETIME.utcnow()
        return cls(v.year, v.month, v.day, v.hour, v.minute, v.second)

    @classmethod
    def today(cls):
        return cls.now()

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        # Models that annotate fields with it validate and serialise exactly as with `datetime`.
        return handler.generate_schema(_REAL_DATETIME)


_BLOCKED_EVENTS = {
    "socket.connect",
    "socket.bind",
    "socket.getaddrinfo",
    "socket.sendto",
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "ctypes.dlopen",
}


def _audit(event, args):
    if event in _BLOCKED_EVENTS:
        raise PermissionError(f"agentworld bridge: '{event}' is not allowed in an environment's code")


sys.addaudithook(_audit)


class App:
    """One AWM environment: its FastAPI app, its tools and its initial state."""

    def __init__(self, name, code, image):
        self.name = name
        self.image = image
        started = time.perf_counter()
        rss_before = rss_kb()
        code = code.split('if __name__ == "__main__":')[0]
        ns = {"__name__": f"awm_{name}"}
        os.environ["DATABASE_PATH"] = "sqlite://"
        # The program's `from datetime import datetime` (or `import datetime`) gets a copy of the module whose
        # `datetime` is the virtual-clock one; libraries keep the real module.
        virtual = types.ModuleType("datetime")
        virtual.__dict__.update(_datetime_module.__dict__)
        virtual.datetime = VirtualDatetime
        sys.modules["datetime"] = virtual
        try:
            exec(compile(code, f"<{name}/app.py>", "exec"), ns)
        finally:
            sys.modules["datetime"] = _datetime_module
        self.ns = ns
        self.app = ns.get("app")
        if self.app is None:
            raise ValueError(f"{name}: the program defines no FastAPI `app`")
        self.engine_names = [k for k, v in ns.items() if isinstance(v, sqlalchemy.engine.Engine)]
        self.factories = [v for v in ns.values() if isinstance(v, sessionmaker)]
        self.tools, self.operations = tools_from_openapi(self.app.openapi())
        self.validators = {
            t["name"]: jsonschema.Draft202012Validator(t["inputSchema"]) for t in self.tools
        }
        self.triggers = change_triggers(image)
        self.load_ms = (time.perf_counter() - started) * 1000
        self.rss_kb = max(0, rss_kb() - rss_before)


class Episode:
    def __init__(self, app):
        self.app = app
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
        self.conn.deserialize(app.image)
        self.conn.executescript(app.triggers)
        conn = self.conn
        self.engine = sqlalchemy.create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)

    def bind(self):
        for name in self.app.engine_names:
            self.app.ns[name] = self.engine
        for factory in self.app.factories:
            factory.configure(bind=self.engine)

    def take_changes(self):
        rows = self.conn.execute("SELECT tbl, op, key, before, after FROM temp._aw_changes ORDER BY seq").fetchall()
        if rows:
            self.conn.execute("DELETE FROM temp._aw_changes")
            self.conn.commit()
        return [{"table": t, "op": o, "key": k, "before": b, "after": a} for (t, o, k, b, a) in rows]


APPS = {}
EPISODES = {}


def rss_kb():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except OSError:
        return 0


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def change_triggers(image):
    """Temporary triggers that log every row change of every table of the state into temp._aw_changes."""
    conn = sqlite3.connect(":memory:")
    conn.deserialize(image)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    script = [
        "CREATE TEMP TABLE _aw_changes (seq INTEGER PRIMARY KEY, tbl TEXT, op TEXT, key TEXT, before TEXT, after TEXT);"
    ]
    for t in tables:
        cols = conn.execute(f"PRAGMA table_info({quote(t)})").fetchall()
        names = [c[1] for c in cols]
        pk = [c[1] for c in sorted((c for c in cols if c[5] > 0), key=lambda c: c[5])]
        if not names or len(names) > 60:
            continue
        key = lambda row: "json_array(" + ", ".join(
            f"{row}.{quote(c)}" for c in (pk or ["rowid"])
        ) + ")"
        obj = lambda row: "json_object(" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}', {row}.{quote(c)}" for c in names) + ")"
        lit = t.replace("'", "''")
        for op, when, k, before, after in (
            ("insert", "INSERT", key("NEW"), "NULL", obj("NEW")),
            ("update", "UPDATE", key("NEW"), obj("OLD"), obj("NEW")),
            ("delete", "DELETE", key("OLD"), obj("OLD"), "NULL"),
        ):
            script.append(
                f"CREATE TEMP TRIGGER {quote('_aw_' + op + '_' + t)} AFTER {when} ON main.{quote(t)} BEGIN "
                f"INSERT INTO _aw_changes (tbl, op, key, before, after) VALUES ('{lit}', '{op}', {k}, {before}, {after}); END;"
            )
    conn.close()
    return "\n".join(script)


def resolve_refs(node, root):
    if isinstance(node, dict):
        if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
            target = root
            for part in node["$ref"][2:].split("/"):
                target = target.get(part, {})
            merged = dict(resolve_refs(target, root))
            merged.update({k: resolve_refs(v, root) for k, v in node.items() if k != "$ref"})
            return merged
        return {k: resolve_refs(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_refs(v, root) for v in node]
    return node


def single_type(schema):
    for option in schema.get("anyOf", []):
        if isinstance(option, dict) and option.get("type") not in (None, "null"):
            return option["type"]
    return "string"


def tools_from_openapi(openapi):
    """MCP tools from the app's OpenAPI document, as AWM's fastapi-mcp lists them: one per operation, named by its
    operation id, with path, query and body fields merged into one input schema."""
    spec = resolve_refs(openapi, openapi)
    tools, operations = [], {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch") or not op.get("operationId"):
                continue
            name = op["operationId"]
            operations[name] = {"path": path, "method": method, "parameters": op.get("parameters", [])}
            description = op.get("summary") or f"{method.upper()} {path}"
            if op.get("description"):
                description += "\n\n" + op["description"]
            props, required = {}, []
            for where in ("path", "query"):
                for p in op.get("parameters", []):
                    if p.get("in") != where:
                        continue
                    s = dict(p.get("schema", {}))
                    s["title"] = p["name"]
                    if p.get("description"):
                        s["description"] = p["description"]
                    s.setdefault("type", "string" if where == "path" else single_type(s))
                    props[p["name"]] = s
                    if p.get("required", where == "path"):
                        required.append(p["name"])
            body = op.get("requestBody", {}).get("content", {})
            if body:
                schema = next(iter(body.values())).get("schema", {})
                for pname, ps in schema.get("properties", {}).items():
                    s = dict(ps)
                    s["title"] = pname
                    s.setdefault("type", single_type(s))
                    props[pname] = s
                    if pname in schema.get("required", []):
                        required.append(pname)
            schema = {"type": "object", "properties": props, "title": f"{name}Arguments"}
            if required:
                schema["required"] = required
            tools.append({"name": name, "description": description, "inputSchema": schema})
    return tools, operations


def query_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return ""
    return str(v)


async def asgi_request(app, method, path, query, body):
    pairs = []
    for k, v in query.items():
        for item in v if isinstance(v, (list, tuple)) else [v]:
            pairs.append((k, query_value(item)))
    payload = b"" if body is None else json.dumps(body).encode()
    headers = [(b"host", b"awm"), (b"accept", b"*/*"), (b"content-length", str(len(payload)).encode())]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": path,
        "raw_path": urllib.parse.quote(path).encode(),
        "root_path": "",
        "query_string": urllib.parse.urlencode(pairs).encode(),
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("awm", 80),
    }
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    status, chunks = 500, []

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def call_tool(ep, tool, args):
    """Runs one tool call; returns (text, is_error) exactly as AWM's MCP server words the observation."""
    app = ep.app
    if tool not in app.operations:
        return f"Unknown tool: {tool}", True
    if not isinstance(args, dict):
        return f"Input validation error: {json.dumps(args)} is not of type 'object'", True
    error = jsonschema.exceptions.best_match(app.validators[tool].iter_errors(args))
    if error is not None:
        return f"Input validation error: {error.message}", True
    op = app.operations[tool]
    args = dict(args)
    path = op["path"]
    for p in op["parameters"]:
        if p.get("in") == "path" and p.get("name") in args:
            path = path.replace("{" + p["name"] + "}", str(args.pop(p["name"])))
    query = {}
    for p in op["parameters"]:
        if p.get("in") == "query" and p.get("name") in args:
            query[p["name"]] = args.pop(p["name"])
    body = args if args and op["method"] in ("post", "put", "patch") else None
    ep.bind()
    try:
        status, raw = LOOP.run_until_complete(asgi_request(app.app, op["method"], path, query, body))
    except Exception as e:  # fastapi-mcp's client re-raises the app's exception; the observation is its text
        return str(e), True
    text = raw.decode("utf-8", "replace")
    try:
        result_text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        result_text = text
    if 400 <= status < 600:
        return f"Error calling {tool}. Status code: {status}. Response: {text}", True
    return result_text, False


def handle(req):
    op = req.get("op")
    if op == "ping":
        return {}
    if op == "load_app":
        name = req["app"]
        if name not in APPS:
            with open(req["code_path"], encoding="utf-8") as f:
                code = f.read()
            with open(req["state_path"], "rb") as f:
                image = f.read()
            APPS[name] = App(name, code, image)
        app = APPS[name]
        return {"tools": app.tools, "load_ms": app.load_ms, "rss_kb": app.rss_kb}
    if op == "open":
        app = APPS.get(req["app"])
        if app is None:
            raise KeyError(f"app '{req['app']}' is not loaded in this worker")
        EPISODES[req["episode"]] = Episode(app)
        return {}
    if op == "call":
        ep = EPISODES.get(req["episode"])
        if ep is None:
            raise KeyError(f"episode {req['episode']} is not open in this worker")
        now_ms = req.get("now_ms")
        VIRTUAL_NOW[0] = None if now_ms is None else _REAL_DATETIME.utcfromtimestamp(now_ms / 1000)
        started = time.perf_counter()
        try:
            text, is_error = call_tool(ep, req["tool"], req.get("args"))
        finally:
            VIRTUAL_NOW[0] = None
        handler_us = int((time.perf_counter() - started) * 1e6)
        return {"text": text, "is_error": is_error, "changes": ep.take_changes(), "handler_us": handler_us}
    if op == "save":
        ep = EPISODES.get(req["episode"])
        if ep is None:
            raise KeyError(f"episode {req['episode']} is not open in this worker")
        dst = sqlite3.connect(req["path"])
        with dst:
            ep.conn.backup(dst)
        dst.close()
        return {}
    if op == "close":
        ep = EPISODES.pop(req["episode"], None)
        if ep is not None:
            ep.engine.dispose()
            ep.conn.close()
        return {}
    if op == "stats":
        return {
            "rss_kb": rss_kb(),
            "apps": {n: {"rss_kb": a.rss_kb, "load_ms": a.load_ms} for n, a in APPS.items()},
            "episodes": len(EPISODES),
        }
    raise ValueError(f"unknown op '{op}'")


def main():
    PROTOCOL_OUT.write(json.dumps({"id": 0, "ok": True, "ready": True, "pid": os.getpid()}) + "\n")
    PROTOCOL_OUT.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            out = {"id": None, "ok": False, "error": f"bad request line: {e}"}
        else:
            try:
                out = {"id": req.get("id"), "ok": True, **handle(req)}
            except Exception as e:
                detail = "".join(traceback.format_exception_only(type(e), e)).strip()
                out = {"id": req.get("id"), "ok": False, "error": detail}
        PROTOCOL_OUT.write(json.dumps(out, ensure_ascii=False) + "\n")
        PROTOCOL_OUT.flush()


if __name__ == "__main__":
    main()
