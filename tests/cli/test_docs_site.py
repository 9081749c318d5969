"""The dbt docs site, opened in a real headless browser (Debian's chromium, localhost only).

A tiny landing day is built into a fresh DuckDB warehouse, `orchestrator.runtime.docs.generate_site` runs
`dbt docs generate --static`, then:
- `dbt docs serve --host 127.0.0.1` (the README's local command) serves it and chromium shows each layer's
  page: the landing source, the staging model, both dimensions, the fact and the reports, each linked
  to the next one (the lineage);
- the page `publish_site` uploads (one self-contained file) is read back from (moto) S3 and opened from
  disk: it shows the same lineage without any server.
A screenshot of the fact's lineage graph is kept in tests/artifacts/docs_lineage.png.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import pytest
from infra_support import ROOT, chromium
from landing import Address, Day, Item, Landing, Sale, customer_id, natural_id
from moto import mock_aws
from PIL import Image

from orchestrator.runtime.docs import DocsSite, generate_site, publish_site

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "tests" / "artifacts"
DAY = date(2002, 1, 10)
SERVER_DEADLINE_SECONDS = 60.0
M = "model.store_sales."
S = "source.store_sales.tpcds."
# Each page of the chain and the links its "Depends On" / "Referenced By" sections must show:
# landing sources -> staging -> both dimensions -> fact -> reports.
LINEAGE: dict[str, dict[str, set[str]]] = {
    f"source/{S}customer_address": {"referenced_by": {f"{M}stg_tpcds__customer_addresses"}},
    f"source/{S}item": {"referenced_by": {f"{M}stg_tpcds__items"}},
    f"source/{S}store_sales": {"referenced_by": {f"{M}stg_tpcds__store_sales"}},
    f"model/{M}dim_customer_address": {
        "depends_on": {f"{M}stg_tpcds__customer_addresses"},
        "referenced_by": {f"{M}fct_store_sales"},
    },
    f"model/{M}dim_item": {"depends_on": {f"{M}stg_tpcds__items"}, "referenced_by": {f"{M}fct_store_sales"}},
    f"model/{M}fct_store_sales": {
        "depends_on": {f"{M}dim_customer_address", f"{M}dim_item", f"{M}stg_tpcds__store_sales"},
        "referenced_by": {f"{M}rpt_daily_store_sales", f"{M}rpt_weekly_region_sales"},
    },
}
SECTION = re.compile(r'<div class="section-target" id="(depends_on|referenced_by)"></div>(.*?)</section>', re.DOTALL)
LINK = re.compile(r'href="#!/(?:model|source|seed)/([^"#]+)"')


def sections(dom: str) -> dict[str, set[str]]:
    """The unique ids linked from the page's rendered Depends On / Referenced By sections."""
    return {name: set(LINK.findall(body)) for name, body in SECTION.findall(dom)}


def assert_lineage(page: str, dom: str) -> None:
    shown = sections(dom)
    for section, expected in LINEAGE[page].items():
        assert expected <= shown.get(section, set()), f"{page} {section} shows {shown.get(section)}"


@pytest.fixture(scope="module")
def site() -> Iterator[DocsSite]:
    root = Path(tempfile.mkdtemp(prefix="docs-site-"))
    landing = Landing(root / "data")
    landing.write_reference()
    item, address = natural_id("ITEM", 1), natural_id("ADDR", 1)
    landing.write_day(
        DAY, Day([Address(address)], [Item(item)], [Sale(1, item, customer_id(1), address, natural_id("STORE", 1))])
    )
    env = {
        "STORE_SALES_DATA_DIR": str(root / "data"),
        "STORE_SALES_DUCKDB": str(root / "warehouse.duckdb"),
        "STORE_SALES_TARGET": "local",
        "STORE_SALES_WINDOW_START": DAY.isoformat(),
        "STORE_SALES_WINDOW_END": DAY.isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    subprocess.run([str(BIN / "dbt"), "build", "--quiet", *paths(root)], check=True, env={**os.environ, **env})
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield generate_site(ROOT, ROOT, "local", root / "target", root / "logs")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(root, ignore_errors=True)


def paths(root: Path) -> list[str]:
    return ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
            "--target-path", str(root / "target"), "--log-path", str(root / "logs")]  # fmt: skip


def browser(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
    ]
    return subprocess.run([chromium(), *flags, *args], capture_output=True, text=True, check=True, timeout=180)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(site: DocsSite) -> Iterator[str]:
    """`dbt docs serve` on 127.0.0.1 (the README's local command); yields the site's URL."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "dbt"), "docs", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-browser",
         *paths(site.directory.parent)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + SERVER_DEADLINE_SECONDS
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, "dbt docs serve exited"
            assert time.monotonic() < deadline, "dbt docs serve did not listen"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("page", sorted(LINEAGE))
def test_served_site_links_each_layer_to_the_next(served: str, page: str, tmp_path: Path) -> None:
    assert_lineage(page, browser("--dump-dom", f"{served}#!/{page}", profile=tmp_path / "profile").stdout)


def test_published_page_shows_the_lineage_without_a_server(site: DocsSite, tmp_path: Path) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="store-sales-artifacts")
        uri = publish_site(site, "store-sales-artifacts", "docs", s3)
        assert uri == "s3://store-sales-artifacts/docs/index.html"
        page = tmp_path / "index.html"
        s3.download_file("store-sales-artifacts", "docs/index.html", str(page))
        head = s3.head_object(Bucket="store-sales-artifacts", Key="docs/index.html")
        assert head["ContentType"].startswith("text/html")
    fact = f"model/{M}fct_store_sales"
    assert_lineage(fact, browser("--dump-dom", f"{page.as_uri()}#!/{fact}", profile=tmp_path / "profile").stdout)


def test_lineage_graph_screenshot(served: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "docs_lineage.png"
    shot.unlink(missing_ok=True)
    url = f"{served}#!/model/{M}fct_store_sales?g_v=1"
    browser("--window-size=1600,1000", f"--screenshot={shot}", url, profile=tmp_path / "profile")
    with Image.open(shot) as image:
        assert (image.format, image.size) == ("PNG", (1600, 1000))
        grey = image.convert("L")
        darkest, lightest = grey.getextrema()
        colours = len(grey.getcolors(maxcolors=256) or [])
    assert lightest - darkest > 100 and colours > 20, "the screenshot is blank: the docs site did not render"
