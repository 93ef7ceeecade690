from django.contrib import admin
from django.urls import include, path

from recommender import views as recommender_views
from recsite.views import healthz
from videos import views as video_views

urlpatterns = [
    path("", video_views.home, name="home"),
    path("videos/", video_views.video_list, name="video-list"),
    path("category/<str:category_slug>/", video_views.video_list, name="category"),
    path("videos/<int:pk>/", video_views.video_detail, name="video-detail"),
    path("videos/<int:pk>/watch/", video_views.video_watch, name="video-watch"),
    path("videos/<int:pk>/progress/", video_views.video_progress, name="video-progress"),
    path("history/", video_views.history, name="history"),
    path("history/<int:event_id>/remove/", video_views.history_remove, name="history-remove"),
    path("recommended/", recommender_views.recommended, name="recommended"),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("healthz", healthz, name="healthz"),
]
