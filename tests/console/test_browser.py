"""The operator console in a real browser, end to end (issue 12, "Tested in a real browser").

Headless chromium (Debian's, through Debian's chromium-driver) drives the console of a real hub process on
127.0.0.1; a real screen (``signage sync --once`` processes with their own cache) follows the channel:

1. a clerk logs in and uploads a court's export that has a refused row, and sees it in the report;
2. the clerk submits it, and cannot approve it: no approve button, and a direct POST is refused;
3. a reviewer approves it;
4. the screen gets the new version;
5. the clerk takes one debtor down, and the screen drops it at its next sync;
6. the audit page shows every act, and ``signage audit verify`` passes.

With ``SIGNAGE_SCREENSHOTS=docs/screenshots`` (or ``=1``) each step is saved as
``docs/screenshots/console/NN-name.png``; every page is checked for its stylesheet and for errors in
chromium's console (a CSP violation, a missing file) either way.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.console.browser import (
    ACCEPTED,
    PAGE_SECONDS,
    REFUSED,
    WINDOW,
    Account,
    Console,
    browser,
    console,
    court_export,
    screenshot_dir,
    signage,
)

__all__ = ["browser", "console"]  # fixtures, used by name

CHANNEL = "qingchuan-court"
SCREEN_ID = "browser-test-screen"
#: What the takedown form is given: 韩苓's case number as the export had it, but in full-width brackets and
#: without the space, as a clerk might type it from a paper file.
TAKEDOWN_QUERY = "（2025）鲁0102执2288号"
TAKEDOWN_REASON = "已全部履行（示例）"


class Pages:
    """The browser, with the waits and checks every step needs."""

    def __init__(self, driver: Any, console: Console) -> None:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.console = console
        # A page being replaced (after a click, or by its own polling) has no element, or a stale one, for a
        # moment: the wait goes on.
        self.wait = WebDriverWait(
            driver,
            PAGE_SECONDS,
            poll_frequency=0.05,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        self.shots = screenshot_dir()

    def open(self, path: str) -> None:
        self.driver.get(self.console.page(path))
        self.check_page()

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.until(
            lambda: ec.presence_of_element_located((By.CSS_SELECTOR, css))(self.driver), f"{css}"
        )

    def all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        found: list[Any] = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found

    def until(self, condition: Any, what: str) -> Any:
        """Wait for ``condition()`` to be true; if it never is, fail with the page's text to show why."""
        from selenium.common.exceptions import TimeoutException

        try:
            return self.wait.until(lambda _driver: condition(), what)
        except TimeoutException:
            body = self.driver.find_element("tag name", "body").text
            pytest.fail(f"not within {PAGE_SECONDS} s: {what}\non {self.driver.current_url}:\n{body[:3000]}")

    def log_in(self, account: Account) -> None:
        """Log out whoever was logged in (a fresh session), then log ``account`` in on /login/."""
        self.driver.delete_all_cookies()
        self.open("/login/")
        self.find("#id_username").send_keys(account.name)
        password = self.find("#id_password")
        password.send_keys(account.password)
        # The login form's own button: the header's language switch is a submit button too.
        password.find_element("xpath", "./ancestor::form").find_element(
            "css selector", "button[type=submit]"
        ).click()
        self.until(lambda: "/login/" not in self.driver.current_url, f"{account.name} is logged in")
        self.check_page()

    def check_page(self) -> None:
        """The page is styled (its stylesheet loaded) and chromium logged no error (CSP, missing file)."""
        rules = self.driver.execute_script(
            "return Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)"
        )
        assert rules > 0, f"{self.driver.current_url} is unstyled:\n{self.driver.page_source[:3000]}"
        errors = [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
        ]
        assert not errors, errors

    def shot(self, name: str) -> None:
        """Save the whole page as NN-name.png when screenshots are asked for (256 colours: small in git)."""
        self.check_page()
        if self.shots is None:
            return
        height, chrome = self.driver.execute_script(
            "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
        )
        self.driver.set_window_size(WINDOW[0], max(WINDOW[1], min(int(height) + int(chrome), 4000)))
        try:
            page = Image.open(io.BytesIO(self.driver.get_screenshot_as_png())).convert("RGB")
        finally:
            self.driver.set_window_size(*WINDOW)
        page.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            self.shots / f"{name}.png", optimize=True
        )

    def status(self) -> str:
        """The submission's status badge, as it is now (raises while the page is being replaced)."""
        return str(self.driver.find_element("css selector", "#status").text.strip())

    def table_rows(self, table: str, rows: str = "tr") -> list[list[str]]:
        """The text of the cells of each row ``rows`` (with cells, not headers) of the table ``table``."""
        self.find(table)
        return [
            [cell.text.strip() for cell in row.find_elements("css selector", "td")]
            for row in self.all(f"{table} {rows}")
            if row.find_elements("css selector", "td")
        ]


