"""A real hub serving the console on 127.0.0.1, operators' accounts, a real screen, and headless chromium.

Import the fixtures a test module needs by their function names (``from tests.console.browser import
browser, console``); pytest knows them by their short names.

- :func:`console`: a repository made by ``signage repo init``, a hub process serving it (the console,
  the telemetry endpoints and the static TUF repository) on a free port of 127.0.0.1, accounts made by
  ``signage users add``, and screens synced by ``signage sync --once`` processes. Every process is a
  separate program, as on the hub machine and on a screen.
- :func:`browser`: Debian's chromium driven through Debian's chromium-driver. Selenium is given both
  paths, so Selenium Manager never runs and nothing is downloaded; chromium sends nothing anywhere but
  127.0.0.1 (a dead proxy catches anything else).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from openpyxl.styles import Font
from stdnum.cn import ric

from signage.operator.importer.columns import SPC_PUBLICATION_HEADERS
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: The browser's window: a clerk's laptop screen.
WINDOW = (1280, 1000)
#: Seconds a page may take to show what a step waits for (a hang guard; pages answer in milliseconds).
PAGE_SECONDS = 20.0
COURT = "青川市东湖区人民法院"


def _environment() -> dict[str, str]:
    """The child processes' environment: this checkout first on the path, no proxy, no stray database."""
    env = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # A hub for one test, on SQLite beside the repository, whatever the outer run points DATABASE_URL at.
    env.pop("DATABASE_URL", None)
    return env


