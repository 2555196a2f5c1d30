"""The template's schedules on a timer, faster than in AWS: each runs every `period / speed` seconds
(rate(1 minute) at speed 60 runs every second; a daily cron every 24 minutes), and on demand."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from devstack.runtime import Invoker
from devstack.template import ACCOUNT, REGION, Schedule, Stack

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def period_seconds(expression: str) -> float:
    rate = re.fullmatch(r"rate\((\d+) (\w+)\)", expression)
    if rate:
        return int(rate.group(1)) * _UNITS[rate.group(2)]
    cron = re.fullmatch(r"cron\((.+)\)", expression)
    if cron:
        minute, hour, *_ = cron.group(1).split()
        if hour in ("*", "?") and minute in ("*", "?"):
            return 60
        if hour in ("*", "?"):
            return 3600
        return 86400
    raise ValueError(f"unsupported schedule expression {expression!r}")


def scheduled_event(schedule: Schedule) -> dict[str, Any]:
    if schedule.input is not None:
        return dict(schedule.input)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{schedule.name.replace('.', '-')}"],
        "detail": {},
    }


class Scheduler:
    """`paused`: function logical id -> why its schedules do not run on the timer (the chain poller
    without a chain); they still run on demand."""

    def __init__(
        self,
        stack: Stack,
        runtime: Invoker,
        log: Callable[[str], None],
        speed: float,
        paused: dict[str, str] | None = None,
    ) -> None:
        self.stack, self.runtime, self.log, self.speed = stack, runtime, log, speed
        self.paused = paused or {}
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.by_name = {s.name: s for s in stack.schedules}
        self.by_name.update({s.function: s for s in stack.schedules})

    def run(self, name: str) -> Any:
        schedule = self.by_name[name]
        return self.runtime.invoke(schedule.function, scheduled_event(schedule))

    def _loop(self, schedule: Schedule) -> None:
        interval = max(0.5, period_seconds(schedule.expression) / self.speed)
        while not self.stopping.wait(interval):
            try:
                self.run(schedule.name)
            except Exception as exc:
                if not self.stopping.is_set():  # a run cut short by the stack stopping is no news
                    self.log(f"schedule {schedule.name} failed: {exc!r}")

    def start(self) -> None:
        if self.speed <= 0:
            return
        for schedule in self.stack.schedules:
            if schedule.function in self.paused:
                self.log(f"schedule {schedule.name} paused: {self.paused[schedule.function]}")
                continue
            thread = threading.Thread(
                target=self._loop, args=(schedule,), name=f"schedule-{schedule.name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
