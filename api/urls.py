from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api import views

router = SimpleRouter(trailing_slash=True)
router.register("videos", views.VideoViewSet, basename="api-video")
router.register("events", views.WatchEventViewSet, basename="api-event")
router.register("models", views.ModelVersionViewSet, basename="api-model")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("recommendations/", views.RecommendationsView.as_view(), name="api-recommendations"),
    path("retrain/", views.RetrainView.as_view(), name="api-retrain"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
