"""dbt docs: generate the documentation site (lineage included) and publish it to the artifacts bucket.

`generate_site` runs `dbt docs generate --static` against the warehouse (the catalog reads the tables),
writing only under a work directory; `publish_site` uploads the self-contained page (dbt's
static_index.html, with the manifest and catalog inlined) as `<prefix>/index.html`, plus manifest.json
and catalog.json, so an analyst opens one object (a presigned URL or a download) and sees the lineage.

On AWS the docs function of the stack runs `handler` (same image as the runner; the deploy command
invokes it after every deploy). Locally: `dbt docs generate` then `dbt docs serve --host 127.0.0.1`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import settings
from orchestrator.aws import aws_client
from orchestrator.errors import ConfigurationError, DocsError
from orchestrator.runtime import thread_locks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

thread_locks.install()

DOCS_BUCKET_ENV = "STORE_SALES_DOCS_BUCKET"
DOCS_PREFIX_ENV = "STORE_SALES_DOCS_PREFIX"
DEFAULT_DOCS_PREFIX = "docs"
SITE_PAGE = "static_index.html"
SITE_DATA = ("manifest.json", "catalog.json")


@dataclass(frozen=True)
class DocsSite:
    """A generated site: `page` is self-contained; `directory` is what `dbt docs serve` serves."""

    directory: Path

    @property
    def page(self) -> Path:
        return self.directory / SITE_PAGE


def generate_site(project_dir: Path, profiles_dir: Path, target: str, target_path: Path, log_path: Path) -> DocsSite:
    """`dbt docs generate --static` into `target_path`; raises DocsError when dbt fails."""
    from dbt.cli.main import dbtRunner

    args = [
        "--quiet",
        "docs",
        "generate",
        "--static",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target",
        target,
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
    ]
    result = dbtRunner().invoke(args)
    site = DocsSite(target_path)
    missing = [name for name in (SITE_PAGE, *SITE_DATA) if not (target_path / name).is_file()]
    if not result.success or missing:
        detail = result.exception or f"missing {', '.join(missing)}"
        raise DocsError(
            f"dbt docs generate failed for target {target!r} of {project_dir}: {detail}; "
            "check that the warehouse is reachable and the models were built"
        )
    return site


def publish_site(site: DocsSite, bucket: str, prefix: str, s3_client: S3Client) -> str:
    """Upload the site to s3://bucket/prefix/; returns the URI of its page."""
    key_prefix = prefix.strip("/")
    uploads = [(site.page, f"{key_prefix}/index.html", "text/html; charset=utf-8")]
    uploads += [(site.directory / name, f"{key_prefix}/{name}", "application/json") for name in SITE_DATA]
    try:
        for path, key, content_type in uploads:
            s3_client.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
    except Exception as error:  # botocore raises several unrelated types (ClientError, EndpointError...)
        raise DocsError(
            f"uploading the dbt docs to s3://{bucket}/{key_prefix}/ failed: {error}; "
            "check the bucket name and the role's s3:PutObject permission on that prefix"
        ) from None
    return f"s3://{bucket}/{key_prefix}/index.html"


def handler(event: Any, context: Any) -> dict[str, str]:
    """Lambda entrypoint of the docs function: generate against the warehouse, publish to the bucket."""
    bucket = os.environ.get(DOCS_BUCKET_ENV)
    if not bucket:
        raise ConfigurationError(f"{DOCS_BUCKET_ENV} is not set: the docs function does not know where to publish")
    prefix = os.environ.get(DOCS_PREFIX_ENV) or DEFAULT_DOCS_PREFIX
    project = settings.project_dir()
    work = Path(tempfile.mkdtemp(prefix="dbt-docs-"))
    try:
        site = generate_site(
            project,
            Path(os.environ.get("DBT_PROFILES_DIR") or project),
            settings.dbt_target(),
            work / "target",
            work / "logs",
        )
        uri = publish_site(site, bucket, prefix, aws_client("s3"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"docs": uri}
