"""``mlp``: the reference program's network.

::

    user -> user_embedding --\\
                              concat -> flatten -> mlp_dense_0 .. mlp_dense_{k-1} -> output
    video -> video_embedding -/

Video vectors for similarity: the rows of ``video_embedding``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender.ml.architectures import base
from recommender.ml.architectures.bags import USER_HISTORY, VIDEO_FEATURES, Bag, add_bag

if TYPE_CHECKING:
    import keras

    from recommender.ml.config import TrainConfig

NAME = "mlp"


def build(n_users: int, n_videos: int, config: TrainConfig, bags: dict[str, Bag] | None = None) -> keras.Model:
    """The uncompiled network (layers are created in a fixed order: the seed decides the weights);
    ``bags``: see :mod:`~recommender.ml.architectures.bags`."""
    import keras

    user, video = base.inputs()
    u = base.embedding(n_users, config, "user_embedding")(user)
    v = base.embedding(n_videos, config, "video_embedding")(video)
    u = add_bag(u, user, video, bags, USER_HISTORY, "user_history", config)
    v = add_bag(v, video, None, bags, VIDEO_FEATURES, "video_features", config)
    x = keras.layers.Concatenate(name="concat")([u, v])
    x = keras.layers.Flatten(name="flatten")(x)
    x = base.mlp_tower(x, config)
    return base.head(x, user, video, n_users, n_videos, config, NAME)


@dataclass(frozen=True, eq=False, kw_only=True)
class MlpForward(base.Forward):
    """The tower alone: :class:`~recommender.ml.architectures.base.Forward` as it is."""

    def video_vectors(self) -> np.ndarray:
        return self.video_mlp.copy()


def forward(model: keras.Model) -> MlpForward:
    """The numpy forward pass of a model :func:`build` made."""
    return MlpForward(**base.read_forward(model, ""))


ARCHITECTURE = base.Architecture(
    name=NAME, summary="the reference network: embeddings, concatenated, dense tower", build=build, forward=forward
)
