"""The console's URLs (namespace ``console``)."""

from __future__ import annotations

from django.urls import path

from signage.hub.console.views.fleet import FleetView
from signage.hub.console.views.home import HomeView
from signage.hub.console.views.placeholder import PlaceholderView
from signage.hub.console.views.reports import ExposureDownload, ExposureView
from signage.hub.console.views.takedowns import ReinstateView, TakedownsView
from signage.hub.console.views.versions import RollbackView, VersionsView

app_name = "console"

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    # Publishing (views/publish.py): upload, the list of submissions, one submission with its report, diff
    # and thumbnails, and the acts on it.
    path("upload/", PlaceholderView.as_view(), name="upload"),
    path("submissions/", PlaceholderView.as_view(), name="submissions"),
    path("submissions/<int:pk>/", PlaceholderView.as_view(), name="submission"),
    # Takedowns (views/takedowns.py), versions and rollback (views/versions.py).
    path("takedowns/", TakedownsView.as_view(), name="takedowns"),
    path("takedowns/reinstate/", ReinstateView.as_view(), name="reinstate"),
    path("versions/", VersionsView.as_view(), name="versions"),
    path("versions/<slug:channel>/<int:version>/rollback/", RollbackView.as_view(), name="rollback"),
    # Fleet and reports (views/fleet.py, views/reports.py).
    path("screens/", FleetView.as_view(), name="fleet"),
    path("reports/exposure/", ExposureView.as_view(), name="exposure"),
    path("reports/exposure.csv", ExposureDownload.as_view(fmt="csv"), name="exposure_csv"),
    path("reports/exposure.xlsx", ExposureDownload.as_view(fmt="xlsx"), name="exposure_xlsx"),
]
