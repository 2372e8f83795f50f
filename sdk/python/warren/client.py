"""The HTTP client of warrend's API (docs/api.md), over its unix socket or TCP.

Standard library only: :mod:`http.client`, with a connection class that
connects an ``AF_UNIX`` socket for the unix socket.  Each request opens a
connection of its own (a unix socket connect is cheap), so a client may be
used from many threads at once.

Where warrend is, in this order:

1. the ``host`` argument;
2. ``$WARREN_HOST``;
3. ``$WARREN_ROOT/run/warrend.sock`` when ``$WARREN_ROOT`` is set;
4. ``/run/warren/warrend.sock`` (warrend's default socket).

An address is a socket path (``/run/warren/warrend.sock``), ``unix://PATH``
(``unix:///run/warren/warrend.sock``) or ``http://HOST:PORT`` for warrend's TCP
listener, which takes a bearer token: the ``token`` argument, else the
token in the file ``$WARREN_TOKEN_FILE``, else ``$WARREN_TOKEN``.
"""

import http.client
import json
import os
import socket
import threading
import urllib.parse
from typing import Any, BinaryIO, Dict, Iterator, Mapping, Optional, Tuple, Type, Union

from .exceptions import SandboxConnectionError, SandboxError

__all__ = ["Client", "DEFAULT_SOCKET", "resolve_address", "default_client", "set_default_client"]

DEFAULT_SOCKET = "/run/warren/warrend.sock"
DEFAULT_TIMEOUT = 300.0

# docs/api.md, "Errors": the status each kind is answered with.
STATUS_OF_KIND = {
    "invalid": 400,
    "unauthorized": 401,
    "not_found": 404,
    "exists": 409,
    "cancelled": 409,
    "limit": 413,
    "too_many": 429,
    "internal": 500,
    "unavailable": 503,
}

Query = Optional[Mapping[str, Any]]
Body = Union[None, bytes, BinaryIO]


def resolve_address(host: Optional[str] = None) -> Tuple[str, str, int]:
    """Where warrend is: ``("unix", PATH, 0)`` or ``("tcp", HOST, PORT)``.

    ``host`` is an address as the module's documentation describes; ``None``
    takes ``$WARREN_HOST``, ``$WARREN_ROOT`` or the default socket.
    """
    if not host:
        host = os.environ.get("WARREN_HOST") or None
    if not host:
        root = os.environ.get("WARREN_ROOT")
        host = os.path.join(root, "run", "warrend.sock") if root else DEFAULT_SOCKET
    if host.startswith("unix://"):
        path = host[len("unix://") :]
        if not path.startswith("/"):
            raise SandboxConnectionError(f"address `{host}`: unix:// takes an absolute path", "invalid")
        return ("unix", path, 0)
    if host.startswith("http://"):
        parsed = urllib.parse.urlsplit(host)
        if not parsed.hostname or parsed.path not in ("", "/"):
            raise SandboxConnectionError(f"address `{host}`: not http://HOST:PORT", "invalid")
        return ("tcp", parsed.hostname, parsed.port or 80)
    if host.startswith("https://"):
        raise SandboxConnectionError(
            f"address `{host}`: warrend serves no TLS (put it behind a TLS proxy or a tunnel)", "invalid"
        )
    if host.startswith("/") or host.startswith("."):
        return ("unix", host, 0)
    raise SandboxConnectionError(
        f"address `{host}`: give a socket path, unix:///PATH or http://HOST:PORT", "invalid"
    )


def _token_from_env() -> Optional[str]:
    path = os.environ.get("WARREN_TOKEN_FILE")
    if path:
        try:
            with open(path, encoding="ascii") as f:
                return f.read().strip()
        except OSError as e:
            raise SandboxConnectionError(f"token file `{path}`: {e.strerror}", "invalid") from e
    return os.environ.get("WARREN_TOKEN") or None


