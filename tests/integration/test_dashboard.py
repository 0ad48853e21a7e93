"""The comparison pivot and the web dashboard against real nodes: two institutes publish the same
model, task and metric; the UK's record reaches the US node by sync. Pages are read in headless
chromium (Debian's, driven by Playwright) and over plain HTTP."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evalfed.client.node_client import NodeClient
from evalfed.client.publisher import new_result_record, publish_records
from evalfed.core.bundles import verify_bundle
from evalfed.core.codec import bundle_from_json
from evalfed.core.records import audience_from_text
from evalfed.core.timeutil import iso_of_us, now_us
from evalfed.core.validate import embargo_end_us
from evalfed.dashboard import views
from evalfed.dashboard.serve import Dashboard, serving
from evalfed.v1.node_pb2 import QueryRequest
from evalfed.v1.record_pb2 import Audience, Record, Retraction
from tests.conftest import DATABASES, Federation, database_maker, run_cli, start_node, wait_for
from tests.results import result

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MODEL = "openai/gpt-4o-mini"
HOSTILE_MODEL = '<img src=x onerror="alert(1)">'
EMBARGO_END = embargo_end_us(now_us() + 30 * 86_400 * 1_000_000)


@dataclass
class Published:
    us: Any
    uk: Any
    us_id: str
    uk_id: str
    restricted_id: str
    embargoed_id: str
    retracted_id: str


def _result(task: str, value: float, stderr: float | None, model: str = MODEL) -> Any:
    r = result(model=model, task=task, value=value)
    if stderr is None:
        r.scores[0].metrics[0].ClearField("stderr")
    else:
        r.scores[0].metrics[0].stderr = stderr
    return r


def publish(node: Any, federation: Federation, institute: str, bodies: list[Record]) -> list[str]:
    with NodeClient(node.address, federation.keys[institute]) as client:
        return [outcome.id for outcome in publish_records(client, bodies)]


@pytest.fixture(scope="module", params=DATABASES)
def published(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, federation: Federation
) -> Iterator[Published]:
    """US and UK nodes, each the other's partner, shared by the module's tests (on SQLite, then
    on PostgreSQL): see `publish_scenario`."""
    root = tmp_path_factory.mktemp("dashboard")
    with database_maker(request) as new_database:
        us = start_node(federation, root / "us", "us-aisi", new_database())
        uk = start_node(federation, root / "uk", "uk-aisi", new_database(), (us.address,))
        try:
            with NodeClient(us.address, federation.keys["us-aisi"]) as client:
                client.update_peers([uk.address], [])
            yield publish_scenario(us, uk, federation)
        finally:
            uk.stop(grace_s=0)
            us.stop(grace_s=0)


def publish_scenario(us: Any, uk: Any, federation: Federation) -> Published:
    """The US and the UK each publish gpqa for one model (0.412 ± 0.035 and 0.430 ± 0.020:
    they agree) and mmlu (0.70 ± 0.01 and 0.80 ± 0.01: they differ); the US also publishes a
    record for the UK only, and the UK retracts a third; all of it reaches the US node."""
    members, uk_only = audience_from_text(""), audience_from_text("uk-aisi")
    us_id, _, restricted_id, embargoed_id = publish(us, federation, "us-aisi", [
        new_result_record(_result("gpqa", 0.412, 0.035), members),
        new_result_record(_result("mmlu", 0.70, 0.01), members),
        new_result_record(_result("cyber_uplift", 0.18, 0.04), uk_only),
        new_result_record(_result("bio_uplift", 0.12, 0.03), uk_only, EMBARGO_END),
    ])  # fmt: skip
    uk_id, _, retracted_id = publish(uk, federation, "uk-aisi", [
        new_result_record(_result("gpqa", 0.430, 0.020), members),
        new_result_record(_result("mmlu", 0.80, 0.01), members),
        new_result_record(_result("simpleqa", 0.3, None), members),
    ])  # fmt: skip
    retraction = Record(retraction=Retraction(target=retracted_id, reason="wrong grader"))
    publish(uk, federation, "uk-aisi", [retraction])
    with NodeClient(us.address, federation.keys["us-aisi"]) as client:
        wait_for(us, lambda: len(list(client.query(QueryRequest(origin="uk-aisi")))) == 4)
        wait_for(us, lambda: client.get(retracted_id).record.retracted)
    return Published(us, uk, us_id, uk_id, restricted_id, embargoed_id, retracted_id)


@pytest.fixture(scope="module")
def dashboard(published: Published, federation: Federation) -> Iterator[Dashboard]:
    """The dashboard over the US node, signing as the US."""
    with (
        NodeClient(published.us.address, federation.keys["us-aisi"]) as client,
        serving(client) as running,
    ):
        yield running


def fetch(url: str, host: str | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


# -- the pivot on the command line -----------------------------------------------------------


def test_compare_pivots_institutes_into_columns_with_a_verdict(
    published: Published, federation: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    node = ("--node", published.us.address, "--key", str(federation.key_path("us-aisi")))
    code, out, err = run_cli(capsys, "compare", *node, "--model", MODEL, "--json")
    assert code == 0, err
    rows = {row["task"]: row for row in map(json.loads, out.splitlines())}
    assert set(rows) == {"gpqa", "mmlu", "simpleqa", "cyber_uplift", "bio_uplift"}
    gpqa = rows["gpqa"]
    assert (gpqa["scorer"], gpqa["metric"], gpqa["label"]) == (
        "choice",
        "accuracy",
        "choice/accuracy",
    )
    assert {k: v["value"] for k, v in gpqa["institutes"].items()} == {
        "uk-aisi": 0.430,
        "us-aisi": 0.412,
    }
    assert gpqa["verdict"] == "agree" and gpqa["pair"] == ["uk-aisi", "us-aisi"]
    assert gpqa["difference"] == pytest.approx(-0.018)
    assert gpqa["se"] == pytest.approx((0.035**2 + 0.020**2) ** 0.5)
    assert gpqa["z"] == pytest.approx(-0.4465, abs=1e-4) and gpqa["level"] == 0.95
    assert rows["mmlu"]["verdict"] == "differ" and rows["mmlu"]["z"] == pytest.approx(-7.071, 1e-3)
    retracted = rows["simpleqa"]["institutes"]["uk-aisi"]
    assert "RETRACTED" in retracted["marks"] and not retracted["counted"]
    restricted = rows["cyber_uplift"]["institutes"]["us-aisi"]
    assert restricted["marks"] == ["restricted to uk-aisi"] and restricted["audience"] == "uk-aisi"

    code, out, _ = run_cli(capsys, "compare", *node)
    assert code == 0
    lines = [line for line in out.splitlines() if "gpqa" in line]
    assert len(lines) == 1 and "0.43 ± 0.02" in lines[0] and "0.412 ± 0.035" in lines[0]
    assert "agree (z=-0.4465)" in lines[0]
    assert "differ" in out and "RETRACTED" in out and "restricted to uk-aisi" in out
    assert "agree when |z| < 1.96" in out


# -- the web app over HTTP -------------------------------------------------------------------


def test_pages_carry_no_key_and_a_policy_that_loads_nothing_from_elsewhere(
    dashboard: Dashboard, published: Published, federation: Federation
) -> None:
    from cryptography.hazmat.primitives import serialization

    raw = federation.keys["us-aisi"]._key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    secrets = [raw.hex(), base64.b64encode(raw).decode()]
    secrets += federation.key_path("us-aisi").read_text().splitlines()[1:-1]
    pages = ("", "members", "partners", f"models/{MODEL}", "tasks/gpqa")
    for path in (*pages, f"records/{published.us_id}"):
        status, headers, body = fetch(dashboard.url + path)
        assert status == 200, (path, body)
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert headers["cache-control"] == "no-store"
        assert not [secret for secret in secrets if secret in body]
        assert "http://" not in body.replace(dashboard.url, "") and "https://" not in body


def test_a_request_for_another_host_is_refused(dashboard: Dashboard) -> None:
    """DNS rebinding: a page at evil.example whose name now points to 127.0.0.1 makes the
    browser send Host: evil.example. Before the host check it was served the matrix."""
    status, _, body = fetch(dashboard.url, host="evil.example")
    assert status == 400 and "gpqa" not in body
    assert fetch(dashboard.url, host="localhost")[0] == 200


def test_a_hostile_model_name_is_shown_as_text(
    published: Published, dashboard: Dashboard, federation: Federation
) -> None:
    hostile = _result("xss", 0.5, 0.01, HOSTILE_MODEL)
    publish(published.uk, federation, "uk-aisi", [new_result_record(hostile, Audience())])
    with NodeClient(published.us.address, federation.keys["us-aisi"]) as client:
        wait_for(published.us, lambda: any(client.query(QueryRequest(model=HOSTILE_MODEL))))
    _, _, body = fetch(dashboard.url)
    assert "<img src=x" not in body and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in body


def test_a_page_past_the_record_limit_asks_for_a_filter(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "DASHBOARD_MAX_RECORDS", 3)
    status, _, body = fetch(dashboard.url)
    assert status == 413 and "more than 3 records match; pick a model or a task" in body
    assert fetch(dashboard.url + "tasks/gpqa")[0] == 200


def test_unknown_and_malformed_record_ids_are_not_found(dashboard: Dashboard) -> None:
    assert fetch(dashboard.url + "records/" + "0" * 64)[0] == 404
    assert fetch(dashboard.url + "records/..%2F..%2Fetc")[0] == 404
    assert fetch(dashboard.url + "records/" + "0" * 64 + "/bundle")[0] == 404


def test_the_dashboard_refuses_a_non_loopback_address(
    federation: Federation, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(federation.key_path("us-aisi"))
    code, _, err = run_cli(capsys, "dashboard", "--node", "127.0.0.1:1", "--key", key,
                           "--listen", "0.0.0.0:0")  # fmt: skip
    assert code == 1 and "--allow-non-loopback" in err and "key" in err
    assert "PRIVATE" not in err


@pytest.mark.timeout(60)
def test_evalfed_dashboard_command_serves_the_matrix(
    published: Published, federation: Federation
) -> None:
    command = [sys.executable, "-m", "evalfed.client.cli", "dashboard", "--node",
               published.us.address, "--key", str(federation.key_path("us-aisi")),
               "--federation", str(federation.charter_path), "--listen", "127.0.0.1:0"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "calls signed as us-aisi" in line, line
        url = line.split(": ", 1)[1].split(" ")[0]
        status, _, body = fetch(url)
        assert status == 200 and "0.412 ± 0.035" in body and "0.43 ± 0.02" in body
    finally:
        process.terminate()
        process.wait(timeout=20)


# -- in a real browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module; skipped without it (failed when CI=true)."""
    if not os.path.exists(CHROMIUM) or shutil.which("chromium") is None:
        reason = f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the browser tests must run)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def matrix_row(page: Any, task: str) -> Any:
    return page.locator("#matrix tbody tr", has=page.locator(f'td a:text-is("{task}")'))


