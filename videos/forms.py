from django import forms
from django.utils.translation import gettext_lazy as _

from videos.models import WatchEvent
from videos.validators import validate_client_event_id


class WatchForm(forms.Form):
    """The accessible "I watched N %" control of the video page."""

    percent = forms.IntegerField(
        label=_("How much did you watch?"),
        min_value=0,
        max_value=100,
        help_text=_("From 0 to 100 % of the video. Use the arrow keys for steps of 5 %."),
        widget=forms.NumberInput(attrs={"type": "range", "min": 0, "max": 100, "step": 5, "class": "range"}),
    )


class WatchEventAdminForm(forms.ModelForm):
    """The admin's watch-event form: the client event id follows the same rule as the API and the player."""

    class Meta:
        model = WatchEvent
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields it shows

    def clean_client_event_id(self) -> str | None:
        value = self.cleaned_data.get("client_event_id")
        validate_client_event_id(value)
        return value
