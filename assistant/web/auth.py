"""Who may reach the chat: loopback needs no login, any other interface does (SECURITY.md).

Accounts come from ``server.auth_user``/``auth_password`` and the ``user:password`` lines of
``server.auth_file``; :func:`login_for` is the rule :func:`assistant.web.app.launch` and
:func:`~assistant.web.app.serve` apply before anything listens.
"""

import ipaddress
import stat
from pathlib import Path

from assistant.errors import ConfigError
from assistant.settings import ServerSettings

__all__ = ["MIN_PASSWORD_CHARS", "is_loopback", "resolve_auth", "login_for", "auth_file_warning"]

MIN_PASSWORD_CHARS = 8


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_auth(server: ServerSettings) -> list[tuple[str, str]]:
    """The accounts that may log in: ``auth_user`` with ``auth_password``, and every ``user:password``
    line of ``auth_file`` (blank lines and ``#`` comments skipped). Raises ConfigError on a half-set
    pair, an unreadable or malformed file, or a password shorter than 8 characters."""
    accounts: list[tuple[str, str]] = []
    if server.auth_user or server.auth_password:
        if not (server.auth_user and server.auth_password):
            raise ConfigError("set both server.auth_user and server.auth_password (ASSISTANT_SERVER__AUTH_USER, "
                              "ASSISTANT_SERVER__AUTH_PASSWORD), or neither")
        accounts.append((server.auth_user, server.auth_password.get_secret_value()))
    if server.auth_file:
        path = Path(server.auth_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read server.auth_file {path} ({e}); give a file of 'user:password' lines") from e
        before = len(accounts)
        for n, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            user, sep, password = line.partition(":")
            if not sep or not user.strip() or not password:
                raise ConfigError(f"{path}:{n}: expected 'user:password'")
            accounts.append((user.strip(), password))
        if len(accounts) == before:
            raise ConfigError(f"server.auth_file {path} holds no 'user:password' line")
    for user, password in accounts:
        if len(password) < MIN_PASSWORD_CHARS:
            raise ConfigError(f"the password of {user!r} is shorter than {MIN_PASSWORD_CHARS} characters; choose a longer one")
    return accounts


def auth_file_warning(server: ServerSettings) -> str | None:
    if server.auth_file and Path(server.auth_file).exists():
        mode = Path(server.auth_file).stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return f"warning: {server.auth_file} can be read by other users; `chmod 600` it"
    return None


def login_for(host: str, server: ServerSettings) -> list[tuple[str, str]]:
    """The accounts to require on ``host``; ConfigError when it is not loopback and there are none."""
    accounts = resolve_auth(server)
    if not is_loopback(host) and not accounts:
        raise ConfigError(
            f"refusing to serve on {host}: beyond this machine the chat needs a login. Set server.auth_user and "
            "server.auth_password (ASSISTANT_SERVER__AUTH_USER, ASSISTANT_SERVER__AUTH_PASSWORD) or "
            "server.auth_file (`assistant serve --auth-file FILE`, one 'user:password' per line), or serve on "
            "127.0.0.1"
        )
    return accounts