@pytest.mark.browser
def test_the_matrix_shows_both_institutes_values_and_the_verdict(
    page: Any, dashboard: Dashboard
) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(dashboard.url)
    assert page.locator("#matrix thead th.inst").all_inner_texts() == ["uk-aisi", "us-aisi"]
    gpqa = matrix_row(page, "gpqa")
    assert gpqa.locator('td[data-institute="us-aisi"]').inner_text().startswith("0.412 ± 0.035")
    assert gpqa.locator('td[data-institute="uk-aisi"]').inner_text().startswith("0.43 ± 0.02")
    assert gpqa.locator("td.verdict").inner_text() == "agree"
    assert gpqa.locator("svg.chart circle").count() == 2
    assert matrix_row(page, "mmlu").locator("td.verdict").inner_text() == "differ"
    assert "RETRACTED" in matrix_row(page, "simpleqa").inner_text()
    assert "restricted to uk-aisi" in matrix_row(page, "cyber_uplift").inner_text()
    assert (
        f"embargoed until {iso_of_us(EMBARGO_END)}" in matrix_row(page, "bio_uplift").inner_text()
    )
    assert all(url.startswith(dashboard.url) for url in requested), requested
    assert page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == (
        "rgb(31, 58, 95)"
    )  # the packaged stylesheet loaded

    page.click(f'#matrix a:text-is("{MODEL}")')
    page.wait_for_url(f"**/models/{MODEL}")
    assert page.locator("h1").inner_text() == f"Model {MODEL}"
    assert matrix_row(page, "gpqa").locator("td.verdict").inner_text() == "agree"
    page.goto(dashboard.url + "tasks/cyber_uplift")
    assert "restricted to uk-aisi" in page.locator("#matrix").inner_text()


