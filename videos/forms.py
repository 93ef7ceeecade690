from django import forms
from django.utils.translation import gettext_lazy as _


class WatchForm(forms.Form):
    """The accessible "I watched N %" control of the video page."""

    percent = forms.IntegerField(
        label=_("How much did you watch?"),
        min_value=0,
        max_value=100,
        help_text=_("From 0 to 100 % of the video. Use the arrow keys for steps of 5 %."),
        widget=forms.NumberInput(attrs={"type": "range", "min": 0, "max": 100, "step": 5, "class": "range"}),
    )
