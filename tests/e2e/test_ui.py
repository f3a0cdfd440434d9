"""The dashboard at /ui in a real headless Chromium, against the real server process.

Screenshots at phone (390×844) and desktop (1440×900) widths go to tests/e2e/screenshots/.
Skipped when /usr/bin/chromium is missing (scripts/system-deps.sh installs it).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.server import ServerProcess

CHROMIUM = Path(os.environ.get("MONTAGE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SEED_DOC = "# 深度学习入门\n\n## 基础概念\n深度学习是机器学习的一个分支...\n\n## 神经网络\n神经网络的基本结构包括..."
REASON = "计划不够详细，需要补充更多内容"

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (scripts/system-deps.sh)")]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("ui") / "data").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, ui_server: ServerProcess) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, base_url=ui_server.url, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def http(ui_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui_server.url, timeout=30) as client:
        yield client


def shoot(page: Any, name: str) -> None:
    """Save the page at desktop and phone widths (full length), then go back to desktop."""
    SHOTS.mkdir(exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.evaluate("document.fonts.ready")
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_root_redirects_and_an_empty_dashboard_offers_the_seed_examples(page: Any, http: httpx.Client) -> None:
    assert http.get("/", follow_redirects=False).headers["location"] == "/ui"
    page.goto("/")
    page.wait_for_selector("body[data-jobs-rendered]")
    assert page.url.endswith("/ui")
    examples = page.locator("[data-example]")
    assert examples.count() == 3
    assert "深度学习入门" in page.locator(".welcome").inner_text()
    assert page.locator("#nav a[aria-current=page]").inner_text() == "Jobs"
    shoot(page, "01-empty")


def wait_gate(page: Any, stage: str) -> None:
    page.wait_for_selector(f".approval[data-stage={stage}] .review, .approval[data-stage={stage}] .artifact-grid",
                           timeout=90_000)


def test_markdown_job_rejected_then_approved_runs_to_a_playable_video(page: Any) -> None:
    page.goto("/ui/submit/doc-video")
    page.set_input_files("input[name=file]", files=[{"name": "intro.md", "mimeType": "text/markdown",
                                                     "buffer": SEED_DOC.encode()}])
    page.wait_for_function("document.querySelector('textarea[name=content]').value.includes('神经网络')")
    page.fill("input[name=style]", "Google 风格")
    page.select_option("select[name=language]", "zh-CN")
    page.click("form[data-form=doc-video] button[type=submit]")
    page.wait_for_url("**/ui/jobs/job_*")

    wait_gate(page, "PLAN")
    page.wait_for_selector("[data-review=plan] h3:has-text('深度学习入门')")
    assert page.locator("[data-review=plan] .sections > li").count() == 2
    shoot(page, "02-plan-gate")

    page.click("button[data-action=reject]")  # no reason: refused in the page, nothing sent
    assert page.locator(".reject .field-error").inner_text() == "A reason is required to reject."
    assert page.get_attribute("#reject-reason", "aria-invalid") == "true"
    page.fill("#reject-reason", REASON)
    page.click("button[data-action=reject]")
    page.wait_for_selector(f".approval[data-stage=PLAN] .history li:has-text('{REASON}')", timeout=90_000)
    page.wait_for_selector(f"[data-review=plan] :text('{REASON}')")  # the new plan was made with the feedback
    assert page.locator(".log li[data-kind=approval]").filter(has_text="rejected").count() == 1

    page.fill("#approve-comment", "好")
    page.click("button[data-action=approve]")
    wait_gate(page, "NARRATION")
    page.wait_for_selector("[data-review=narration] .scripts li audio")
    assert page.locator("[data-review=narration] .scripts > li").count() == 3
    page.click("button[data-action=approve]")

    wait_gate(page, "PAGES")
    page.wait_for_function("[...document.querySelectorAll('.thumbs img')].filter(i => i.complete && "
                           "i.naturalWidth === 1920).length === 3", timeout=60_000)
    shoot(page, "03-pages-gate")
    page.click("button[data-action=approve]")

    page.wait_for_selector("main[data-status=SUCCEEDED] .result video", timeout=120_000)
    assert page.locator(".badge[data-status=SUCCEEDED]").first.inner_text().startswith("已完成")
    played = page.evaluate("""async () => {
        const v = document.querySelector('.result video');
        v.muted = true;
        await v.play();
        await new Promise((resolve) => v.addEventListener('timeupdate', function seen() {
            if (v.currentTime > 0.3) { v.removeEventListener('timeupdate', seen); resolve(); }
        }));
        v.pause();
        return {time: v.currentTime, width: v.videoWidth, duration: v.duration};
    }""")
    assert played["time"] > 0.3 and played["width"] == 1920 and played["duration"] > 5, played
    assert page.locator(".timeline .stage[data-status=SUCCEEDED]").count() == 6
    shoot(page, "04-completed")

    page.click("nav.crumbs a")
    page.wait_for_selector("tr[data-status=SUCCEEDED] .job-link:has-text('深度学习入门')")
    assert page.locator("tr[data-status=SUCCEEDED] a[data-action=files]").first.get_attribute("href", timeout=5000) \
        .endswith("#files")  # done: download and details, as the contract's UI guidance has it
    shoot(page, "05-list")


def test_a_running_job_is_canceled_after_confirmation_and_retried(page: Any) -> None:
    page.goto("/ui/submit/core")
    page.select_option("select[name=pipeline]", "steps")
    page.fill("textarea[name=input]", '{"seconds": 30}')
    page.click("form[data-form=core] button[type=submit]")
    page.wait_for_url("**/ui/jobs/job_*")
    page.wait_for_selector(".timeline .stage[data-status=RUNNING]")

    page.click("button[data-action=cancel]")
    page.click("dialog.confirm button[value=no]")  # keep it: nothing happens
    assert page.locator("main[data-status=RUNNING]").count() == 1
    page.click("button[data-action=cancel]")
    page.click("dialog.confirm button[data-confirm]")
    page.wait_for_selector("main[data-status=CANCELED]")
    assert page.locator(".badge[data-status=CANCELED]").first.inner_text().startswith("已取消")
    assert page.locator("button[data-action=cancel]").count() == 0
    assert page.locator(".note").inner_text().startswith("Canceled.")
    shoot(page, "06-canceled")

    page.click("button[data-action=retry]")
    page.click("dialog.confirm button[data-confirm]")
    page.wait_for_selector("main[data-status=RUNNING], main[data-status=QUEUED]")
    page.click("button[data-action=cancel]")
    page.click("dialog.confirm button[data-confirm]")
    page.wait_for_selector("main[data-status=CANCELED]")


def test_the_list_follows_jobs_live_and_filters_and_pages(page: Any, http: httpx.Client) -> None:
    page.goto("/ui")
    page.wait_for_selector(".live[data-state=live]")
    job = http.post("/api/v1/jobs", json={"pipeline": "demo", "input": {"seconds": 0}}).json()
    row = f"tr[data-job-id={job['id']}]"
    page.wait_for_selector(f"{row}[data-status=WAITING_APPROVAL]")  # appeared and moved on, no reload
    http.post(f"/api/v1/jobs/{job['id']}/approve", json={"stage": "draft"}).raise_for_status()
    page.wait_for_selector(f"{row}[data-status=SUCCEEDED]")

    for _ in range(20):
        http.post("/api/v1/jobs", json={"pipeline": "noop"}).raise_for_status()
    page.goto("/ui?pipeline=noop")
    page.wait_for_selector("body[data-jobs-rendered]")
    page.wait_for_function("document.querySelectorAll('table.jobs tbody tr').length === 20")
    assert "of 20" in page.locator(".pager .count").inner_text()
    page.select_option("#filter-pipeline", "")
    page.wait_for_function("/of 2[3-9]/.test(document.querySelector('.pager .count').textContent)")
    page.click(".pager a[rel=next]")
    page.wait_for_function("/page 2 of/.test(document.querySelector('.pager .count').textContent)")
    assert "page=2" in page.url
    page.select_option("#filter-status", "CANCELED")
    page.wait_for_function("document.querySelectorAll('table.jobs tbody tr').length === 1")
    assert page.locator("tr[data-status=CANCELED]").count() == 1


def test_a_server_is_registered_from_the_servers_page(page: Any, http: httpx.Client) -> None:
    page.goto("/ui/servers")
    page.wait_for_selector("section.panel .empty, table.data")
    page.fill("input[name=name]", "gpu-1")
    page.fill("input[name=url]", "http://127.0.0.1:9/")
    page.select_option("select[name=type]", "comfyui")
    page.fill("input[name=batch_size]", "2")
    page.click("form[data-form=server] button[type=submit]")
    page.wait_for_selector("tr[data-server=gpu-1]")
    assert "comfyui" in page.locator("tr[data-server=gpu-1]").inner_text()
    assert page.input_value("input[name=batch_size]") == "1"  # the form is back to its defaults
    page.fill("input[name=name]", "gpu-1")  # the same name again: the server's error, shown on the form
    page.fill("input[name=url]", "http://127.0.0.1:9/")
    page.click("form[data-form=server] button[type=submit]")
    page.wait_for_selector("form[data-form=server] .error-box:has-text('already registered')")

    page.click("tr[data-server=gpu-1] button[data-action=edit]")  # edit: the server's own error first
    page.fill("dialog input[name=url]", "ftp://127.0.0.1:9/")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("dialog[open] .error-box:has-text('http:// or https://')")
    page.fill("dialog input[name=url]", "http://127.0.0.1:9/v2")
    page.fill("dialog input[name=batch_size]", "3")
    page.select_option("dialog select[name=status]", "maintenance")
    page.uncheck("dialog input[name=enabled]")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("tr[data-server=gpu-1] .badge[data-status=maintenance]")
    saved = http.get("/servers/gpu-1").json()
    assert (saved["url"], saved["batch_size"], saved["status"], saved["enabled"]) == \
        ("http://127.0.0.1:9/v2", 3, "maintenance", False), saved
    assert page.locator("dialog[open]").count() == 0
    shoot(page, "07-servers")


def test_the_tasks_page_shows_counts_queue_depth_by_priority_and_workers(page: Any, http: httpx.Client) -> None:
    http.post("/api/v1/tasks", json={"task_type": "noop", "kb_id": "kb-ui", "payload": {}}).raise_for_status()
    page.goto("/ui/tasks")
    page.wait_for_selector("[data-overview] [data-figure=total]")
    total = http.get("/api/v1/stats/tasks").json()["total_tasks"]
    page.wait_for_function(f"Number(document.querySelector('[data-figure=total] .value').textContent) >= {total}")
    assert page.locator("[data-overview] [data-figure^=queue-]").count() == 5  # four priorities and all
    worker = http.get("/api/v1/stats/system").json()["workers"][0]
    row = page.locator(f"[data-overview] tr[data-worker='{worker['id']}']")
    assert "ago" in row.locator("time").inner_text()  # its heartbeat
    shoot(page, "09-tasks")


def test_a_workflow_lists_its_versions_and_makes_a_new_one(page: Any, http: httpx.Client) -> None:
    page.goto("/ui/workflows")
    page.click("tr[data-workflow=local-image][data-version='1.0.0'] details.versions summary")
    page.wait_for_selector("tr[data-workflow=local-image] .version-list li[data-version='1.0.0']")
    page.click("tr[data-workflow=local-image] [data-action=new-version]")
    page.wait_for_selector("tr[data-workflow=local-image][data-version='1.0.1']")
    versions = http.get("/workflows/0/versions").json()
    assert [v["version"] for v in versions] == ["1.0.0", "1.0.1"] and versions[1]["parent_id"] == 0
    shoot(page, "10-workflows")


def test_every_page_in_the_navigation_opens_by_keyboard(page: Any) -> None:
    page.goto("/ui")
    page.wait_for_selector("body[data-jobs-rendered]")
    labels = page.locator("#nav a:not(.external)").all_inner_texts()
    assert labels == ["Jobs", "Submit", "Videos", "Tasks", "Servers", "Workflows", "Batch"]
    for label in labels[1:]:
        page.locator("#nav a", has_text=label).focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#nav a[aria-current=page]:has-text('{label}')")
        page.wait_for_selector("main h1")
        page.wait_for_function("document.activeElement.id === 'main'")  # focus moved to the new page
    page.go_back()
    page.wait_for_selector("#nav a[aria-current=page]:has-text('Workflows')")


def test_a_failed_job_shows_its_error_code_and_detail_and_offers_retry(page: Any, http: httpx.Client) -> None:
    job = http.post("/api/v1/jobs", json={"pipeline": "steps", "input": {"fail_times": 5}}).json()
    page.goto(f"/ui/jobs/{job['id']}")
    page.wait_for_selector("main[data-status=FAILED]")
    failed = http.get(f"/api/v1/jobs/{job['id']}").json()["error"]
    box = page.locator(".error-box").first
    assert box.locator("code").inner_text() == failed["code"]
    assert failed["message"] in box.inner_text()
    assert page.locator(".badge[data-status=FAILED]").first.inner_text().startswith("失败")
    assert page.locator(".timeline .stage[data-stage=two] .stage-error").count() == 1
    assert page.locator("button[data-action=retry]").count() == 1
    assert page.locator(".log li.level-error").count() >= 1
    shoot(page, "08-failed")

    page.goto("/ui?status=FAILED")  # the list too: the reason, and Retry (after a confirmation)
    row = page.locator(f"tr[data-job-id={job['id']}]")
    row.wait_for()
    assert failed["code"] in row.locator(".row-error").inner_text()
    row.locator("button[data-action=retry]").click()
    page.click("dialog.confirm button[data-confirm]")
    page.wait_for_selector(".toast:has-text('Retry: done')")
    assert http.get(f"/api/v1/jobs/{job['id']}").json()["attempts"] > 1 or \
        http.get(f"/api/v1/jobs/{job['id']}").json()["status"] != "FAILED"


def test_a_video_is_generated_from_the_form_with_first_and_last_frames(page: Any, http: httpx.Client) -> None:
    def png(color: tuple[int, int, int]) -> bytes:
        data = io.BytesIO()
        Image.new("RGB", (64, 36), color).save(data, "PNG")
        return data.getvalue()

    page.goto("/ui/videos")
    page.fill("textarea[name=prompt]", "纸船顺着下雨的街道漂流")
    page.fill("input[name=resolution]", "480p")
    page.fill("input[name=duration]", "2")
    page.set_input_files("input[name=image_file_1]", files=[{"name": "first.png", "mimeType": "image/png",
                                                             "buffer": png((220, 40, 40))}])
    page.set_input_files("input[name=image_file_2]", files=[{"name": "last.png", "mimeType": "image/png",
                                                             "buffer": png((40, 40, 220))}])
    page.click("form[data-form=video] button[type=submit]")
    link = page.wait_for_selector("table.data a[href^='/ui/jobs/']")
    task_id = (link.get_attribute("href") or "").rsplit("/", 1)[-1]
    job = http.get(f"/api/v1/jobs/{task_id}").json()
    assert [p["role"] for p in job["input"]["pictures"]] == ["first", "last"]  # sent as multipart uploads
    page.goto(f"/ui/jobs/{task_id}")
    page.wait_for_selector("main[data-status=SUCCEEDED] .result video", timeout=120_000)