def signage(
    *argv: str | Path, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``signage ARGV`` as its own process (the command line an operator or installer types)."""
    return subprocess.run(
        [sys.executable, "-m", "signage", *map(str, argv)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_environment(),
        cwd=ROOT,
        check=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Account:
    """An operator's login."""

    name: str
    password: str
    role: str


@dataclass
class Screen:
    """A screen's player config and cache; each :meth:`sync` is one ``signage sync --once`` process."""

    config: Path
    cache_dir: Path

    def sync(self) -> subprocess.CompletedProcess[str]:
        return signage("sync", "--config", self.config, "--once")

    def status(self) -> dict[str, Any]:
        """``signage status --json``: the versions in the cache and the entries the screen may show now."""
        result = signage("status", "--config", self.config, "--json")
        assert result.returncode == 0, result.stderr
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def shown_names(self) -> list[str]:
        return [entry["name"] for entry in self.status()["displayable"]]

    def sync_until(self, condition: Any, what: str) -> dict[str, Any]:
        """Sync again and again until the screen's status satisfies ``condition``; return that status."""

        def synced() -> dict[str, Any]:
            if self.sync().returncode != 0:
                return {}
            status = self.status()
            return status if condition(status) else {}

        return wait_until(synced, timeout=PAGE_SECONDS, interval=0.2, what=what)

    def report(self, hub_url: str, token: str, *, plays_each: int = 3) -> None:
        """Send what the player would: a heartbeat, then proof of play of every displayable entry.

        The screen's own code builds and sends both (its cache, ``debtor_play``, the ``Heartbeat`` and the
        ``Uploader`` with this screen's token), so the hub sees exactly what a playing screen posts. The
        heartbeat goes first, as the player's does, so the hub knows the screen's channel; the plays start
        now, after the version was published (the hub refuses plays from before its publication).
        """
        from signage.sync.client import ScreenSync
        from signage.sync.config import load_player_config
        from signage.sync.fetcher import HttpFetcher
        from signage.sync.telemetry.heartbeat import Heartbeat
        from signage.sync.telemetry.plays import PlayLog, debtor_play
        from signage.sync.telemetry.uploader import Uploader

        config = load_player_config(self.config)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        display = ScreenSync(config, fetcher=HttpFetcher(), clock=lambda: now).current(now)
        assert display.playlist_version is not None
        log = PlayLog(self.cache_dir.parent / "plays.sqlite", clock=lambda: now)
        try:
            for _ in range(plays_each):
                for record in display.records:
                    log.record(
                        debtor_play(
                            config.screen_id,
                            record,
                            playlist_version=display.playlist_version,
                            started=dt.datetime.now(dt.UTC),
                            duration_ms=10_000,
                        )
                    )
            with requests.Session() as session:
                uploader = Uploader(hub_url, token, session=session, clock=lambda: now)
                heartbeat = Heartbeat(
                    screen_id=config.screen_id,
                    channel=display.channel,
                    playlist_version=display.playlist_version,
                    revocations_version=display.revocations_version,
                    verified_until=display.verified_until,
                    last_sync_state="updated",
                    last_sync_message="示例 / sample",
                    uptime_s=600.0,
                    rss_bytes=None,
                    free_disk_bytes=None,
                    disk_read_only=False,
                    clock_offset_s=0.0,
                    on_screen=display.records[0].entry_id if display.records else "standby",
                    sent_at=now,
                )
                assert uploader.send_heartbeat(heartbeat) is not None
                assert uploader.upload(log).ok
        finally:
            log.close()


@dataclass
class Console:
    """A running hub with its repository, its accounts and screens."""

    repo: Path
    url: str
    process: subprocess.Popen[bytes]
    scratch: Path
    accounts: dict[str, Account] = field(default_factory=dict)

    def page(self, path: str) -> str:
        return self.url + path

    def add_account(self, name: str, role: str) -> Account:
        password = f"{name}-Pa55-{os.urandom(6).hex()}"
        result = signage(
            "users",
            "add",
            name,
            "--role",
            role,
            "--repo",
            self.repo,
            "--password-stdin",
            stdin=password + "\n",
        )
        assert result.returncode == 0, result.stdout + result.stderr
        account = Account(name, password, role)
        self.accounts[name] = account
        return account

    def register_screen(self, screen_id: str, name: str, location: str) -> str:
        """``signage screens add``: the screen's token, as an installer gets it."""
        result = signage(
            "screens", "add", "--repo", self.repo, screen_id, "--name", name, "--location", location
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip()

    def screen(self, channel: str, screen_id: str = "browser-test-screen") -> Screen:
        """A screen following ``channel`` on this hub, with the repository's first root as its trust root."""
        folder = self.scratch / screen_id
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "player.toml"
        config.write_text(
            f'screen_id = "{screen_id}"\n'
            f'hub_url = "{self.url}/"\n'
            f'channel = "{channel}"\n'
            f'root = "{self.repo / "public" / "metadata" / "1.root.json"}"\n'
            f'cache_dir = "{folder / "cache"}"\n',
            encoding="utf-8",
        )
        return Screen(config, folder / "cache")


def _start_hub(repo: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the hub on a free port; a port taken between probing and binding gets a second try."""
    for _attempt in range(3):
        port = _free_port()
        log_path = repo.parent / f"hub-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "signage",
                    "hub",
                    "--repo",
                    str(repo),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_environment(),
                cwd=ROOT,
            )
        url = f"http://127.0.0.1:{port}"
        wait_until(
            functools.partial(_answers_or_exited, process, url),
            timeout=60,
            interval=0.1,
            what="the hub answers",
        )
        if process.poll() is None:
            return process, url
    raise AssertionError(f"the hub did not start:\n{log_path.read_text(encoding='utf-8', errors='replace')}")


def _answers_or_exited(process: subprocess.Popen[bytes], url: str) -> bool:
    if process.poll() is not None:
        return True
    with requests.Session() as http:
        http.trust_env = False
        try:
            return http.get(url + "/login/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """``signage repo init``, then the hub serving it on 127.0.0.1 until the test ends."""
    repo = tmp_path / "DIR"
    result = signage("repo", "init", repo)
    assert result.returncode == 0, result.stdout + result.stderr
    process, url = _start_hub(repo)
    try:
        yield Console(repo=repo, url=url, process=process, scratch=tmp_path)
    finally:
        _stop(process)


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless chromium in Chinese, through /usr/bin/chromedriver; Selenium never fetches anything."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.fail(
            "chromium and chromium-driver are missing: make test installs them (apt-get install chromium chromium-driver)"
        )
    # Belt and braces: with the driver's path given Selenium Manager is not asked, and offline it could not
    # download anything even if it were.
    monkeypatch.setenv("SE_OFFLINE", "true")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--lang=zh-CN",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--metrics-recording-only",
        "--no-pings",
        # Anything chromium might fetch on its own goes to a closed port; loopback is never proxied.
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        # chromium's sandbox needs user namespaces it refuses to use as root.
        options.add_argument("--no-sandbox")
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    # chromium's console (CSP violations, failed loads) for the test to read.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(PAGE_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot_dir() -> Path | None:
    """Where to write the console's screenshots: ``$SIGNAGE_SCREENSHOTS/console``, or nowhere when unset.

    ``SIGNAGE_SCREENSHOTS=docs/screenshots`` (as for the slides' screenshots) or ``=1`` (the same folder)
    rewrites the tracked PNGs; ``make test`` leaves them alone.
    """
    value = os.environ.get("SIGNAGE_SCREENSHOTS")
    if not value:
        return None
    base = ROOT / "docs" / "screenshots" if value == "1" else Path(value)
    target = base / "console"
    target.mkdir(parents=True, exist_ok=True)
    return target


# --- a court's export, as its system writes it -------------------------------------------------------------


def fictional_id(birth: str, sequence: str) -> str:
    """An 18-character ID in the non-existent region 999999, with a valid check digit."""
    body = "999999" + birth + sequence
    return body + ric.calc_check_digit(body + "0")


@dataclass(frozen=True)
class Debtor:
    """One row of the export, by what a clerk sees: serial, name and case number as written."""

    serial: int
    name: str
    case_number: str


#: The rows the import accepts. 韩苓's case number has half-width brackets and a space, as typed by hand.
ACCEPTED = (
    Debtor(1, "林雨桐", "（2025）鲁0102执2234号"),
    Debtor(2, "韩苓", "(2025) 鲁0102执2288号"),
    Debtor(3, "青川市星河示例贸易有限公司", "（2025）鲁0102执2302号"),
)
#: The row refused: its ID number's check digit is wrong (one digit mistyped).
REFUSED = Debtor(4, "欧阳紫芃", "（2025）鲁0102执2341号")


def court_export(path: Path, today: dt.date) -> Path:
    """A fictional XLSX laid out as court systems export it, listed around ``today``.

    A merged title row, an 导出时间 line and a blank line above the SPC's headers; brackets of both widths;
    one row with a mistyped ID number (refused); a 合计 row and a 制表人 line below the list.
    """
    listed = today - dt.timedelta(days=40)
    filed = today - dt.timedelta(days=400)
    bad_id = fictional_id("19900101", "358")
    bad_id = bad_id[:-1] + ("0" if bad_id[-1] != "0" else "1")
    rows: list[list[object]] = [
        [1, ACCEPTED[0].name, fictional_id("19800312", "123"), "", COURT, "（2024）鲁0102民初188号",
         ACCEPTED[0].case_number, filed, listed, "全部未履行", "有履行能力而拒不履行生效法律文书确定义务", 48000, None],
        [2, ACCEPTED[1].name, fictional_id("19751108", "246"), "", COURT, "（2024）鲁0102民初202号",
         ACCEPTED[1].case_number, filed, listed, "部分未履行", "违反财产报告制度", 126000, 36500.5],
        [3, ACCEPTED[2].name, "919999995AH6LFM05H", "蒋岚", COURT, "（2023）鲁01民终177号",
         ACCEPTED[2].case_number, filed, listed, "全部未履行", "违反限制消费令", 2350000, None],
        [4, REFUSED.name, bad_id, "", COURT, "（2024）鲁0102民初231号",
         REFUSED.case_number, filed, listed, "全部未履行", "违反财产报告制度", 8800, None],
    ]  # fmt: skip
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "失信被执行人名单"
    sheet.append([f"{COURT}失信被执行人名单（示例数据，全部虚构）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(SPC_PUBLICATION_HEADERS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"导出时间：{today:%Y-%m-%d} 10:31:02"])
    sheet.append([])
    sheet.append(list(SPC_PUBLICATION_HEADERS))
    for values in rows:
        sheet.append(values)
    total = sum(int(str(values[11])) for values in rows)
    sheet.append(["合计", f"共 {len(rows)} 条", "", "", "", "", "", "", "", "", "", total])
    sheet.append(["制表人：（示例）", "", "审核人：（示例）"])
    book.save(path)
    return path
