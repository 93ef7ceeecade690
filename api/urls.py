from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import SimpleRouter

from api import docs, views

router = SimpleRouter(trailing_slash=True)
router.register("videos", views.VideoViewSet, basename="api-video")
router.register("events", views.WatchEventViewSet, basename="api-event")
router.register("models", views.ModelVersionViewSet, basename="api-model")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("recommendations/", views.RecommendationsView.as_view(), name="api-recommendations"),
    path("retrain/", views.RetrainView.as_view(), name="api-retrain"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI and ReDoc under the site's Content-Security-Policy (see api/docs.py).
    path("docs/", docs.swagger_view, name="api-docs"),
    path("redoc/", docs.redoc_view, name="api-redoc"),
    path("redoc/redoc.standalone.js", docs.redoc_bundle, name="api-redoc-bundle"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