def _choose_channel(pages: Pages) -> None:
    field = pages.find("#id_channel")
    if field.tag_name == "select":
        from selenium.webdriver.support.ui import Select

        Select(field).select_by_value(CHANNEL)
    else:
        field.clear()
        field.send_keys(CHANNEL)


def _direct_post(console: Console, form: dict[str, Any], cookies: list[dict[str, Any]]) -> requests.Response:
    """POST ``form`` (the approve form, as the reviewer's page has it) with the clerk's session cookies."""
    with requests.Session() as http:
        http.trust_env = False
        for cookie in cookies:
            http.cookies.set(cookie["name"], cookie["value"])
        data = dict(form["fields"])
        # The clerk's own CSRF token: the refusal must come from the four-eyes rule, not from CSRF.
        data["csrfmiddlewaretoken"] = http.cookies.get("csrftoken", "")
        return http.post(form["action"], data=data, timeout=PAGE_SECONDS, allow_redirects=False)


def _approve_form(pages: Pages) -> dict[str, Any]:
    """The action and fields the approve button would send."""
    button = pages.find("button#approve")
    form = button.find_element("xpath", "./ancestor::form")
    fields = {
        element.get_attribute("name"): element.get_attribute("value") or ""
        for element in form.find_elements("css selector", "input[name], textarea[name]")
    }
    if button.get_attribute("name"):
        fields[button.get_attribute("name")] = button.get_attribute("value") or ""
    fields["comment"] = "四眼原则测试（示例）"
    # The DOM's formAction: the button's own absolute URL (approve and reject share a form), else the form's.
    return {"action": button.get_property("formAction"), "fields": fields}