@pytest.mark.browser
def test_a_record_page_shows_its_signer_and_gives_its_bundle(
    page: Any, dashboard: Dashboard, published: Published, federation: Federation
) -> None:
    page.goto(dashboard.url)
    matrix_row(page, "gpqa").locator('td[data-institute="uk-aisi"] a').click()
    page.wait_for_url(f"**/records/{published.uk_id}")
    assert page.locator("#signer").inner_text() == "uk-aisi"
    assert page.locator("#signature").inner_text().startswith("valid: signed by uk-aisi's key")
    assert federation.keys["uk-aisi"].key_id in page.locator("#record").inner_text()
    assert "us-aisi's node" in page.locator("#record").inner_text()
    with page.expect_download() as download:
        page.click("text=Download bundle")
    bundle = bundle_from_json(Path(download.value.path()).read_text())
    assert verify_bundle(bundle, federation.charter).id == published.uk_id

    page.goto(dashboard.url + f"records/{published.restricted_id}")
    assert "restricted to uk-aisi" in page.locator(".labels").inner_text()
    page.goto(dashboard.url + f"records/{published.embargoed_id}")
    assert f"embargoed until {iso_of_us(EMBARGO_END)}" in page.locator(".labels").inner_text()
    page.goto(dashboard.url + "tasks/bio_uplift")
    assert "embargoed until" in page.locator("#matrix").inner_text()
    page.goto(dashboard.url + "members")
    assert {"us-aisi", "uk-aisi", "ca-aisi"} <= set(
        page.locator("#members tbody td:first-child").all_inner_texts()
    )
    page.goto(dashboard.url + "partners")
    assert published.uk.address in page.locator("#partners").inner_text()


