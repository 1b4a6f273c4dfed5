"""The nginx.conf that puts nginx in front of the hub: ``signage hub nginx-config`` prints what this renders.

Pure: :func:`render` turns :class:`NginxSite` into the text of a complete ``nginx.conf``; nothing here reads
or writes files, and Django is not imported.

The file runs as it is with ``nginx -c FILE -p PREFIX`` as any user: no ``user`` directive (which only
root may use), and the pid file, logs and temporary folders are relative paths, so they land in
``PREFIX``. Debian's nginx writes its start-up errors to stderr before it reads the file, so it never
needs ``/var/log/nginx``.

What nginx does, and why (docs/deploy.md, section 2, says the same to operators):

- ``DIR/public`` is served straight from disk for ``/metadata/``, ``/targets/`` and ``/photos/``, with the
  caching headers of the table in docs/deploy.md (the same as :mod:`signage.operator.hub.files`): ``timestamp.json``,
  every other unversioned metadata file and every error ``no-cache``; versioned metadata, targets and
  photos immutable. No dotfile (the atomic writes' half-written temporaries), no listing, no symbolic link.
- Everything else goes to the hub (waitress). nginx answers slow and idle clients itself, so a slowloris
  costs the hub nothing: nginx holds a connection that has not sent its whole header in a few hundred
  bytes, and drops it at ``client_header_timeout`` however it trickles (the deadline is for the whole
  header, not between two bytes).
- nginx replaces ``X-Real-IP`` with the client's address. The hub believes that header only from a
  loopback peer (:func:`signage.operator.hub.screens.ingest.client_address`), so a bus reaching the hub through
  nginx is seen as itself: ``/fleet`` stays for the hub's own machine, and the per-address limits
  count buses, not nginx.
- Per-address limits sized for the largest client we know, a bus fleet of :data:`FLEET_BUSES` buses
  behind one mobile-network NAT address; see :data:`APP_RATE_PER_SECOND` and the others below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from signage.core.errors import UsageError

#: The largest fleet behind one address the limits are sized for.
FLEET_BUSES: Final = 200
#: Requests each bus makes to the hub application per minute: a heartbeat every minute, a proof-of-play
#: batch every few minutes (counted as one a minute, to be safe).
APP_REQUESTS_PER_BUS_MINUTE: Final = 2
#: Requests each bus makes for files per minute when nothing is new: the sync polls ``timestamp.json``
#: and asks for the next root (a 404) every minute. A publish adds the snapshot, targets, playlist and
#: the new photos, once.
FILE_REQUESTS_PER_BUS_MINUTE: Final = 2
#: The application's rate per address: 200 buses x 2 a minute is 6.7 requests a second; three times that.
APP_RATE_PER_SECOND: Final = 20
#: Requests above the rate let through at once: every bus of the fleet sending its heartbeat and its plays
#: in the same second (they all come back together after a tunnel or a depot's power cut).
APP_BURST: Final = 2 * FLEET_BUSES
#: The files' rate per address. Steady polling is 200 x 2 a minute, 6.7 a second; a publish of a list with
#: 50 new photos is about 200 x 55 requests, which every bus fetches within its next minute: 183 a second.
FILE_RATE_PER_SECOND: Final = 200
#: A publish's photos requested by the whole fleet at once.
FILE_BURST: Final = 10 * FLEET_BUSES
#: Log-in attempts (page and form) per address per minute: a court's clerks behind one NAT log in a few
#: times a day; the accounts themselves lock after five wrong passwords (django-axes).
LOGIN_RATE_PER_MINUTE: Final = 20
LOGIN_BURST: Final = 10
#: Requests in progress per address: each bus syncs and uploads telemetry on two connections at most.
CONNECTIONS_PER_ADDRESS: Final = 2 * FLEET_BUSES
#: Connections each worker holds, slow or idle ones included: 1,000 slowloris sockets from one address
#: leave room for the fleet (a proxied request holds two: the client's and the hub's).
WORKER_CONNECTIONS: Final = 4096
#: Open files each worker may have: two per connection, and the files being sent.
WORKER_OPEN_FILES: Final = 2 * WORKER_CONNECTIONS + 1024
#: Seconds for a client's whole request header, and between two reads of its body.
HEADER_TIMEOUT_SECONDS: Final = 10
BODY_TIMEOUT_SECONDS: Final = 10
#: Seconds between two writes to a client that reads too slowly (a screen on a poor mobile link).
SEND_TIMEOUT_SECONDS: Final = 30
#: Seconds an idle keep-alive connection is kept: a sync's few requests follow each other within it.
KEEPALIVE_SECONDS: Final = 15
#: Idle connections to the hub kept open, and for how long: less than waitress's 30 s channel timeout,
#: so nginx never sends a request down a connection the hub is closing.
UPSTREAM_KEEPALIVE: Final = 16
UPSTREAM_KEEPALIVE_SECONDS: Final = 20
#: Body of every request but the console's upload: the telemetry's own cap (2 MB).
DEFAULT_BODY_BYTES: Final = 2 * 1024 * 1024
#: Seconds the hub may take to answer: an upload's import and checks take longer than anything else.
PROXY_READ_SECONDS: Final = 60
UPLOAD_READ_SECONDS: Final = 300
#: Where nginx's counters are served, to loopback clients only.
STATUS_PATH: Final = "/nginx_status"
IMMUTABLE: Final = "public, max-age=31536000, immutable"

_PORT_TEXT: Final = r"(?P<port>[0-9]{1,5})"
_ADDRESS: Final = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\]|(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\*)):"
    + _PORT_TEXT
)
_SERVER_NAME: Final = re.compile(r"_|\*?[A-Za-z0-9.-]{1,253}")
# A path goes into the file in double quotes; nginx would expand "$" as a variable, and the others would
# end the string or the directive.
_UNSAFE_PATH: Final = re.compile(r'["\\$;{}\s\x00-\x1f\x7f]')


@dataclass(frozen=True)
class Address:
    """A ``HOST:PORT`` as nginx writes it (IPv6 in brackets)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NginxSite:
    """Everything the rendered configuration depends on.

    Args:
        public_dir: The repository's ``DIR/public`` (absolute); never ``DIR``, which holds the keys.
        upstream: Where the hub listens (``signage hub --host --port``), normally on 127.0.0.1.
        listen: Where nginx listens for screens and operators.
        upload_bytes: The console's upload cap (``MAX_UPLOAD_BYTES``), allowed on ``/upload/`` only.
        server_name: The host name screens use, or ``_`` for any.
        tls_cert: PEM certificate chain; with ``tls_key``, ``listen`` is TLS.
        tls_key: PEM private key of ``tls_cert``.
    """

    public_dir: Path
    upstream: Address
    listen: Address
    upload_bytes: int
    server_name: str = "_"
    tls_cert: Path | None = None
    tls_key: Path | None = None