def test_a_list_goes_from_upload_through_review_to_a_screen_and_is_taken_down(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    clerk = console.add_account("clerk-lin", "clerk")
    reviewer = console.add_account("reviewer-han", "reviewer")
    pages = Pages(browser, console)
    export = court_export(tmp_path / "失信被执行人名单导出.xlsx", dt.date.today())

    # 1. The clerk logs in and uploads the export; the refused row shows in the report, by row and 序号.
    pages.open("/login/")
    pages.shot("01-login")
    pages.log_in(clerk)
    pages.open("/upload/")
    pages.find("form#upload-form")
    _choose_channel(pages)
    pages.find("#id_source").send_keys(str(export))
    pages.shot("02-upload")
    pages.find("button#upload-submit").click()
    pages.until(lambda: re.search(r"/submissions/\d+/$", browser.current_url), "the submission's page opens")
    submission_url = browser.current_url
    pages.find("section#report")
    pages.until(lambda: not pages.all("div#import-progress"), "the import finishes")
    refused = pages.until(
        lambda: pages.table_rows("table#report-problems", "tr.sev-refused") or None, "a refused row"
    )
    # Row 8 of the sheet (title, export time, blank line and header above), 序号 4.
    assert [(cells[0], cells[1]) for cells in refused] == [("8", "4")], refused
    assert "身份证号码" in refused[0][2] + refused[0][3]
    assert int(pages.find("#diff-added").text) == len(ACCEPTED)
    diff_text = pages.find("#diff-table").text
    assert all(debtor.name in diff_text for debtor in ACCEPTED) and REFUSED.name not in diff_text
    pages.shot("03-report")

    # 2. The clerk submits; the same clerk cannot approve: no button, an explanation, and a POST is refused.
    pages.find("button#submit-for-review").click()
    pages.until(lambda: pages.status() == "待审核", "the status is 待审核")
    assert not pages.all("button#approve")
    assert pages.find("p#own-submission").is_displayed()
    pages.shot("04-submitted")
    clerk_cookies = browser.get_cookies()

    # 3. A reviewer sees the same page and approves it, after the clerk's own POST of that form was refused.
    pages.log_in(reviewer)
    browser.get(submission_url)
    pages.check_page()
    form = _approve_form(pages)
    assert _direct_post(console, form, clerk_cookies).status_code == 403
    browser.refresh()
    assert pages.status() == "待审核"
    pages.find("textarea#id_comment").send_keys("已核对，同意发布（示例）")
    pages.shot("05-review")
    pages.find("button#approve").click()
    pages.until(lambda: pages.status() == "已发布", "the status is 已发布")
    pages.shot("06-published")

    # 4. A real screen gets the new version: every accepted debtor, never the refused row.
    screen = console.screen(CHANNEL)
    status = screen.sync_until(
        lambda s: s["playlist_version"] and s["displayable"], "the screen has the list"
    )
    assert status["fresh"] is True
    assert sorted(entry["name"] for entry in status["displayable"]) == sorted(d.name for d in ACCEPTED)

    # The screen is registered, plays the list for a while and reports it (proof of play, heartbeat).
    token = console.register_screen(screen_id=SCREEN_ID, name="示例东湖站大屏", location="示例东湖站候车厅")
    screen.report(console.url, token)

    # 5. The clerk takes 韩苓 down by case number; the screen drops her at its next sync, the others stay.
    pages.log_in(clerk)
    pages.open("/takedowns/")
    pages.find("form#takedown-form")
    pages.find("#id_query").send_keys(TAKEDOWN_QUERY)
    pages.find("#id_reason").send_keys(TAKEDOWN_REASON)
    pages.find("button#takedown-submit").click()
    gone = ACCEPTED[1]
    pages.until(
        lambda: any(gone.name in " ".join(cells) for cells in pages.table_rows("table#takedowns")),
        "the takedown is listed",
    )
    screen.sync_until(
        lambda s: gone.name not in [e["name"] for e in s["displayable"]], f"{gone.name} leaves the screen"
    )
    assert sorted(screen.shown_names()) == sorted(d.name for d in ACCEPTED if d != gone)
    # Its next heartbeat acknowledges the takedown, and the takedowns page says so, for that screen.
    screen.report(console.url, token, plays_each=1)
    browser.refresh()
    pages.until(
        lambda: any(
            gone.name in " ".join(cells) and "已生效" in " ".join(cells)
            for cells in pages.table_rows("table#takedowns")
        ),
        "the takedown shows as applied by the screen",
    )
    pages.shot("07-takedown")

    # 6. The audit page shows every act, by whom; the chain verifies.
    pages.open("/audit/")
    events = [" ".join(cells) for cells in pages.table_rows("table#audit-events")]
    for actor, label in (
        (clerk.name, "上传名单"),
        (clerk.name, "提交审核"),
        (reviewer.name, "批准并发布"),
        (clerk.name, "撤回"),
    ):
        assert any(actor in event and label in event for event in events), (actor, label, events)
    assert any(gone.name in event and "撤回" in event for event in events)
    pages.shot("08-audit")
    result = signage("audit", "verify", "--repo", console.repo)
    assert result.returncode == 0, result.stdout + result.stderr

    # 7. The pages the operator guide shows besides these steps: versions (as the reviewer, who may roll
    # back), the fleet and the exposure report with its downloads.
    pages.log_in(reviewer)
    pages.open("/versions/")
    assert pages.table_rows("table#versions")[0][:2] == ["1", str(len(ACCEPTED))]
    pages.shot("09-versions")
    pages.open("/screens/")
    assert any("示例东湖站大屏" in " ".join(cells) for cells in pages.table_rows("table#screens"))
    pages.shot("10-fleet")
    pages.open("/reports/exposure/")
    pages.find("a#download-xlsx")
    exposure = " ".join(" ".join(cells) for cells in pages.table_rows("table#exposure"))
    assert all(debtor.name in exposure for debtor in ACCEPTED), exposure
    pages.shot("11-exposure")


def test_chromium_is_debian_s_and_selenium_is_given_its_driver(browser: Any) -> None:
    capabilities = browser.capabilities
    assert capabilities["browserName"] in {"chrome", "chromium"}
    assert (
        capabilities["chrome"]["chromedriverVersion"].split(".")[0]
        == capabilities["browserVersion"].split(".")[0]
    )
    assert browser.service.path == "/usr/bin/chromedriver"


pytestmark = pytest.mark.timeout(180)
