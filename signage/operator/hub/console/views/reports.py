"""The exposure report (曝光量, ``console:exposure``): how often and how long each entry was on screen, per
China-local day, over a date range; on the page and as CSV and XLSX downloads.

Entries are named by name and case number, never by internal id: from the channels' current lists, the
takedowns, and the versions the console published. Operator notices and the standby slide are named as
such. Every text cell of a download is safe to open in a spreadsheet: text starting with = + - @ (or a tab
or carriage return) gets a leading apostrophe, so Excel shows it instead of running it as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from signage.operator.hub.console.models import PublishedVersion
from signage.operator.hub.console.views.common import PermittedMixin
from signage.operator.hub.context import hub_context
from signage.operator.hub.screens import queries
from signage.operator.hub.screens.ingest import china_day
from signage.operator.publish.channel import current_playlist, published_channels
from signage.operator.publish.ledger import Ledger

#: Days a report covers by default: the last week, today included.
DEFAULT_DAYS: Final = 7
#: The longest range one report may cover (a year and a day, for a leap year).
MAX_DAYS: Final = 366
#: The earliest and latest days a report may ask for; screens played nothing outside them.
FIRST_DAY: Final = dt.date(2000, 1, 1)
LAST_DAY: Final = dt.date(2100, 12, 31)
#: Characters that make a spreadsheet read a cell as a formula.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


class RangeForm(forms.Form):
    """The report's days: ``date_from`` to ``date_to``, both optional, read against ``today``.

    A missing ``date_to`` is today, a missing ``date_from`` the week up to ``date_to``. Days are bounded
    (:data:`FIRST_DAY` to :data:`LAST_DAY`) before any arithmetic, so that no query string can push a date
    past what ``datetime.date`` holds; the cleaned data then holds the two days counted.
    """

    date_from = forms.DateField(
        label=gettext_lazy("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_date_from(self) -> dt.date | None:
        return _within_bounds(self.cleaned_data.get("date_from"))

    def clean_date_to(self) -> dt.date | None:
        return _within_bounds(self.cleaned_data.get("date_to"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data  # a field is invalid or out of bounds: the report falls back to the last week
        end = data.get("date_to") or self.today
        start = data.get("date_from") or end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError(gettext_lazy("起始日期晚于截止日期。"))
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(gettext_lazy("一次最多统计 366 天。"))
        data["date_from"], data["date_to"] = start, end
        return data


def _within_bounds(day: dt.date | None) -> dt.date | None:
    """``day`` if a report may count it; a form error otherwise."""
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise forms.ValidationError(
            gettext_lazy("日期须在 %(first)s 至 %(last)s 之间。"),
            params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return day


@dataclass(frozen=True)
class ExposureLine:
    """One entry on one day, summed over the screens."""

    day: dt.date
    name: str
    case_number: str
    plays: int
    seconds: float
    screens: int


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never evaluates it."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def report_range(request: HttpRequest, today: dt.date) -> tuple[RangeForm, dt.date, dt.date]:
    """The form and the days it asks for; the last week up to ``today`` when the form is invalid."""
    form = RangeForm(request.GET or None, today=today)
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    start, end = today - dt.timedelta(days=DEFAULT_DAYS - 1), today
    if not form.is_bound:
        # The fields show the days counted.
        form = RangeForm(initial={"date_from": start, "date_to": end}, today=today)
    return form, start, end


def exposure_lines(start: dt.date, end: dt.date) -> list[ExposureLine]:
    """The report's lines, by day and then by most plays."""
    totals: dict[tuple[dt.date, str], list[Any]] = {}
    for row in queries.exposure(start, end):
        line = totals.setdefault((row.day, row.entry_id), [0, 0, set()])
        line[0] += row.plays
        line[1] += row.milliseconds
        line[2].add(row.screen_id)
    names = _names({entry_id for _day, entry_id in totals})
    lines = [
        ExposureLine(day, *names[entry_id], plays, milliseconds / 1000, len(screens))
        for (day, entry_id), (plays, milliseconds, screens) in totals.items()
    ]
    return sorted(lines, key=lambda line: (line.day, -line.plays, line.name, line.case_number))


