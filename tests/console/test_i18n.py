"""The console speaks Chinese by default and English when the operator asks for it.

- The English catalogue is complete: ``msgfmt --check`` finds no fuzzy or empty entry and every placeholder
  intact, and the committed ``django.mo`` (what Django loads) holds exactly what ``django.po`` says.
- The browser's Accept-Language does not matter: only the switch in the top bar (``/i18n/setlang/``) selects
  English, and switching back gives Chinese again.
- In English the pages' own words are English: the only Chinese left is data (names, case numbers, the
  export's column names) and the switch back, which names Chinese in Chinese.
- Headless chromium renders the home and a submission page in English to PNG (``$SIGNAGE_SCREENSHOTS``
  keeps them; otherwise they go to the test's temporary folder).

Real SQLite, a real repository, the real import thread; the pages through Django's test client and, for
the screenshots, through pytest-django's live server on 127.0.0.1.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.console.browser import PAGE_SECONDS, browser, screenshot_dir
from tests.console.test_publish import (
    PASSWORD,
    Submission,
    export_with_changes,
    imported,
    operator,
    repo,
    upload,
)

__all__ = ["browser", "repo"]  # fixtures, used by name

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "signage" / "operator" / "hub" / "locale" / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_message_has_an_english_translation_and_the_mo_is_compiled_from_the_po(tmp_path):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "gettext is missing: make deps installs it (apt-get install gettext)"
    compiled = tmp_path / "django.mo"
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", str(compiled), str(MESSAGES / "django.po")],
        capture_output=True,
        text=True,
        check=False,
    )
    # --check: the header, and every python-format placeholder of a msgid present in its msgstr.
    assert result.returncode == 0, result.stderr
    statistics = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ translated messages?\.", statistics), statistics
    assert int(statistics.split()[0]) > 200

    def catalogue(path: Path) -> dict[Any, str]:
        with path.open("rb") as handle:
            found: dict[Any, str] = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
            return found

    fresh, committed = catalogue(compiled), catalogue(MESSAGES / "django.mo")
    assert fresh == committed, "django.mo is stale: run make messages and commit it"
    assert all(value.strip() for key, value in fresh.items() if key != "")


def english(client: Client, next_url: str = "/") -> None:
    """Press the switch in the top bar: English."""
    answer = client.post("/i18n/setlang/", {"language": "en", "next": next_url})
    assert answer.status_code == 302 and answer["Location"] == next_url


def test_the_login_page_is_chinese_whatever_the_browser_asks_for():
    page = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page and "<h1>登录</h1>" in page and "用户名" in page
    # The switch names the other language in that language.
    assert 'id="language-switch" lang="en">English</button>' in page
    assert '<button type="submit" id="login-submit"' in page


def test_the_switch_turns_the_console_english_and_back_to_chinese(repo, tmp_path):
    visitor = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    english(visitor, "/login/")
    page = visitor.get("/login/").content.decode()
    assert '<html lang="en">' in page and "<h1>Log in</h1>" in page and "User name" in page
    assert 'lang="zh-hans">简体中文</button>' in page

    clerk = operator("clerk-a", "clerk")
    submission = imported(upload(clerk, export_with_changes(tmp_path)))
    assert submission.status == Submission.Status.DRAFT, submission.error
    english(clerk)
    home = clerk.get("/").content.decode()
    assert "My lists" in home and "Upload a list" in home and ">clerk</span>" in home
    page = clerk.get(f"/submissions/{submission.pk}/").content.decode()
    assert "Check results" in page and "Differences from the live list" in page
    assert "Serial no." in page and "Submit for review" in page
    # The refused row's problem in English, from the import's own bilingual message.
    assert "<b>Fix:</b>" in page and "修改" not in page

    answer = clerk.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert answer.status_code == 302
    home = clerk.get("/").content.decode()
    assert '<html lang="zh-hans">' in home and "我的名单" in home and "书记员" in home
    assert "My lists" not in home


def test_no_chinese_is_left_in_the_english_pages_own_words(repo, tmp_path):
    """The home page and the upload form in English: Chinese only in the data and the switch back."""
    clerk = operator("clerk-b", "clerk")
    english(clerk)
    for url in ("/", "/upload/", "/takedowns/", "/versions/", "/screens/", "/reports/exposure/", "/audit/"):
        page = clerk.get(url).content.decode()
        chrome = page.replace('lang="zh-hans">简体中文</button>', "")
        # Data shown on these pages: the channel's debtors on the takedown page's list, none otherwise.
        chrome = re.sub(r"示例\w+|[（(]\d{4}[）)][^<\s]*号", "", chrome)
        left = sorted(set(CJK.findall(chrome)))
        assert not left, f"{url} still has Chinese of its own in English: {''.join(left)}"


def test_chromium_renders_the_home_and_a_submission_page_in_english(repo, tmp_path, live_server, browser):
    """Log in through the form, press the switch, and keep PNGs of the English home and submission pages."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    clerk = operator("clerk-c", "clerk")
    submission = imported(upload(clerk, export_with_changes(tmp_path)))
    # While a page is being replaced, an element found on the old one goes stale: look again.
    wait = WebDriverWait(
        browser,
        PAGE_SECONDS,
        ignored_exceptions=(StaleElementReferenceException, NoSuchElementException),
    )
    browser.get(f"{live_server.url}/login/")
    browser.find_element("css selector", "#id_username").send_keys("clerk-c")
    browser.find_element("css selector", "#id_password").send_keys(PASSWORD)
    browser.find_element("css selector", "button#login-submit").click()
    wait.until(lambda driver: "/login/" not in driver.current_url)
    browser.find_element("css selector", "#language-switch").click()
    wait.until(lambda driver: driver.find_element("tag name", "html").get_attribute("lang") == "en")
    folder = screenshot_dir() or tmp_path
    for name, url, heading in (
        ("english-home", "/", "My lists"),
        ("english-submission", f"/submissions/{submission.pk}/", "Check results"),
    ):
        browser.get(live_server.url + url)
        wait.until(lambda driver, text=heading: text in driver.find_element("tag name", "body").text)
        rules = browser.execute_script(
            "return Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)"
        )
        assert rules > 0, f"{url} is unstyled"
        browser.set_window_size(1280, max(1000, browser.execute_script("return document.body.scrollHeight")))
        assert browser.save_screenshot(str(folder / f"{name}.png"))
        assert (folder / f"{name}.png").stat().st_size > 10_000
