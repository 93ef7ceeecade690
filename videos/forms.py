from django import forms
from django.utils.translation import gettext_lazy as _


class WatchForm(forms.Form):
    percent = forms.IntegerField(
        label=_("Watched (%)"),
        min_value=0,
        max_value=100,
        help_text=_("How much of the video you watched, from 0 to 100 %."),
    )
