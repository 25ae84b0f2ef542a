"""The AWS Batch state of one account and region: resources, tags, settings and the scheduler."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aws_batch_local.job_definitions import JobDefinitions
from aws_batch_local.moto_services import MotoServices
from aws_batch_local.tags import TagStore

if TYPE_CHECKING:
    from aws_batch_local.compute_environments import ComputeEnvironment
    from aws_batch_local.job_queues import JobQueue
    from aws_batch_local.scheduler import Scheduler
    from aws_batch_local.scheduling_policies import SchedulingPolicy
    from aws_batch_local.settings import EmulatorSettings


class BatchRegion:
    """Compute environments, job queues, scheduling policies, job definitions, jobs and tags of a region.

    The scheduler (jobs, timed transitions) starts on first use; its lock guards every change.
    """

    def __init__(self, account_id: str, region_name: str, settings: EmulatorSettings) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.settings = settings
        self.moto = MotoServices(account_id, region_name)
        self.tags = TagStore()
        self.job_definitions = JobDefinitions(account_id, region_name, self.tags)
        self.compute_environments: dict[str, ComputeEnvironment] = {}
        self.job_queues: dict[str, JobQueue] = {}
        self.scheduling_policies: dict[str, SchedulingPolicy] = {}
        self._scheduler: Scheduler | None = None
        self._scheduler_lock = threading.Lock()

    @property
    def scheduler(self) -> Scheduler:
        """Return the region's scheduler, starting it on first use."""
        if self._scheduler is None:
            with self._scheduler_lock:
                if self._scheduler is None:
                    from aws_batch_local.scheduler import Scheduler

                    self._scheduler = Scheduler(self)
        return self._scheduler

    def shutdown(self) -> None:
        """Stop the scheduler (and its processes) if it was started."""
        if self._scheduler is not None:
            self._scheduler.shutdown()

    # ------------------------------------------------------------------------- look-ups

    def get_compute_environment(self, identifier: str) -> Any:
        """Return the compute environment with this name or ARN (DELETED ones included), or None."""
        found = self.compute_environments.get(identifier)
        if found is not None:
            return found
        return next((env for env in self.compute_environments.values() if env.name == identifier), None)

    def get_job_queue(self, identifier: str) -> Any:
        """Return the job queue with this name or ARN (DELETED ones included), or None."""
        found = self.job_queues.get(identifier)
        if found is not None:
            return found
        return next((queue for queue in self.job_queues.values() if queue.name == identifier), None)

    # ------------------------------------------------------------------------------ tags

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        """Add tags to a resource."""
        self.tags.tag(arn, tags)

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        """Return a resource's tags."""
        return self.tags.of(arn)


class BatchRegions:
    """The Batch state of every (account, region) an emulator serves, under one set of settings."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._regions: dict[tuple[str, str], BatchRegion] = {}

    def get(self, account_id: str, region_name: str) -> BatchRegion:
        """Return the state of ``(account_id, region_name)``, creating it on first use."""
        key = (account_id, region_name)
        with self._lock:
            region = self._regions.get(key)
            if region is None:
                region = self._regions[key] = BatchRegion(account_id, region_name, self.settings)
            return region

    def all(self) -> list[BatchRegion]:
        """Return every region's state."""
        with self._lock:
            return list(self._regions.values())

    def shutdown(self) -> None:
        """Stop every region's scheduler."""
        for region in self.all():
            region.shutdown()
