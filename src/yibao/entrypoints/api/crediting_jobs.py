"""Crediting runs started through the API: each in a thread of its own, with its own units of work.

The run's progress lives in this process (`Job`); its committed state lives in the database
(`services.contributions.runs`), which any worker can read. A run that failed, or whose process
stopped, is resumed by starting it again: the service resumes where its batches stopped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from yibao.bootstrap import App
from yibao.domain.errors import YibaoError
from yibao.domain.months import Month
from yibao.entrypoints.api import metrics
from yibao.services.contributions.crediting import run_crediting


@dataclass(slots=True)
class Job:
    done: int = 0
    total: int = 0
    failure: str | None = None  # the error's code and message, if the run stopped on one
    finished: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)


class CreditingJobs:
    """The runs this process has started, by run id (`AREA-YYYY-MM`)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def start(self, app: App, area_code: str, month: Month) -> str:
        """Start the run unless this process is running it already; returns its id."""
        run_id = run_id_of(area_code, month)
        with self._lock:
            running = self._jobs.get(run_id)
            if running is not None and not running.finished:
                return run_id
            job = Job()
            self._jobs[run_id] = job
        job.thread = threading.Thread(
            target=self._run, args=(app, area_code, month, job), name=f"crediting {run_id}"
        )
        job.thread.daemon = True
        job.thread.start()
        return run_id

    def _run(self, app: App, area_code: str, month: Month, job: Job) -> None:
        def progress(done: int, total: int) -> None:
            metrics.persons_credited(done - job.done)
            job.done, job.total = done, total

        metrics.crediting_started()
        try:
            run_crediting(uow_factory=app.uow, area_code=area_code, month=month, progress=progress)
        except YibaoError as error:
            job.failure = f"[{error.code}] {error.message}"
        except Exception as error:  # a crashed thread must still say so when polled
            job.failure = f"[error] {type(error).__name__}: {error}"
        finally:
            job.finished = True
            metrics.crediting_stopped()

    def wait(self, timeout: float = 30.0) -> None:
        """Let running threads finish (shutdown, tests)."""
        with self._lock:
            threads = [job.thread for job in self._jobs.values() if job.thread is not None]
        for thread in threads:
            thread.join(timeout)


def run_id_of(area_code: str, month: Month) -> str:
    return f"{area_code}-{month}"
