"""One error root with stable codes.

Every error montage raises on purpose is a :class:`MontageError` with a ``code``; the
docstring of each class is its default message. Facades map these to their contract's
error body in one table each; nothing outside ``montage.api`` knows about HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MontageError(Exception):
    """Something went wrong."""

    code: ClassVar[str] = "MONTAGE_ERROR"

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: Any) -> None:
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = details
        if code:
            self.code = code  # type: ignore[misc]
        super().__init__(self.message)


class ValidationFailed(MontageError):
    """The request is invalid."""

    code = "VALIDATION_ERROR"


class NotFound(MontageError):
    """Not found."""

    code = "NOT_FOUND"


class JobNotFound(NotFound):
    """Job not found"""

    code = "JOB_NOT_FOUND"


class UnknownPipeline(ValidationFailed):
    """Unknown pipeline."""

    code = "UNKNOWN_PIPELINE"


class Conflict(MontageError):
    """The request conflicts with the current state."""

    code = "CONFLICT"


class IllegalTransition(Conflict):
    """This status change is not allowed."""

    code = "ILLEGAL_TRANSITION"


class NotWaitingApproval(Conflict):
    """The job is not waiting for approval."""

    code = "NOT_WAITING_APPROVAL"


class WrongStage(ValidationFailed):
    """The job is waiting on another stage."""

    code = "WRONG_STAGE"


class NotCancelable(Conflict):
    """The job has already ended and cannot be canceled."""

    code = "NOT_CANCELABLE"


class NotRetryable(Conflict):
    """Only a failed or canceled job can be retried."""

    code = "NOT_RETRYABLE"


class QueueFull(MontageError):
    """The queue is full."""

    code = "QUEUE_FULL"


class ServiceUnavailable(MontageError):
    """The service is unavailable."""

    code = "SERVICE_UNAVAILABLE"


class StageFailed(MontageError):
    """A stage failed."""

    code = "STAGE_FAILED"


class JobCanceled(MontageError):
    """The job was canceled."""

    code = "CANCELED"


class JobTimedOut(MontageError):
    """The job ran past its timeout."""

    code = "TIMEOUT"


class GeneratorError(MontageError):
    """The generator failed.

    Generators raise this (or a subclass) with a stable ``code`` for failures they
    understand; ``retryable`` says whether another attempt could succeed.
    """

    code = "GENERATOR_ERROR"
    retryable: bool = True

    def __init__(
        self, message: str | None = None, *, code: str | None = None, retryable: bool = True, **details: Any
    ) -> None:
        super().__init__(message, code=code, **details)
        self.retryable = retryable


# -- processing servers, workflow definitions, batch runs (servers-batch-workflows facade) ----------


class ServerNotFound(NotFound):
    """Server not found."""

    code = "SERVER_NOT_FOUND"


class ServerNameTaken(Conflict):
    """A server with this name is already registered."""

    code = "SERVER_NAME_TAKEN"


class ServerInUse(Conflict):
    """The server is processing a task."""

    code = "SERVER_IN_USE"


class ServerDisabled(ValidationFailed):
    """The server is disabled."""

    code = "SERVER_DISABLED"


class ServerUnavailable(ServiceUnavailable):
    """The server cannot take a batch now (not online, or processing another task)."""

    code = "SERVER_UNAVAILABLE"


class WorkflowNotFound(NotFound):
    """Workflow not found."""

    code = "WORKFLOW_NOT_FOUND"


class WorkflowVersionExists(ValidationFailed):
    """A workflow with this name and version already exists."""

    code = "WORKFLOW_VERSION_EXISTS"


class WorkflowArchived(ValidationFailed):
    """The workflow is archived."""

    code = "WORKFLOW_ARCHIVED"


class BatchTaskNotFound(NotFound):
    """Task not found."""

    code = "TASK_NOT_FOUND"


class ExecutionNotFound(NotFound):
    """Execution not found."""

    code = "EXECUTION_NOT_FOUND"


class PathNotAllowed(ValidationFailed):
    """The path is outside the allowed folders."""

    code = "PATH_NOT_ALLOWED"


# -- access, limits and outbound calls (issue 9) -----------------------------------------------------


class Unauthorized(MontageError):
    """A valid API key is required (Authorization: Bearer <key>)."""

    code = "UNAUTHORIZED"


class Forbidden(MontageError):
    """This API key's scope does not allow this request."""

    code = "FORBIDDEN"


class KeyNotFound(NotFound):
    """API key not found."""

    code = "KEY_NOT_FOUND"


class TooManyRequests(MontageError):
    """Too many requests; slow down.

    ``retry_after_s`` says when to try again (the ``Retry-After`` header).
    """

    code = "RATE_LIMITED"

    def __init__(self, message: str | None = None, *, retry_after_s: float = 1.0, code: str | None = None,
                 **details: Any) -> None:
        super().__init__(message, code=code, retry_after_s=retry_after_s, **details)
        self.retry_after_s = retry_after_s


class UrlRefused(ValidationFailed):
    """This URL is not allowed (scheme, or an address montage must not call)."""

    code = "URL_REFUSED"
