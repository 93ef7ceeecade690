"""Reasons chosen at publish: the most similar well-watched video, never a short clip, else none."""

from __future__ import annotations

import numpy as np

from recommender.feed import recommendation_feed
from recommender.ml.data import pivot
from recommender.ml.score import reasons_for
from recommender.models import ModelVersion, Recommendation
from recommender.reasons import reasons_assign
from videos.models import Video, WatchEvent


def test_reasons_for_takes_the_most_similar_well_watched_video_or_none():
    # videos 0, 1: picks; 2, 3: watched (3 only 10 % through); 4: watched, not eligible (a short clip)
    unit = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    picks, watched = np.array([0, 1]), np.array([2, 3, 4])
    done = np.array([1.0, 0.1, 1.0])
    eligible = np.array([True, True, True, True, False])
    strict = {"eligible": eligible}
    assert reasons_for(picks, watched, done, unit, min_similarity=0.5, **strict).tolist() == [2, 2]
    assert reasons_for(picks, watched, done, unit, min_similarity=0.7, **strict).tolist() == [-1, 2]
    assert reasons_for(picks, watched[:0], done[:0], unit, min_similarity=0.5).tolist() == [-1, -1]
    # the default (no threshold) names the most similar well-watched video, ineligible ones included
    assert reasons_for(picks, watched, done, unit).tolist() == [2, 4]
    # ... and any watched video when none was watched well
    assert reasons_for(picks, watched[1:2], done[1:2], unit).tolist() == [3, 3]


def test_reasons_assign_skips_short_clips_barely_watched_videos_and_dissimilar_picks(make_user, db):
    ann = make_user("ann")
    clip = Video.objects.create(title="Clip", duration_seconds=6)
    piano = Video.objects.create(title="Piano lesson", duration_seconds=600)
    sampled = Video.objects.create(title="Jazz piano, five seconds in", duration_seconds=600)
    pick_piano = Video.objects.create(title="More piano", duration_seconds=600)
    pick_cooking = Video.objects.create(title="Cooking", duration_seconds=600)
    ids = [clip.pk, piano.pk, sampled.pk, pick_piano.pk, pick_cooking.pk]
    # The matrix knows every video (the picks through another viewer).
    data = pivot([ann.pk, ann.pk, ann.pk, 999, 999], ids, [1.0, 0.9, 0.1, 1.0, 1.0])
    vectors_by_id = {
        clip.pk: [1.0, 0.0],  # identical to the piano pick, but a short clip
        piano.pk: [0.9, 0.4359],  # cosine 0.9 with the piano pick, 0.44 with cooking
        sampled.pk: [1.0, 0.0],  # identical too, but ann stopped at 10 %
        pick_piano.pk: [1.0, 0.0],
        pick_cooking.pk: [0.0, 1.0],  # nothing ann liked is similar enough (threshold 0.5)
    }
    vectors = np.array([vectors_by_id[int(v)] for v in data.video_ids], dtype=np.float32)
    version = ModelVersion.objects.create(status=ModelVersion.Status.ACTIVE, objective="expected_completion")
    Recommendation.objects.create(version=version, user=ann, video=pick_piano, score=0.5, rank=1, reason_video=clip)
    Recommendation.objects.create(version=version, user=ann, video=pick_cooking, score=0.4, rank=2, reason_video=clip)
    counts = reasons_assign(version=version, vectors=vectors, data=data)
    assert counts == {"rows": 2, "named": 1}
    first, second = recommendation_feed(user=ann, limit=5).items
    assert first.reason_video == piano and first.reason_text == "Because you watched “Piano lesson”"
    assert second.reason_video is None and second.reason == {"kind": "viewers_like_you"}
    assert second.reason_text == "Popular with viewers like you"


def test_a_retrain_never_names_a_short_clip_or_a_barely_watched_video(make_user, fast_config, settings):
    from recommender.services import retrain

    settings.RECOMMENDER_EVALUATE = False
    videos = [Video.objects.create(title=f"V{i}", duration_seconds=6 if i % 3 == 0 else 600) for i in range(12)]
    for u in range(12):
        viewer = make_user(f"viewer{u}")
        for i in range(u % 4, 12, 2):  # half of the catalogue each, short clips included, all well watched
            WatchEvent.objects.create(user=viewer, video=videos[i], completion=1.0 if i % 5 else 0.2)
    version = retrain(config=fast_config)
    rows = Recommendation.objects.filter(version=version).select_related("reason_video")
    assert rows.exists()
    named = [row.reason_video for row in rows if row.reason_video is not None]
    assert not [video for video in named if video.duration_seconds == 6]
    done = {(e.user_id, e.video_id): e.completion for e in WatchEvent.objects.all()}
    assert all(done[(row.user_id, row.reason_video_id)] >= 0.5 for row in rows if row.reason_video_id)
