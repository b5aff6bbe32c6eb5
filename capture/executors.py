"""Where the pipeline's independent tasks (one person in one frame) run: in this process, a local process pool,
or a Ray cluster. Every executor runs the same picklable task function, so the results are identical.

    executor = make_executor("local", workers=2)
    for task, outcome in executor.run(function, tasks):   # in order of completion
        ...                                               # outcome: the return value or the exception raised

Memory stays bounded: at most `2 * workers` tasks are in flight, and a task carries only its description (paths,
frame, person id), never image data; each worker reads its own inputs from disk and writes its own outputs.

Ctrl-C: pool workers ignore SIGINT (no traceback from each of them); the parent, interrupted, terminates them and
re-raises KeyboardInterrupt, so a run stops at once instead of waiting for the tasks in flight.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

logger = logging.getLogger(__name__)

Task = TypeVar("Task")
EXECUTORS = ("local", "ray")
RAY_MISSING = (
    "--executor ray: the 'ray' package is not installed in this environment; install it with "
    "`pip install 'ray>=2.9'` (or use --executor local)"
)


class ExecutorError(ValueError):
    """An executor that cannot be used as asked (unknown name, bad worker count, Ray missing or unreachable)."""


class Executor(Protocol):
    def run(self, function: Callable[[Task], object], tasks: Iterable[Task]) -> Iterator[tuple[Task, object]]:
        """Yield (task, return value or raised exception) for every task, in order of completion."""
        ...


class InlineExecutor:
    """Runs tasks one after the other in this process (workers = 1; also what tests and debuggers want)."""

    workers = 1

    def run(self, function, tasks):
        for task in tasks:
            try:
                outcome = function(task)
            except Exception as error:  # reported with its task; the caller decides
                outcome = error
            yield task, outcome


def _leave_interrupt_to_parent() -> None:
    """Pool worker initializer: ignore SIGINT (the terminal sends Ctrl-C to every process of the job)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalExecutor:
    """A pool of `workers` processes on this machine (spawned, so each worker starts clean)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, function, tasks):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        pending = iter(tasks)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context, initializer=_leave_interrupt_to_parent) as pool:
            running = {}
            try:
                for task in pending:
                    running[pool.submit(function, task)] = task
                    if len(running) >= 2 * self.workers:
                        break
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        task = running.pop(future)
                        error = future.exception()
                        yield task, error if error is not None else future.result()
                        for next_task in pending:  # refill one slot
                            running[pool.submit(function, next_task)] = next_task
                            break
            except BaseException:  # Ctrl-C, or the caller stopped early: the tasks in flight are not wanted
                for process in list((pool._processes or {}).values()):  # no public way to stop running tasks (< 3.14)
                    process.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise


class RayExecutor:
    """Tasks as Ray remote functions on a cluster (`address`, e.g. "ray://head:10001" or "auto") or a local one
    started here (address None, `workers` CPUs)."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as error:
            raise ExecutorError(RAY_MISSING) from error
        self.ray = ray
        self.workers = workers
        if not ray.is_initialized():
            try:
                if address is None:
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=address, log_to_driver=False)
            except Exception as error:  # Ray raises ConnectionError, RuntimeError, ...
                raise ExecutorError(f"--ray-address {address}: cannot start or reach Ray ({error})") from error

    def run(self, function, tasks):
        remote = self.ray.remote(function)
        pending = iter(tasks)
        running = {}
        limit = 2 * max(self.workers, int(self.ray.cluster_resources().get("CPU", 1)))
        for task in pending:
            running[remote.remote(task)] = task
            if len(running) >= limit:
                break
        while running:
            (ready,), _ = self.ray.wait(list(running), num_returns=1)
            task = running.pop(ready)
            try:
                outcome = self.ray.get(ready)
            except Exception as error:  # RayTaskError wraps the task's exception
                outcome = getattr(error, "cause", None) or error
            yield task, outcome
            for next_task in pending:
                running[remote.remote(next_task)] = next_task
                break

    def shutdown(self) -> None:
        self.ray.shutdown()


def make_executor(name: str, workers: int = 1, address: str | None = None) -> Executor:
    """The executor called `name` ("local" or "ray") with `workers` parallel tasks (local: 1 = this process)."""
    if name not in EXECUTORS:
        raise ExecutorError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {name!r}")
    if workers < 1:
        raise ExecutorError(f"--workers: expected >= 1, got {workers}")
    if name == "ray":
        return RayExecutor(workers, address)
    if address is not None:
        raise ExecutorError("--ray-address: only used with --executor ray")
    return InlineExecutor() if workers == 1 else LocalExecutor(workers)
