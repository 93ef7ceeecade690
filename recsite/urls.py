from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from recommender import pages as recommender_pages
from recommender import views as recommender_views
from recsite.views import healthz, readyz
from videos import history_views
from videos import views as video_views


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages without an icon link (the API's JSON, files)."""
    return HttpResponsePermanentRedirect(static("img/favicon.ico"))


urlpatterns = [
    # First: the busiest route (API clients) is found without trying the page patterns; no other
    # pattern starts with "api/".
    path("api/", include("api.urls")),
    path("", recommender_pages.home, name="home"),
    path("videos/", video_views.video_list, name="video-list"),
    path("category/<str:category_slug>/", video_views.video_list, name="category"),
    path("videos/<int:pk>/", recommender_pages.video_detail, name="video-detail"),
    path("videos/<int:pk>/watch/", video_views.video_watch, name="video-watch"),
    path("videos/<int:pk>/progress/", video_views.video_progress, name="video-progress"),
    path("history/", video_views.history, name="history"),
    path("history/<int:event_id>/remove/", history_views.history_remove, name="history-remove"),
    path("history/<int:event_id>/undo/", history_views.history_undo, name="history-undo"),
    path("recommended/", recommender_views.recommended, name="recommended"),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
]
