"""`manage.py import_matrix`: the reference program's wide CSV, all-or-nothing with clear errors."""

import pytest
from conftest import SEED_MATRIX
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from videos.models import Video, WatchEvent


@pytest.mark.django_db
def test_imports_the_seed_matrix():
    call_command("import_matrix", str(SEED_MATRIX))
    assert get_user_model().objects.count() == 9
    assert Video.objects.count() == 6
    assert WatchEvent.objects.count() == 29
    cell = WatchEvent.objects.get(user__username="User2", video__title="Video 6")
    assert cell.completion == pytest.approx(0.1)
    assert cell.source == WatchEvent.Source.IMPORT
    assert WatchEvent.objects.get(user__username="User1", video__title="Video 1").completion == pytest.approx(1.0)


@pytest.mark.django_db
def test_scale_option(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("user,Clip\nann,3\n")
    call_command("import_matrix", str(path), "--scale", "5")
    assert WatchEvent.objects.get().completion == pytest.approx(0.6)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("user,A,B\nann,5,\nbob,,x\n", "Row 3 (bob), column 3 (B)"),
        ("user,A,B\nann,5,11\n", "Row 2 (ann), column 3 (B): 11 is outside 0..10"),
        ("user,A,B\nann,-1,\n", "Row 2 (ann), column 2 (A)"),
        ("user,A,B\nann,nan,\n", "Row 2 (ann), column 2 (A)"),
        ("user,A,A\nann,1,\n", "duplicate video titles"),
        ("user,A\n,3\n", "Row 2, column 1: empty user name"),
        ("user,A\nann,1\nann,2\n", "Row 3: user ann appears twice"),
        ("user,A\nann,1,2\n", "Row 2: 3 cells"),
        ("user,A\nann,\n", "no completion values"),
    ],
)
def test_bad_cells_abort_everything(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("import_matrix", str(path))
    assert WatchEvent.objects.count() == 0
    assert Video.objects.count() == 0
    assert get_user_model().objects.count() == 0


@pytest.mark.django_db
def test_missing_file():
    with pytest.raises(CommandError, match="File not found"):
        call_command("import_matrix", "/nonexistent/matrix.csv")
