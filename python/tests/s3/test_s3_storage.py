"""hermes.storage and Settings on the s3 target, against the live local S3 endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermes import storage
from hermes.config import S3Settings, Settings
from s3.local_s3 import LocalS3, unique_prefix


@pytest.fixture
def s3_lake(local_s3: LocalS3, tmp_path: Path) -> Settings:
    return local_s3.settings(tmp_path / "lake", unique_prefix("storage"))


def test_settings_from_env_put_landing_and_data_on_s3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in {
        "HERMES_LAKE_ROOT": str(tmp_path),
        "HERMES_TARGET": "s3",
        "HERMES_S3_BUCKET": "market-lake",
        "HERMES_S3_PREFIX": "team/hermes/",
        "HERMES_S3_ENDPOINT": "http://minio:9000",
        "HERMES_S3_USE_SSL": "false",
        "AWS_ACCESS_KEY_ID": "AKEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env()
    assert settings.landing_root == "s3://market-lake/team/hermes/landing"
    assert settings.data_path == "s3://market-lake/team/hermes/data/"
    assert settings.catalog_attach == f"ducklake:{tmp_path / 'hermes.ducklake'}"
    assert settings.s3 is not None and settings.s3.secret_key == "not-a-real-secret"
    assert settings.s3.use_ssl is False and settings.s3.url_style == "path"
    assert "not-a-real-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HERMES_S3_BUCKET", "Bad_Bucket", "not a valid bucket name"),
        ("HERMES_S3_PREFIX", "a'; drop", "HERMES_S3_PREFIX may only hold"),
        ("HERMES_S3_PREFIX", "../other", "HERMES_S3_PREFIX may only hold"),
        ("HERMES_S3_URL_STYLE", "virtual", "HERMES_S3_URL_STYLE must be path or vhost"),
        ("HERMES_CATALOG_URL", "postgres:dbname=h password=x", "must not contain a password"),
        ("HERMES_CATALOG_URL", "mysql:db=h", "must start with 'postgres:'"),
        ("HERMES_TARGET", "gcs", "HERMES_TARGET must be one of local, s3"),
    ],
)
def test_bad_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("HERMES_TARGET", "s3")
    monkeypatch.setenv("HERMES_S3_BUCKET", "market-lake")
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        Settings.from_env()


def test_s3_target_without_bucket_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_TARGET", "s3")
    monkeypatch.delenv("HERMES_S3_BUCKET", raising=False)
    with pytest.raises(ValueError, match="HERMES_TARGET=s3 needs HERMES_S3_BUCKET"):
        Settings.from_env()


def test_write_read_list_move_delete_on_s3(s3_lake: Settings, local_s3: LocalS3) -> None:
    landing = s3_lake.landing_root
    storage.write_bytes_atomic(s3_lake, f"{landing}/csv/BTCUSDT/1d/a.csv", b"open,close\n1,2\n")
    storage.write_bytes_atomic(s3_lake, f"{landing}/csv/BTCUSDT/1d/b.txt", b"x")
    assert storage.read_bytes(s3_lake, f"{landing}/csv/BTCUSDT/1d/a.csv") == b"open,close\n1,2\n"
    assert storage.list_files(s3_lake, landing, suffix=".csv") == [
        f"{landing}/csv/BTCUSDT/1d/a.csv"
    ]

    storage.move(s3_lake, f"{landing}/csv/BTCUSDT/1d/a.csv", f"{landing}/_quarantine/a.csv")
    assert not storage.exists(s3_lake, f"{landing}/csv/BTCUSDT/1d/a.csv")
    assert storage.exists(s3_lake, f"{landing}/_quarantine/a.csv")
    storage.delete(s3_lake, f"{landing}/csv/BTCUSDT/1d/b.txt")
    storage.delete(s3_lake, f"{landing}/csv/BTCUSDT/1d/b.txt")  # already gone: no error

    prefix = s3_lake.s3.prefix if s3_lake.s3 else ""
    # The objects really are in the bucket, under the lake's prefix (seen with another client);
    # keys ending in "/" are the folder markers pyarrow leaves when a folder empties.
    objects = [key for key in local_s3.keys(f"{prefix}/") if not key.endswith("/")]
    assert objects == [f"{prefix}/landing/_quarantine/a.csv"]


def test_missing_object_is_file_not_found(s3_lake: Settings) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(s3_lake, f"{s3_lake.landing_root}/nothing-here.csv")


def test_wrong_secret_names_the_endpoint_not_the_secret(local_s3: LocalS3, tmp_path: Path) -> None:
    wrong = "WrongSecretMarker0123456789abcdefghijklmn"
    settings = Settings(
        lake_root=tmp_path,
        target="s3",
        s3=local_s3.s3_settings(unique_prefix("wrong"), secret_key=wrong),
    )
    with pytest.raises(storage.StorageError) as caught:
        storage.write_bytes_atomic(settings, f"{settings.landing_root}/x.csv", b"1")
    message = str(caught.value)
    assert f"S3 endpoint {local_s3.endpoint}" in message
    assert f"{settings.landing_root}/x.csv" in message
    assert "signature we calculated does not match" in message
    assert wrong not in message


def test_endpoint_down_names_the_endpoint(tmp_path: Path) -> None:
    from s3.local_s3 import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings(
        lake_root=tmp_path,
        target="s3",
        s3=S3Settings(
            bucket="hermes-test",
            endpoint=endpoint,
            use_ssl=False,
            access_key="AKEXAMPLE",
            secret_key="SecretMarkerDown",
        ),
    )
    with pytest.raises(storage.StorageError) as caught:
        storage.list_files(settings, settings.landing_root)
    message = str(caught.value)
    assert message.startswith(f"S3 endpoint {endpoint}: cannot list {settings.landing_root}")
    assert "SecretMarkerDown" not in message