@pytest.mark.browser
def test_a_key_outside_the_audience_sees_the_restricted_record_nowhere(
    page: Any, published: Published, federation: Federation
) -> None:
    with (
        NodeClient(published.us.address, federation.keys["ca-aisi"]) as client,
        serving(client) as outsider,
    ):
        pages = ("", f"models/{MODEL}", "tasks/cyber_uplift", "tasks/bio_uplift", "members",
                 "partners")  # fmt: skip
        for path in pages:
            page.goto(outsider.url + path)
            text = page.content()
            for hidden in (published.restricted_id, published.embargoed_id, "cyber_uplift</a>",
                           "bio_uplift</a>"):  # fmt: skip
                assert hidden not in text, (path, hidden)
            assert "restricted" not in page.locator("main").inner_text(), path
            assert "embargo" not in page.locator("main").inner_text(), path
        page.goto(outsider.url)
        assert page.locator("#signed-as").inner_text() == "ca-aisi"
        assert matrix_row(page, "gpqa").locator("td.verdict").inner_text() == "agree"
        for hidden in (published.restricted_id, published.embargoed_id):
            response = page.goto(outsider.url + f"records/{hidden}")
            assert response.status == 404 and "not found" in page.locator("#error").inner_text()
            assert page.request.get(outsider.url + f"records/{hidden}/bundle").status == 404
