"""Reasons chosen at publish: the most similar well-watched video, never a short clip, else none."""

from __future__ import annotations

import numpy as np

from recommender.feed import recommendation_feed
from recommender.ml.data import pivot
from recommender.models import ModelVersion, Recommendation
from recommender.reasons import reason_choose, reasons_assign
from videos.models import Video


def test_reason_choose_takes_the_most_similar_or_none():
    picks = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    watched = np.array([[0.6, 0.8], [1.0, 0.0]], dtype=np.float32)
    assert reason_choose(picks, watched, min_similarity=0.5).tolist() == [1, 0]
    assert reason_choose(picks, watched, min_similarity=0.9).tolist() == [1, -1]
    assert reason_choose(picks, watched[:0]).tolist() == [-1, -1]


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
