"""The error codes a watcher writes when the failure is not the extraction's own verdict on the file.

The extraction names what is wrong with a file (`extraction.models.ErrorCode`: `unreadable_file`,
`too_many_pages`, …); these name what went wrong around it (a worker that died, a job that ran out of time).
The two sets never share a value, so an invoice's `error.code` is always one of their union; the README's
error-code table lists both with their meaning for a person.
"""

from __future__ import annotations

from enum import StrEnum


class WatcherErrorCode(StrEnum):
    timeout = "timeout"  # the extraction ran past JOB_TIMEOUT_SECONDS; its worker was killed
    worker_crashed = "worker_crashed"  # the worker process died during the job
    too_large_to_process = "too_large_to_process"  # the file needed more than WORKER_MEMORY_MB to decode
    file_missing = "file_missing"  # the stored bytes of the invoice are gone
    lease_expired = "lease_expired"  # the watcher holding the invoice stopped before finishing
