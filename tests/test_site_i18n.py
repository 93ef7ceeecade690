"""English and Simplified Chinese: browser language, the footer switcher, and complete catalogs."""

import ast
import gettext
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from videos.models import Video

ROOT = Path(__file__).resolve().parents[1]
ZH_PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = ZH_PO.with_suffix(".mo")


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file as dicts of keyword -> unquoted text, plus their flags."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry, key, flags = {}, None, set()
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                entry[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                entry[key] = ast.literal_eval(value)
        entry["flags"] = flags
        entries.append(entry)
    return [e for e in entries if e.get("msgid")]


def test_browser_language_chooses_chinese(client, db):
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    assert '<html lang="zh-hans">' in page.text
    assert "找到你真的会看完的视频。" in page.text and ">首页</a>" in page.text
    english = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert '<html lang="en">' in english.text and "Find the videos you will actually finish." in english.text


def test_footer_switcher_sets_the_language(client, db):
    page = client.get(reverse("video-list"))
    assert f'action="{reverse("set_language")}"' in page.text
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in page.text
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/videos/?q=a"})
    assert response.status_code == 302 and response["Location"] == "/videos/?q=a"
    assert response.cookies["language"].value == "zh-hans"
    page = client.get(reverse("video-list"))
    assert "全部视频" in page.text and "All videos" not in page.text
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "All videos" in client.get(reverse("video-list")).text


def test_logged_in_pages_in_chinese(client, make_user):
    user = make_user("ann")
    video = Video.objects.create(title="Erhu for Beginners")
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "zh-hans"})
    assert "为你推荐" in client.get(reverse("recommended")).text
    assert "还没有训练好的模型" in client.get(reverse("recommended")).text
    detail = client.get(reverse("video-detail", args=[video.pk])).text
    assert "你还没有看过这个视频。" in detail and "记录观看" in detail
    assert "你的观看历史" in client.get(reverse("history")).text
    assert "修改密码" in client.get(reverse("password_change")).text
    response = client.post(reverse("video-watch", args=[video.pk]), {"percent": "60"}, follow=True)
    assert "已保存：你看了 60%。" in response.text
    assert "这个视频你已看了 60%。" in response.text
    bad = client.post(
        reverse("video-progress", args=[video.pk]), json.dumps({"completion": 1.5}), content_type="application/json"
    )
    assert bad.json() == {"errors": {"completion": ["完成度必须在 0 到 1 之间。"]}}


def test_signup_in_chinese_uses_djangos_own_translations(client, db):
    client.post(reverse("set_language"), {"language": "zh-hans"})
    page = client.get(reverse("signup"))
    assert "创建你的账户" in page.text and "用户名" in page.text
    bad = client.post(reverse("signup"), {"username": "x", "password1": "abc", "password2": "abc"})
    assert "密码长度太短" in bad.text


def test_chinese_catalog_is_complete_and_compiled():
    entries = po_entries(ZH_PO)
    assert len(entries) > 150
    untranslated = [e["msgid"] for e in entries if not (e.get("msgstr") or e.get("msgstr[0]"))]
    assert untranslated == []
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    with ZH_MO.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in entries:
        if "msgid_plural" in entry:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr[0]"]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"], "run: make messages"


TRANSLATE_TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(?P<q>["'])(?P<text>.*?)(?P=q)""")


@pytest.mark.parametrize("template", sorted(p.relative_to(ROOT) for p in (ROOT / "templates").rglob("*.html")))
def test_every_template_string_has_a_chinese_translation(template):
    msgids = {e["msgid"] for e in po_entries(ZH_PO)}
    source = (ROOT / template).read_text(encoding="utf-8")
    missing = [m["text"] for m in TRANSLATE_TAG.finditer(source) if m["text"].replace("%", "%%") not in msgids]
    assert missing == [], f"{template}: add to locale/ with `make messages`"