def _names(entry_ids: set[str]) -> dict[str, tuple[str, str]]:
    """Entry id -> (name, case number) for the report; never the id itself."""
    names: dict[str, tuple[str, str]] = {}
    wanted = {e for e in entry_ids if not e.startswith("notice:") and e != "standby"}
    repository = hub_context().repository()
    ledger = Ledger(repository.directory / "revoked.json")
    for channel in published_channels(repository):
        playlist = current_playlist(repository, channel)
        for record in playlist.records if playlist else ():
            if record.entry_id in wanted:
                names[record.entry_id] = (record.debtor.name, record.case_number)
        for taken in ledger.takedowns(channel).values():
            if taken.entry_id in wanted:
                names.setdefault(taken.entry_id, (taken.name, taken.case_number))
    missing = wanted - names.keys()
    if missing:
        # Entries no longer listed: the versions the console published, newest first.
        for records in (
            PublishedVersion.objects.order_by("-published_at").values_list("records", flat=True).iterator()
        ):
            for item in records if isinstance(records, list) else ():
                entry_id = str(item.get("id", "")) if isinstance(item, dict) else ""
                if entry_id in missing:
                    debtor = item.get("debtor") if isinstance(item.get("debtor"), dict) else {}
                    names[entry_id] = (str(debtor.get("name", "")), str(item.get("case_number", "")))
                    missing.discard(entry_id)
            if not missing:
                break
    for entry_id in entry_ids - names.keys():
        if entry_id == "standby":
            names[entry_id] = (_("待机画面"), "")
        elif entry_id.startswith("notice:"):
            names[entry_id] = (_("通知"), "")
        else:
            names[entry_id] = (_("（已不在名单中的条目）"), "")
    return names


def _header() -> list[str]:
    return [_("日期"), _("姓名"), _("案号"), _("曝光次数"), _("展示时长（秒）"), _("屏幕数")]


def _cells(line: ExposureLine) -> list[Any]:
    return [
        line.day,
        safe_cell(line.name),
        safe_cell(line.case_number),
        line.plays,
        round(line.seconds, 1),
        line.screens,
    ]


class ExposureView(PermittedMixin, View):
    permission_required = "console.view_reports"

    def get(self, request: HttpRequest) -> HttpResponse:
        today = china_day(hub_context().clock())
        form, start, end = report_range(request, today)
        lines = exposure_lines(start, end)
        query = request.GET.urlencode() if form.is_bound and form.is_valid() else ""
        return render(
            request,
            "console/exposure.html",
            {
                "form": form,
                "start": start,
                "end": end,
                "lines": lines,
                "plays": sum(line.plays for line in lines),
                "query": query,
            },
        )


class ExposureDownload(PermittedMixin, View):
    """The same report as ``fmt``: ``csv`` (UTF-8 with a BOM, so Excel reads the Chinese) or ``xlsx``."""

    permission_required = "console.view_reports"
    fmt = "csv"

    def get(self, request: HttpRequest) -> HttpResponse:
        today = china_day(hub_context().clock())
        _form, start, end = report_range(request, today)
        lines = exposure_lines(start, end)
        name = f"exposure-{start:%Y%m%d}-{end:%Y%m%d}.{self.fmt}"
        if self.fmt == "xlsx":
            body = _xlsx(lines)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body = "\ufeff".encode() + "".join(_csv_lines(lines)).encode("utf-8")
            content_type = "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def _csv_lines(lines: Iterable[ExposureLine]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_header())
    yield buffer.getvalue()
    for line in lines:
        buffer.seek(0)
        buffer.truncate()
        cells = _cells(line)
        cells[0] = cells[0].isoformat()
        writer.writerow(cells)
        yield buffer.getvalue()


def _xlsx(lines: Iterable[ExposureLine]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("曝光量"))
    sheet.append(_header())
    for line in lines:
        cells = _cells(line)
        day = WriteOnlyCell(sheet, value=cells[0])
        day.number_format = "yyyy-mm-dd"
        sheet.append([day, *cells[1:]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
