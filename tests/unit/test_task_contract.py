"""The task-manager facade's tables: status words, error codes and bodies, payload rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from montage.api.tasks import STATUS, WORDS, error_body
from montage.domain.jobs import JobStatus
from montage.generators.builtin.kb.payloads import task_input_model
from montage.pipelines.tasks import TASK_TYPES


def test_every_core_status_has_one_of_the_five_words() -> None:
    assert set(STATUS) == set(JobStatus)
    assert set(STATUS.values()) == set(WORDS) == {"queued", "processing", "completed", "failed", "canceled"}


@pytest.mark.parametrize(("status", "code", "expected"), [
    (404, "JOB_NOT_FOUND", "TASK_NOT_FOUND"), (409, "NOT_CANCELABLE", "TASK_NOT_CANCELABLE"),
    (409, "NOT_RETRYABLE", "TASK_NOT_RETRYABLE"), (503, "QUEUE_FULL", "QUEUE_FULL"),
    (400, "VALIDATION_ERROR", "INVALID_REQUEST"), (400, "PDF_ENCRYPTED", "INVALID_REQUEST"),
    (503, "SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"), (500, "BOOM", "INTERNAL_ERROR"),
])
def test_error_bodies_carry_the_contract_codes(status: int, code: str, expected: str) -> None:
    body = error_body(status, code, "it went wrong", {"job_id": "job_1"})
    assert set(body) == {"error", "message", "code", "details"}
    assert body["code"] == expected and body["details"]["task_id"] == "job_1" and "job_id" not in body["details"]
    assert body["error"] and body["message"]
    if code not in ("JOB_NOT_FOUND", "NOT_CANCELABLE", "NOT_RETRYABLE", "QUEUE_FULL", "VALIDATION_ERROR",
                    "SERVICE_UNAVAILABLE"):
        assert body["details"]["reason"] == code


def test_not_found_uses_the_contract_message() -> None:
    assert error_body(404, "JOB_NOT_FOUND", "Job not found", {})["message"] == "Task with specified ID does not exist"


def test_payload_rules_per_task_type() -> None:
    assert set(TASK_TYPES) >= {"document_processing", "batch_processing", "knowledge_indexing",
                               "embedding_generation", "vector_storage", "health_check"}
    model = task_input_model("document_processing")
    parsed = model.model_validate({"kb_id": "kb", "payload": {"file_path": "/tmp/uploads/a.pdf"}})
    assert parsed.model_dump()["payload"] == {"file_path": "/tmp/uploads/a.pdf", "chunk_size": 1000,
                                              "chunk_overlap": 200}
    refused = [
        ("document_processing", {"file_path": "/a.txt", "chunk_size": 100, "chunk_overlap": 100}),
        ("document_processing", {"file_path": "/a.txt", "colour": "red"}),
        ("batch_processing", {"folder": "/a", "files": ["/b.txt"]}),
        ("batch_processing", {}),
        ("health_check", {"url": "file:///etc/passwd"}),
        ("vector_storage", {"vectors": [{"text": "a", "vector": [1, 0]}, {"text": "b", "vector": [1, 0, 0]}]}),
    ]
    for task_type, payload in refused:
        with pytest.raises(ValidationError):
            task_input_model(task_type).model_validate({"kb_id": "kb", "payload": payload})
