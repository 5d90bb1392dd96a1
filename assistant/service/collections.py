"""The collections a server holds: index folders under ``index_root`` and, with a served catalog
(``store.catalog_url``), the collections in its database; opened on first use."""

import logging
import re
import threading
import time
from pathlib import Path

from assistant.assistant import Assistant
from assistant.errors import CollectionNotFoundError, ConfigError, StoreUnavailableError

__all__ = ["Collections"]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[^\W][\w.-]{0,63}$")


class Collections:
    """The collections the chat can switch between: index folders under ``index_root`` (plus the one it
    was started with). Opened on first use and kept open; all share the first one's embedder and LLM."""

    def __init__(self, initial: Assistant, index_root: Path | None = None):
        self.settings = initial.settings
        self.embedder = initial.embedder
        self.llm = initial.llm
        self.root = Path(index_root or initial.settings.index_root)
        self.initial = initial.path.name
        self._open: dict[str, Assistant] = {self.initial: initial}
        self._lock = threading.Lock()
        self._served: tuple[float, list[str]] = (0.0, [])  # (when read, names): the database's, a few seconds

    def _served_names(self, fresh: bool = False) -> list[str]:
        """The served collections (``store.catalog_url``), read at most every 5 s; none while the database
        is unreachable (the local ones are still listed; opening a served one then says what is wrong)."""
        if not self.settings.store.catalog_url:
            return []
        when, names = self._served
        if fresh or time.monotonic() - when > 5:
            try:
                names = Assistant.served_collections(self.settings)
            except StoreUnavailableError as e:
                log.warning("cannot list the served collections: %s", e)
                names = []
            self._served = (time.monotonic(), names)
        return names

    def names(self) -> list[str]:
        """Every collection: the open ones and the index folders under the root, the initial one first."""
        found = set(self._open) | set(self._served_names())
        if self.root.is_dir():
            found |= {p.name for p in self.root.iterdir() if (p / "manifest.json").is_file()}
        return [self.initial] + sorted(found - {self.initial})

    def get(self, name: str) -> Assistant:
        """The open collection ``name``; an existing index folder under the root is opened.
        CollectionNotFoundError when there is none (a name no collection can have is not one either)."""
        with self._lock:
            if name in self._open:
                return self._open[name]
        path = self.root / name
        # the database is asked outside the lock (it may be slow to answer); a name just created elsewhere
        # is looked for once more before it is "not found"
        known = bool(_NAME.match(name or "")) and (
            (path / "manifest.json").is_file() or name in self._served_names()
            or name in self._served_names(fresh=True))
        with self._lock:
            if name in self._open:
                return self._open[name]
            if not known:
                raise CollectionNotFoundError(f"there is no collection {name!r} on this server; the collections are "
                                              f"{', '.join(self.names())}")
            return self._open_locked(name, path)

    def opened(self) -> dict[str, Assistant]:
        """The collections open now, by name."""
        with self._lock:
            return dict(self._open)

    def create(self, name: str) -> Assistant:
        """Open collection ``name``, creating an empty index folder under the root when it is new."""
        name = (name or "").strip()
        with self._lock:
            if name in self._open:
                return self._open[name]
            return self._open_locked(name, self.root / self._check(name))

    def _open_locked(self, name: str, path: Path) -> Assistant:
        a = Assistant.open(path, settings=self.settings, embedder=self.embedder, llm=self.llm)
        self._open[name] = a
        return a

    @staticmethod
    def _check(name: str) -> str:
        if not _NAME.match(name or ""):
            raise ConfigError(
                f"{name!r} is not a collection name: use up to 64 letters, digits, '-', '_' or '.', starting "
                "with a letter or digit"
            )
        return name

    def close(self) -> None:
        with self._lock:
            for a in self._open.values():
                a.close()
            self._open.clear()
