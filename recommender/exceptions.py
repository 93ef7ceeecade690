"""Errors of the retrain pipeline; each message is one readable line for commands and the API."""

from __future__ import annotations

from typing import Any


class RetrainError(Exception):
    """A retrain could not produce a new active version."""

    def __init__(self, message: str, version: Any = None):
        super().__init__(message)
        self.version = version


class NoTrainingData(RetrainError):
    """There are no watch events to learn from."""


class AlreadyRunning(RetrainError):
    """Another retrain holds the lock."""

    def __init__(self, message: str = "A retrain is already running; try again when it has finished."):
        super().__init__(message)


class BrokerUnavailable(RetrainError):
    """The task broker (Redis) could not be reached, so nothing was queued."""

    def __init__(
        self, message: str = "The task queue (Redis) is unreachable; the retrain was not queued. Try again later."
    ):
        super().__init__(message)


class ArtifactUnavailable(RetrainError):
    """A version's saved model is missing or does not match the checksum recorded when it was saved."""
