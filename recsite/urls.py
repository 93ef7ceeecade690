from django.contrib import admin
from django.urls import include, path

from recommender import views as recommender_views
from videos import views as video_views

urlpatterns = [
    path("", video_views.video_list, name="home"),
    path("category/<str:category_slug>/", video_views.video_list, name="category"),
    path("videos/<int:pk>/", video_views.video_detail, name="video-detail"),
    path("videos/<int:pk>/watch/", video_views.video_watch, name="video-watch"),
    path("recommended/", recommender_views.recommended, name="recommended"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
