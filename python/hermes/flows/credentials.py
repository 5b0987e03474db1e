"""Settings without credentials for everything Prefect records; credentials from the environment.

Prefect stores each flow run's parameters in its database (``<lake>/_prefect/prefect.db``
by default) and may show task inputs in its UI and events. The flows therefore hand
:func:`without_secrets` settings to every flow and task, and each of them calls
:func:`with_secrets` where it opens the lake: the S3 keys are read again from the process
environment (``HERMES_S3_ACCESS_KEY``/``HERMES_S3_SECRET_KEY`` or the AWS names) and never
travel through Prefect.
"""

from __future__ import annotations

from dataclasses import replace

from hermes.config import Settings


def without_secrets(settings: Settings) -> Settings:
    """``settings`` with the S3 access key and secret key removed (safe to record)."""
    if settings.s3 is None or (settings.s3.access_key is None and settings.s3.secret_key is None):
        return settings
    return replace(settings, s3=replace(settings.s3, access_key=None, secret_key=None))


def with_secrets(settings: Settings) -> Settings:
    """``settings`` with the S3 keys of the current environment (unchanged off S3)."""
    if settings.s3 is None or settings.s3.secret_key is not None:
        return settings
    env = Settings.from_env(target=settings.target).s3
    if env is None or env.secret_key is None:
        return settings
    return replace(
        settings, s3=replace(settings.s3, access_key=env.access_key, secret_key=env.secret_key)
    )
