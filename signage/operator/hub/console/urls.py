"""The console's URLs (namespace ``console``)."""

from __future__ import annotations

from django.urls import path

from signage.operator.hub.console.views import publish
from signage.operator.hub.console.views.fleet import FleetView
from signage.operator.hub.console.views.home import HomeView
from signage.operator.hub.console.views.reports import ExposureDownload, ExposureView
from signage.operator.hub.console.views.takedowns import ReinstateView, TakedownsView
from signage.operator.hub.console.views.versions import RollbackView, VersionsView

app_name = "console"

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    # Publishing (views/publish.py): upload, the list of submissions, one submission with its report, diff
    # and thumbnails, and the acts on it.
    path("upload/", publish.UploadView.as_view(), name="upload"),
    path("submissions/", publish.SubmissionListView.as_view(), name="submissions"),
    path("submissions/<int:pk>/", publish.SubmissionView.as_view(), name="submission"),
    path("submissions/<int:pk>/progress", publish.ProgressView.as_view(), name="submission-progress"),
    path(
        "submissions/<int:pk>/thumbnails/<str:name>",
        publish.ThumbnailView.as_view(),
        name="submission-thumbnail",
    ),
    path("submissions/<int:pk>/submit", publish.SubmitView.as_view(), name="submission-submit"),
    path("submissions/<int:pk>/withdraw", publish.WithdrawView.as_view(), name="submission-withdraw"),
    path("submissions/<int:pk>/approve", publish.ApproveView.as_view(), name="submission-approve"),
    path("submissions/<int:pk>/reject", publish.RejectView.as_view(), name="submission-reject"),
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
