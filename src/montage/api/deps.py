"""What route handlers reach: the services of this process, kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from montage.services.events import EventHub
from montage.services.jobs import JobService
from montage.services.runtime import Runtime


@dataclass
class Services:
    runtime: Runtime
    jobs: JobService
    hub: EventHub


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
