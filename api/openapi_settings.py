"""drf-spectacular's settings for the API's OpenAPI schema and its documentation pages (plain data,
no imports: ``recsite.settings`` reads it as ``SPECTACULAR_SETTINGS``)."""

SPECTACULAR_SETTINGS = {
    "TITLE": "Video Recommender API",
    "DESCRIPTION": (
        "Record watch events and read recommendations as the authenticated user; staff can follow "
        "and trigger model training. Authenticate with `Authorization: Token <token>` (POST "
        "/api/auth/token/) or the site's session cookie."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI and ReDoc are served from this site (drf-spectacular-sidecar), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ModelVersionStatusEnum": "recommender.models.ModelVersion.Status",
        "WatchEventSourceEnum": "videos.models.WatchEvent.Source",
        "RecommendationSourceEnum": "api.serializers.RECOMMENDATION_SOURCES",
    },
}