class _UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection whose socket is a unix socket at ``path``."""

    def __init__(self, path: str, timeout: Optional[float]):
        super().__init__("warrend", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _error_from_body(
    status: int, data: bytes, error: Type[SandboxError], fallback: str
) -> SandboxError:
    kind, message = "internal", ""
    try:
        obj = json.loads(data.decode("utf-8"))
        e = obj.get("error") if isinstance(obj, dict) else None
        if isinstance(e, dict):
            kind = str(e.get("kind") or kind)
            message = str(e.get("message") or "")
    except (ValueError, UnicodeDecodeError):
        message = data.decode("utf-8", "replace").strip()
    if not message:
        message = f"{fallback}: HTTP {status}"
    if status == 401:
        return SandboxConnectionError(message, kind or "unauthorized", status)
    return error(message, kind, status)


class Stream:
    """An open answer being read: its connection, its response, its headers.

    Close it (or use it in a ``with``) when done; reading it to its end
    closes it too.
    """

    def __init__(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse):
        self.conn = conn
        self.response = resp
        self.headers = resp.headers
        self.status = resp.status

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left with ``-1``)."""
        data = self.response.read() if n < 0 else self.response.read1(n)
        return data

    def readline(self) -> bytes:
        """The next line, with its newline; ``b""`` at the end."""
        return self.response.readline()

    def close(self) -> None:
        """Closes the connection (a server streaming to it notices)."""
        try:
            self.response.close()
        finally:
            self.conn.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Client:
    """A client of one warrend.

    Args:
        host: where warrend is (see the module's documentation); ``None``
            for ``$WARREN_HOST`` or the default socket.
        token: the bearer token for TCP; ``None`` for ``$WARREN_TOKEN_FILE``
            or ``$WARREN_TOKEN``.  The unix socket takes none.
        timeout: seconds each socket operation may take (a stream that
            follows output waits as long as it must).
    """

    def __init__(self, host: Optional[str] = None, token: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT):
        self.kind, self.address, self.port = resolve_address(host)
        self.token: Optional[str] = token if token is not None else _token_from_env()
        self.timeout: float = timeout

    @property
    def host(self) -> str:
        """The address as a URL: ``unix:///PATH`` or ``http://HOST:PORT``."""
        if self.kind == "unix":
            return "unix://" + self.address
        return f"http://{self.address}:{self.port}"

    def _connection(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        if self.kind == "unix":
            return _UnixHTTPConnection(self.address, timeout)
        return http.client.HTTPConnection(self.address, self.port, timeout=timeout)

    def open(
        self,
        method: str,
        path: str,
        query: Query = None,
        json_body: Any = None,
        body: Body = None,
        headers: Optional[Dict[str, str]] = None,
        error: Type[SandboxError] = SandboxError,
        timeout: Optional[float] = -1.0,
        expect: Tuple[int, ...] = (200, 201),
    ) -> Stream:
        """Sends a request and returns its answer unread, once its status is
        one of ``expect``; any other status raises ``error`` (or
        :class:`SandboxConnectionError` for 401) with the server's kind and
        message.  ``json_body`` is sent as JSON, ``body`` (bytes or a binary
        file) as raw bytes.  ``timeout`` ``None`` waits for ever, ``-1`` takes
        the client's."""
        if query:
            items = []
            for k, v in query.items():
                if v is None:
                    continue
                if isinstance(v, bool):
                    v = "true" if v else "false"
                items.append((k, str(v)))
            if items:
                path = path + "?" + urllib.parse.urlencode(items, quote_via=urllib.parse.quote)
        hdrs = {"Host": "warrend"}
        if self.kind == "tcp":
            hdrs["Host"] = f"{self.address}:{self.port}"
            if self.token:
                hdrs["Authorization"] = "Bearer " + self.token
        data: Body = body
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            hdrs["Content-Type"] = "application/octet-stream"
            if isinstance(body, (bytes, bytearray, memoryview)):
                hdrs["Content-Length"] = str(len(body))
            else:
                try:
                    size = os.fstat(body.fileno()).st_size - body.tell()
                    hdrs["Content-Length"] = str(size)
                except (AttributeError, OSError, ValueError):
                    pass
        elif method in ("POST", "PUT", "PATCH"):
            hdrs["Content-Length"] = "0"
        if headers:
            hdrs.update(headers)
        conn = self._connection(self.timeout if timeout == -1.0 else timeout)
        try:
            conn.request(
                method,
                path,
                body=data,
                headers=hdrs,
                encode_chunked=data is not None and "Content-Length" not in hdrs,
            )
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            where = self.host
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
            raise SandboxConnectionError(f"warrend at {where}: {reason}", "unavailable") from e
        if resp.status not in expect:
            try:
                payload = resp.read()
            except (OSError, http.client.HTTPException):
                payload = b""
            conn.close()
            raise _error_from_body(resp.status, payload, error, f"{method} {path}")
        return Stream(conn, resp)

    def request(
        self,
        method: str,
        path: str,
        query: Query = None,
        json_body: Any = None,
        body: Body = None,
        error: Type[SandboxError] = SandboxError,
        timeout: Optional[float] = -1.0,
    ) -> Any:
        """Sends a request and returns its JSON answer (see :meth:`open`)."""
        with self.open(method, path, query, json_body, body, error=error, timeout=timeout) as s:
            try:
                data = s.read()
            except (OSError, http.client.HTTPException) as e:
                raise SandboxConnectionError(f"warrend at {self.host}: {e}", "unavailable") from e
        if not data:
            return {}
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise error(f"{method} {path}: the answer is not JSON", "internal", s.status) from e

    def events(
        self,
        method: str,
        path: str,
        query: Query = None,
        json_body: Any = None,
        error: Type[SandboxError] = SandboxError,
        timeout: Optional[float] = None,
    ) -> Iterator[Dict[str, Any]]:
        """Sends a request answered with ``application/x-ndjson`` events and
        yields each event as it comes; an error line (the stream's last)
        raises ``error`` with its kind and message."""
        s = self.open_events(method, path, query, json_body, error=error, timeout=timeout)
        return self.read_events(s, f"{method} {path}", error)

    def open_events(
        self,
        method: str,
        path: str,
        query: Query = None,
        json_body: Any = None,
        error: Type[SandboxError] = SandboxError,
        timeout: Optional[float] = None,
    ) -> Stream:
        """Sends a request for ``application/x-ndjson`` events and returns
        the open answer once its status is good (a refusal raises here);
        :meth:`read_events` reads it."""
        return self.open(
            method,
            path,
            query,
            json_body,
            headers={"Accept": "application/x-ndjson"},
            error=error,
            timeout=timeout,
        )

    def read_events(self, s: Stream, what: str, error: Type[SandboxError] = SandboxError) -> Iterator[Dict[str, Any]]:
        """Yields the events of an open ndjson answer as they come; an error
        line (the stream's last) raises ``error`` with its kind and message.
        The stream is closed at the end."""
        try:
            while True:
                try:
                    line = s.readline()
                except (OSError, http.client.HTTPException) as e:
                    raise SandboxConnectionError(f"warrend at {self.host}: the stream broke: {e}", "unavailable") from e
                if not line:
                    return
                line = line.strip()
                if not line:
                    continue
                try:
                    event = json.loads(line.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    raise error(f"{what}: a line of the stream is not JSON", "internal", s.status) from e
                if isinstance(event, dict) and isinstance(event.get("error"), dict) and "event" not in event:
                    e = event["error"]
                    kind = str(e.get("kind") or "internal")
                    # The 200 went out before the failure: the status is the kind's.
                    raise error(
                        str(e.get("message") or "the stream ended with an error"),
                        kind,
                        STATUS_OF_KIND.get(kind, 500),
                    )
                yield event
        finally:
            s.close()

    def health(self) -> Dict[str, Any]:
        """``GET /v1/health``: ``{"status": "ok", "version": ...}``."""
        return self.request("GET", "/v1/health", error=SandboxConnectionError)


_default_lock = threading.Lock()
_default: Optional[Client] = None


def default_client() -> Client:
    """The client calls use when given none: made on first use from the
    environment (``$WARREN_HOST``...)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def set_default_client(client: Optional[Client]) -> None:
    """Replaces the default client (``None``: made again from the
    environment on next use)."""
    global _default
    with _default_lock:
        _default = client
