"""The worker process: runs one extraction at a time, fed through a pipe by the watcher's pool.

The worker turns the result into exactly what the watcher stores (BSON-ready extraction, search terms), so
the watcher's event loop never spends CPU on a result and never unpickles a model.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from time import perf_counter
from typing import Any

from core.bson_codec import to_bson
from core.config import Settings
from core.extraction_settings import extraction_option_values
from core.logging import configure_logging
from core.search import invoice_search_terms
from extraction.models import ErrorCode, ExtractionOptions, ExtractionResult

log = logging.getLogger(__name__)

Extractor = Callable[..., ExtractionResult]
DEFAULT_EXTRACTOR = "extraction:extract"
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerConfig:
    """The first message a worker reads: what to run and under which limits."""

    extractor_path: str
    options: ExtractionOptions
    log_level: str = "INFO"
    log_format: str = "text"
    memory_mb: int = 0  # the worker's address-space limit; 0 = none


@dataclass(frozen=True)
class JobResult:
    """What a worker hands back: plain, picklable, ready to store."""

    ok: bool
    extract_ms: float
    error_code: str | None = None
    error_message: str | None = None
    extraction: dict[str, Any] | None = None  # BSON-ready (Decimal128 money), without the full text
    search_terms: list[str] = field(default_factory=list)


def limit_threads() -> None:
    """One worker per core: Tesseract's OpenMP must not start a thread per core in every worker."""
    os.environ["OMP_THREAD_LIMIT"] = "1"


def extraction_options(settings: Settings) -> ExtractionOptions:
    return ExtractionOptions(**extraction_option_values(settings))


def load_extractor(path: str) -> Extractor:
    """Resolve "module:function" (the default is extraction.extract)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{path!r} is not of the form 'module:function'")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if not callable(function):
        raise ValueError(f"{module_name} has no function {attribute!r}")
    return function


def summarise(result: ExtractionResult, extract_ms: float) -> JobResult:
    if not result.ok:
        error = result.error
        return JobResult(
            ok=False, extract_ms=extract_ms,
            error_code=str(error.code) if error else ErrorCode.internal_error.value,
            error_message=error.message if error else "The extraction failed without saying why.",
        )
    fields = result.fields
    return JobResult(
        ok=True, extract_ms=extract_ms,
        extraction=to_bson(result.model_dump(mode="python", exclude={"text"})),
        search_terms=invoice_search_terms(
            vendor_name=fields.vendor_name.value if fields.vendor_name else None,
            invoice_number=fields.invoice_number.value if fields.invoice_number else None,
            text=result.text,
        ),
    )


def limit_memory(megabytes: int) -> None:
    """Cap this process's address space, so that a file that decompresses into gigabytes (a small PNG of
    huge dimensions, a PDF of huge compressed streams) fails its own job with MemoryError instead of
    squeezing the machine. Set before the extractor is imported, so the limit is known to let it start."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    """`python -m watcher.worker FD`: FD is the worker's end of the pipe; the first message on it is the
    configuration (extractor path, options, log level, the watcher's pid)."""
    conn = Connection(int(sys.argv[1]))
    serve(conn, *conn.recv())


def serve(conn: Connection, config: WorkerConfig, parent_pid: int) -> None:
    """The worker's main loop. Messages in: content type, then the raw bytes. Out: ("ok", JobResult),
    ("error", message) or ("out_of_memory", message). The first message out is ("ready", pid) or
    ("fatal", message)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the watcher decides
    _die_with_parent(parent_pid)
    limit_threads()
    configure_logging(config.log_level, config.log_format)
    try:
        limit_memory(config.memory_mb)
        extract = load_extractor(config.extractor_path)
    except Exception as exc:  # noqa: BLE001 - reported to the watcher, which exits with the message
        conn.send(("fatal", f"cannot load the extractor {config.extractor_path!r}: {type(exc).__name__}: {exc}"))
        return
    options = config.options
    conn.send(("ready", os.getpid()))
    while True:
        try:
            content_type = conn.recv()
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the watcher is gone or closed the pipe
        started = perf_counter()
        try:
            result = extract(data, content_type, options=options)
            if not isinstance(result, ExtractionResult):
                raise TypeError(f"the extractor returned {type(result).__name__}, not ExtractionResult")
            reply: tuple[str, Any] = ("ok", summarise(result, (perf_counter() - started) * 1000))
        except MemoryError:
            reply = ("out_of_memory", f"The file needs more memory to read than a worker may use "
                                      f"({config.memory_mb} MB, WORKER_MEMORY_MB): it is too large to process.")
        except Exception as exc:  # noqa: BLE001 - a bug in the extractor is a transient failure of this invoice
            log.exception("the extractor raised")
            reply = ("error", f"{type(exc).__name__}: {exc}")
        del data
        conn.send(reply)


def _die_with_parent(parent_pid: int) -> None:
    """If the watcher is SIGKILLed, its workers must not go on burning CPU on claims it can't write."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: the worker still exits at the next read from the closed pipe
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


if __name__ == "__main__":
    from watcher import worker  # run the importable module, so that what it pickles is named watcher.worker.*

    worker.main()
