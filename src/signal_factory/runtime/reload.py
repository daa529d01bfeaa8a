"""Hot reload of the control plane: a file watch and SIGHUP, validated, swapped whole between batches.

    reloader = ConfigReloader(Path("examples/orders"), lambda cp: build_enforcer(cp))
    reloader.watch()                      # a thread: reload when a control-plane file changes
    install_sighup(reloader)              # `kill -HUP <pid>` reloads too (main thread only)
    ...
    live = reloader.current               # once per batch / request: (cp, value, generation), immutable
    enforcer = live.value

A reload loads the whole directory with `load_control_plane` and then `build(cp)` (what the process
makes of it: an enforcer, an alert policy...). Anything that raises there — a `ConfigError` naming file,
line and fix, an unreadable file — **rejects** the change: it is logged with that message, the process
keeps the snapshot it had, and the next edit is tried again. Otherwise the new snapshot replaces the old
one in one assignment; a batch or request that took the old snapshot finishes on it. Each attempt is
logged as one line (what changed: topics added/removed, datasets changed, files) on the
`signal_factory.config` logger and counted by `result` (`ok` | `rejected`) through `on_result`
(the `config_reloads_total` metric where the process exposes metrics).

Watched: the YAML files at the root of the config directory and everything under `contracts/` and
`schemas/` (not the sample data beside them). The watch is the `watchfiles` library (inotify/FSEvents,
its own polling fallback); changes are grouped until 50 ms pass without another (an editor's
write-then-rename is one reload), and an event that leaves the files' content as they were at the last
attempt (a touch, a save without edits) does nothing. SIGHUP always reloads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from watchfiles import watch

from signal_factory.controlplane.changes import describe_changes
from signal_factory.controlplane.loader import ControlPlane, load_control_plane
from signal_factory.errors import ConfigError

T = TypeVar("T")
log = logging.getLogger("signal_factory.config")
OK, REJECTED = "ok", "rejected"
_SUBDIRS = ("contracts", "schemas")
_STEP_MS = 50  # group changes until this long passes without another


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """One validated configuration: the control plane, what the process built from it, and its number
    (0 at start, + 1 per accepted reload)."""

    cp: ControlPlane
    value: T
    generation: int = 0
    loaded_at: float = field(default_factory=time.time)


def is_config_file(root: Path, path: Path) -> bool:
    """A file whose change means a reload: root-level YAML, anything under contracts/ or schemas/."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    parts = rel.parts
    if not parts or any(p.startswith(".") for p in parts):
        return False
    if len(parts) == 1:
        return path.suffix in (".yaml", ".yml")
    return parts[0] in _SUBDIRS


def config_files(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every watched file (what 'changed' is measured against)."""
    out: dict[str, str] = {}
    candidates = list(root.glob("*.y*ml"))
    for sub in _SUBDIRS:
        if (root / sub).is_dir():
            candidates += list((root / sub).rglob("*"))
    for path in sorted(candidates):
        if path.is_file() and is_config_file(root, path):
            try:
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:  # removed or unreadable mid-scan: the load that follows says which
                out[str(path.relative_to(root))] = "unreadable"
    return out


def _files_changed(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


class ConfigReloader(Generic[T]):
    """Holds the current `Loaded[T]`; `reload()` replaces it when the directory loads and builds cleanly.

    `initial`: an already loaded control plane and its value (else both are made now, and a bad directory
    raises `ConfigError` at start, as without reload). `on_result(result)` is called once per attempt.
    """

    def __init__(self, root: Path | str, build: Callable[[ControlPlane], T], *,
                 initial: tuple[ControlPlane, T] | None = None,
                 on_result: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self._build = build
        self.on_result = on_result
        files = config_files(self.root)
        if initial is None:
            cp = load_control_plane(self.root)
            initial = (cp, build(cp))
        self._current = Loaded(initial[0], initial[1])
        self._files = files  # of the running config
        self._attempted = files  # of the last attempt, accepted or not
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Loaded[T]:
        """The running configuration (read it once per batch or request, and use that)."""
        return self._current

    def use(self, value: T) -> None:
        """Run the current control plane with `value` instead of what was built from it (an embedder's own
        enforcer, a test's fixed clock); the next reload builds afresh."""
        with self._lock:
            self._current = dataclasses.replace(self._current, value=value)

    def reload(self, cause: str = "request", *, force: bool = True) -> str | None:
        """Load, build and swap. Returns `ok`, `rejected`, or None when `force` is off and the files are as
        at the last attempt. Never raises for a bad configuration (that is `rejected`)."""
        with self._lock:
            files = config_files(self.root)
            if not force and files == self._attempted:
                return None
            self._attempted = files
            old = self._current
            try:
                cp = load_control_plane(self.root)
                value = self._build(cp)
            except Exception as e:  # any failure keeps the running config: the process must not die of an edit
                return self._rejected(cause, old, e)
            changes = describe_changes(old.cp, cp)
            touched = _files_changed(self._files, files)
            if touched:
                changes.append(f"files: {', '.join(touched)}")
            self._current = Loaded(cp, value, old.generation + 1)
            self._files = files
            self.last_error = None
            self._count(OK)
            log.info(f"config reloaded ({cause}), generation {old.generation + 1}: "
                     + ("; ".join(changes) or "no change"),
                     extra={"generation": old.generation + 1, "changes": changes, "cause": cause, "result": OK})
            return OK

    def _rejected(self, cause: str, old: Loaded[T], e: Exception) -> str:
        text = str(e) if isinstance(e, ConfigError) else f"{type(e).__name__}: {e}"
        self.last_error = text
        self._count(REJECTED)
        extra: dict[str, object] = {"generation": old.generation, "cause": cause, "result": REJECTED,
                                    "error": text}
        if isinstance(e, ConfigError):
            extra.update({"file": e.file, "line": e.line, "fix": e.fix})
        log.error(f"config change rejected ({cause}); still running generation {old.generation}: {text}",
                  extra=extra)
        return REJECTED

    def _count(self, result: str) -> None:
        self.counts[result] += 1
        if self.on_result is not None:
            self.on_result(result)

    # -- triggers ------------------------------------------------------------------------------------

    def watch(self) -> None:
        """Reload on file changes, from a daemon thread, until `close()`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, name="config-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        root = self.root
        try:
            for _changes in watch(root, watch_filter=lambda _c, p: is_config_file(root, Path(p)), step=_STEP_MS,
                                  stop_event=self._stop, raise_interrupt=False, rust_timeout=1000):
                self.reload("file change", force=False)
        except Exception as e:  # e.g. the directory was removed: the process keeps running on what it has
            log.error(f"config file watch stopped ({type(e).__name__}: {e}); SIGHUP still reloads",
                      extra={"error": str(e)})

    def request(self, cause: str) -> None:
        """Reload from a new thread (safe to call from a signal handler: no lock is taken here)."""
        threading.Thread(target=self.reload, args=(cause,), name="config-reload", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def install_sighup(target: Callable[[], ConfigReloader[Any] | None]) -> bool:
    """`kill -HUP <pid>` reloads `target()` (a function, so a reloader made later, e.g. in a server's
    startup, is found). Only the main thread may install signal handlers: False elsewhere (and where
    SIGHUP does not exist)."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return False

    def on_hup(_signum: int, _frame: object) -> None:
        reloader = target()
        if reloader is not None:
            reloader.request("SIGHUP")

    signal.signal(signal.SIGHUP, on_hup)
    return True