def parse_address(text: str, *, option: str) -> Address:
    """``HOST:PORT`` (``127.0.0.1:8080``, ``[::1]:8443``, ``signage.example.org:443``) as an :class:`Address`.

    Raises:
        UsageError: not of that form, or a port outside 1..65535.
    """
    match = _ADDRESS.fullmatch(text.strip())
    port = int(match.group("port")) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise UsageError(
            f"{option} 应为 主机:端口（如 127.0.0.1:8080 或 [::1]:8080），而不是“{text}”",
            f"{option} must be HOST:PORT (such as 127.0.0.1:8080 or [::1]:8080), not '{text}'",
        )
    return Address(match.group("ipv6") or match.group("host"), port)


def make_site(
    public_dir: Path,
    *,
    upstream: str,
    listen: str,
    upload_bytes: int,
    server_name: str = "_",
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> NginxSite:
    """The :class:`NginxSite` of the command line's arguments, checked.

    Raises:
        UsageError: an address, a name or a path nginx cannot take as written, or only one of the TLS files.
    """
    if (tls_cert is None) != (tls_key is None):
        raise UsageError(
            "--tls-cert 与 --tls-key 须同时给出",
            "--tls-cert and --tls-key go together: give both, or neither",
        )
    if not _SERVER_NAME.fullmatch(server_name):
        raise UsageError(
            f"--server-name 应为主机名（如 signage.example.org），而不是“{server_name}”",
            f"--server-name must be a host name such as signage.example.org, not '{server_name}'",
        )
    for option, path in (("--repo", public_dir), ("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and (not path.is_absolute() or _UNSAFE_PATH.search(str(path))):
            raise UsageError(
                f"{option} 的路径须为绝对路径，且不含空白、引号、$ ; {{ }} 或反斜杠：{path}",
                f"the path of {option} must be absolute, without spaces, quotes, $ ; {{ }} or backslashes: {path}",
            )
    return NginxSite(
        public_dir=public_dir,
        upstream=parse_address(upstream, option="--upstream"),
        listen=parse_address(listen, option="--listen"),
        upload_bytes=upload_bytes,
        server_name=server_name,
        tls_cert=tls_cert,
        tls_key=tls_key,
    )


def render(site: NginxSite) -> str:
    """The complete ``nginx.conf`` of ``site``."""
    tls = site.tls_cert is not None and site.tls_key is not None
    return _TEMPLATE.format(
        public=site.public_dir,
        upstream=site.upstream,
        listen=f"{site.listen}{' ssl' if tls else ''}",
        server_name=site.server_name,
        tls=_TLS.format(cert=site.tls_cert, key=site.tls_key) if tls else "",
        scheme="https" if tls else "http",
        upload_bytes=site.upload_bytes,
        upload_megabytes=site.upload_bytes // (1024 * 1024),
        default_body_bytes=DEFAULT_BODY_BYTES,
        worker_connections=WORKER_CONNECTIONS,
        worker_open_files=WORKER_OPEN_FILES,
        header_timeout=HEADER_TIMEOUT_SECONDS,
        body_timeout=BODY_TIMEOUT_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
        keepalive=KEEPALIVE_SECONDS,
        upstream_keepalive=UPSTREAM_KEEPALIVE,
        upstream_keepalive_seconds=UPSTREAM_KEEPALIVE_SECONDS,
        connections=CONNECTIONS_PER_ADDRESS,
        buses=FLEET_BUSES,
        app_rate=APP_RATE_PER_SECOND,
        app_burst=APP_BURST,
        file_rate=FILE_RATE_PER_SECOND,
        file_burst=FILE_BURST,
        login_rate=LOGIN_RATE_PER_MINUTE,
        login_burst=LOGIN_BURST,
        proxy_read=PROXY_READ_SECONDS,
        upload_read=UPLOAD_READ_SECONDS,
        status_path=STATUS_PATH,
        immutable=IMMUTABLE,
    )


_TLS: Final = """
        ssl_certificate     "{cert}";
        ssl_certificate_key "{key}";
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:signage_tls:10m;
        ssl_session_timeout 1d;
        ssl_session_tickets off;
"""

# Doubled braces are nginx's own; single ones are filled in by render().
_TEMPLATE: Final = """\
# nginx in front of the signage hub; made by `signage hub nginx-config` (docs/deploy.md, section 2).
# Runs as any user, as it is:  nginx -c THIS_FILE -p PREFIX [-g 'daemon off;']
# The pid file, the logs and the temporary folders are relative: they go in PREFIX. There is no `user`
# directive: started as root, nginx's workers would become "nobody"; start it as the user it runs as
# (systemd User= with CAP_NET_BIND_SERVICE for ports below 1024).

worker_processes auto;
# Two descriptors per proxied request, plus the files being sent.
worker_rlimit_nofile {worker_open_files};
pid nginx.pid;
error_log error.log warn;

events {{
    # Connections per worker, slow and idle ones included: a slowloris is held cheaply until the header
    # deadline below drops it.
    worker_connections {worker_connections};
}}

http {{
    server_tokens off;
    types {{
        application/json json;
        image/jpeg jpg jpeg;
        text/plain txt;
        text/html html;
    }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log access.log;

    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;

    # Slow clients: the whole request header within {header_timeout} s however it trickles; at most
    # {body_timeout} s between two reads of a body, and {send_timeout} s between two writes of an answer.
    client_header_timeout {header_timeout}s;
    client_body_timeout {body_timeout}s;
    send_timeout {send_timeout}s;
    keepalive_timeout {keepalive}s;
    reset_timedout_connection on;
    # Headers: 1 KB first, then at most 4 buffers of 8 KB for a long line (414 or 400 beyond).
    client_header_buffer_size 1k;
    large_client_header_buffers 4 8k;
    # Telemetry and forms; only the console's upload (below) takes more.
    client_max_body_size {default_body_bytes};

    # Per client address, sized for {buses} buses behind one mobile-network NAT address (docs/deploy.md):
    # - requests in progress: two per bus (a sync and a telemetry upload at once);
    # - the hub: a heartbeat a minute and plays every few minutes per bus are 7 requests a second;
    #   {app_rate} a second, and a burst of {app_burst} (every bus at once after an outage);
    # - files: polling is 7 requests a second; a publish with 50 new photos fetched by the whole fleet
    #   within a minute is 183 a second: {file_rate} a second, and a burst of {file_burst};
    # - log-in pages: {login_rate} a minute (the accounts lock themselves after five wrong passwords).
    limit_conn_zone $binary_remote_addr zone=signage_conn:10m;
    limit_req_zone $binary_remote_addr zone=signage_app:10m rate={app_rate}r/s;
    limit_req_zone $binary_remote_addr zone=signage_files:10m rate={file_rate}r/s;
    limit_req_zone $binary_remote_addr zone=signage_login:10m rate={login_rate}r/m;
    limit_conn_status 429;
    limit_req_status 429;
    limit_conn_log_level warn;
    limit_req_log_level warn;

    # Versioned and content-addressed files are immutable when found; a 404 (the next root, asked for at
    # every update) must never be cached.
    map $status $signage_immutable {{
        200 "{immutable}";
        206 "{immutable}";
        304 "{immutable}";
        default "no-cache";
    }}

    # The Host the client sent, port included, so that the hub's CSRF check matches the browser's Origin.
    map $http_host $signage_host {{
        "" $host;
        default $http_host;
    }}

    upstream signage_hub {{
        server {upstream};
        keepalive {upstream_keepalive};
        # Shorter than waitress's 30 s channel timeout: never reuse a connection the hub is closing.
        keepalive_timeout {upstream_keepalive_seconds}s;
    }}

    server {{
        listen {listen};
        server_name {server_name};
{tls}
        # DIR/public, never DIR: DIR/keys must stay outside the document root.
        root "{public}";
        autoindex off;
        etag on;
        # No link may lead out of public/ (the publisher writes none).
        disable_symlinks on;
        limit_conn signage_conn {connections};

        # What the hub receives. X-Real-IP is replaced, never passed on: the hub believes it from this
        # loopback peer only, and so sees each bus as itself (/fleet stays local, limits count buses).
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $signage_host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto {scheme};
        proxy_connect_timeout 5s;
        proxy_read_timeout {proxy_read}s;
        # Whole bodies and answers are buffered here, so a slow client never holds one of the hub's threads.
        proxy_request_buffering on;
        proxy_buffering on;

        # Regular expressions are tried in order, so this one comes first: no dotfile in the served folders,
        # at any depth, and above all no half-written ".timestamp.json.XXXX.tmp".
        location ~ ^/(metadata|targets|photos)/(.*/)?\\. {{
            add_header Cache-Control "no-cache" always;
            return 404;
        }}

        # Replaced every hour: caches must revalidate.
        location = /metadata/timestamp.json {{
            limit_req zone=signage_files burst={file_burst} nodelay;
            types {{ }}
            default_type application/json;
            add_header Cache-Control "no-cache" always;
            add_header X-Content-Type-Options nosniff;
        }}

        # <version>.<role>.json: written once, never changed.
        location ~ ^/metadata/[0-9]+\\.[^/]+\\.json$ {{
            limit_req zone=signage_files burst={file_burst} nodelay;
            types {{ }}
            default_type application/json;
            add_header Cache-Control $signage_immutable always;
            add_header X-Content-Type-Options nosniff;
        }}

        # Anything else in metadata/, and its 404s.
        location /metadata/ {{
            limit_req zone=signage_files burst={file_burst} nodelay;
            types {{ }}
            default_type application/json;
            add_header Cache-Control "no-cache" always;
            add_header X-Content-Type-Options nosniff;
        }}

        location /targets/ {{
            limit_req zone=signage_files burst={file_burst} nodelay;
            types {{ application/json json; }}
            default_type application/octet-stream;
            add_header Cache-Control $signage_immutable always;
            add_header X-Content-Type-Options nosniff;
        }}

        # Content-addressed names have no extension: every photo is a JPEG.
        location /photos/ {{
            limit_req zone=signage_files burst={file_burst} nodelay;
            types {{ }}
            default_type image/jpeg;
            add_header Cache-Control $signage_immutable always;
            add_header X-Content-Type-Options nosniff;
        }}

        # nginx's counters (connections open, reading a header, writing, idle), for this machine only.
        location = {status_path} {{
            stub_status;
            allow 127.0.0.1;
            allow ::1;
            deny all;
            access_log off;
        }}

        # The console's upload: the export and the photos ZIP ({upload_megabytes} MB at most), buffered to
        # disk here before the hub sees a byte; its checks take longer than any other request.
        location = /upload/ {{
            client_max_body_size {upload_bytes};
            limit_req zone=signage_app burst={app_burst} nodelay;
            proxy_read_timeout {upload_read}s;
            proxy_pass http://signage_hub;
        }}

        # Password guessing: few attempts per address.
        location = /login/ {{
            limit_req zone=signage_login burst={login_burst} nodelay;
            proxy_pass http://signage_hub;
        }}

        location = /admin/login/ {{
            limit_req zone=signage_login burst={login_burst} nodelay;
            proxy_pass http://signage_hub;
        }}

        # Everything else is the hub: telemetry, /fleet, the console and its /static/ files.
        location / {{
            limit_req zone=signage_app burst={app_burst} nodelay;
            proxy_pass http://signage_hub;
        }}
    }}
}}
"""
