"""Who may call the operators' endpoints: active staff holding the model permissions that the
admin asks for the same action (superusers hold them all)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsStaff(BasePermission):
    """Operators only: active staff accounts."""

    message = "Only staff members may use this endpoint."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class StaffModelPermission(IsStaff):
    """Staff holding, for the view's action, any one of the permissions listed for it.

    ``required`` maps an action (a viewset's action name, else the lower-case HTTP method) to the
    permissions that allow it; actions not listed need the ``default`` ones.
    """

    required: dict[str, tuple[str, ...]] = {}
    default: tuple[str, ...] = ()

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        action = getattr(view, "action", None) or (request.method or "").lower()
        allowed_by = self.required.get(action, self.default)
        if any(request.user.has_perm(perm) for perm in allowed_by):
            return True
        self.message = f"Your account lacks the permission for this action ({' or '.join(allowed_by)})."
        return False


class ModelVersionPermission(StaffModelPermission):
    """Reading model versions needs view (or change, as in the admin); activating needs change."""

    required = {"activate": ("recommender.change_modelversion",)}
    default = ("recommender.view_modelversion", "recommender.change_modelversion")


class RetrainPermission(StaffModelPermission):
    """Queueing a retrain needs the same permission as the admin's "Retrain now" button."""

    default = ("recommender.retrain_model",)
