"""Errors the API maps to HTTP statuses; each message says what was wrong and how to fix it."""

from __future__ import annotations

from signal_factory.errors import SignalFactoryError


class ApiError(SignalFactoryError):
    """An API request that cannot be served; `status` is the HTTP status it maps to."""

    status = 400


class BadRequestError(ApiError):
    """The request's parameters or body are wrong."""

    status = 400


class NotFoundError(ApiError):
    """The thing asked for does not exist."""

    status = 404


class ConflictError(ApiError):
    """The request is valid but the resource's state does not allow it."""

    status = 409
