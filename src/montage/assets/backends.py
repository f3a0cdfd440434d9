"""Choosing the artifact store from the settings: local folder (default) or S3."""

from __future__ import annotations

from montage.assets.store import AssetStore
from montage.settings import Settings


def open_asset_store(settings: Settings) -> AssetStore:
    """The store ``MONTAGE_ASSETS_BACKEND`` names; an S3 bucket is checked to answer."""
    if settings.assets_backend == "local":
        return AssetStore(settings.assets_dir)
    from montage.assets.s3 import S3AssetStore, S3Location

    if not settings.s3_bucket:
        from montage.errors import ValidationFailed

        raise ValidationFailed("MONTAGE_S3_BUCKET is required with MONTAGE_ASSETS_BACKEND=s3", field="s3_bucket")
    where = S3Location(
        bucket=settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
        access_key_id=settings.generator_setting("s3_access_key_id"),
        secret_access_key=settings.generator_setting("s3_secret_access_key"), prefix=settings.s3_prefix,
    )
    store = S3AssetStore(settings.assets_dir, where)
    store.check()
    return store
