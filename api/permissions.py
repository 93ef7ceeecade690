from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    """Operators only: active staff accounts."""

    message = "Only staff members may use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
