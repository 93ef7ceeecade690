"""``neumf``: Neural Matrix Factorisation (He et al., 2017): a GMF branch and an MLP branch with
separate embeddings, concatenated before the output unit.

::

    gmf_user_embedding * gmf_video_embedding -> gmf_flatten --------------------\\
    mlp_user_embedding ++ mlp_video_embedding -> mlp_flatten -> mlp_dense_* --- neumf_concat -> output

The GMF branch is bilinear, ``(p_u * q_v) . w_g = (p_u * w_g) @ q_v``: one matrix product per
block of users in the numpy forward pass.

Video vectors for similarity: the GMF and MLP video tables, each row-normalised to unit length,
concatenated -- so the cosine similarity of two rows is the mean of the two branches' cosine
similarities (the branches live in different spaces with different scales).
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

NAME = "neumf"


def build(n_users: int, n_videos: int, config: TrainConfig, bags: dict[str, Bag] | None = None) -> keras.Model:
    """The uncompiled network (layers are created in a fixed order: the seed decides the weights);
    ``bags``: see :mod:`~recommender.ml.architectures.bags` (each branch pools its own)."""
    import keras

    user, video = base.inputs()
    gu = base.embedding(n_users, config, "gmf_user_embedding")(user)
    gv = base.embedding(n_videos, config, "gmf_video_embedding")(video)
    gu = add_bag(gu, user, video, bags, USER_HISTORY, "gmf_user_history", config)
    gv = add_bag(gv, video, None, bags, VIDEO_FEATURES, "gmf_video_features", config)
    g = keras.layers.Multiply(name="gmf_product")([gu, gv])
    g = keras.layers.Flatten(name="gmf_flatten")(g)
    mu = base.embedding(n_users, config, "mlp_user_embedding")(user)
    mv = base.embedding(n_videos, config, "mlp_video_embedding")(video)
    mu = add_bag(mu, user, video, bags, USER_HISTORY, "mlp_user_history", config)
    mv = add_bag(mv, video, None, bags, VIDEO_FEATURES, "mlp_video_features", config)
    m = keras.layers.Concatenate(name="mlp_concat")([mu, mv])
    m = keras.layers.Flatten(name="mlp_flatten")(m)
    m = base.mlp_tower(m, config)
    x = keras.layers.Concatenate(name="neumf_concat")([g, m])
    return base.head(x, user, video, n_users, n_videos, config, NAME)


@dataclass(frozen=True, eq=False, kw_only=True)
class NeuMFForward(base.Forward):
    """The MLP tower plus the GMF branch's term of the output logit."""

    gmf_user: np.ndarray  # (n_users, dg)
    gmf_video: np.ndarray  # (n_videos, dg)
    out_gmf: np.ndarray  # (dg,) output weights on the GMF branch

    def _add_rows(self, logits: np.ndarray, users: np.ndarray) -> None:
        logits += (self.gmf_user[users] * self.out_gmf) @ self.gmf_video.T

    def _add_pairs(self, logits: np.ndarray, users: np.ndarray, videos: np.ndarray) -> None:
        logits += (self.gmf_user[users] * self.gmf_video[videos]) @ self.out_gmf

    def arrays(self) -> list[np.ndarray]:
        return [*super().arrays(), self.gmf_user, self.gmf_video, self.out_gmf]

    def video_vectors(self) -> np.ndarray:
        return np.concatenate([base.unit_rows(self.gmf_video), base.unit_rows(self.video_mlp)], axis=1)


def forward(model: keras.Model) -> NeuMFForward:
    """The numpy forward pass of a model :func:`build` made."""
    fields = base.read_forward(model, "mlp_")
    (gmf_user,) = base.layer_weights(model, "gmf_user_embedding")
    (gmf_video,) = base.layer_weights(model, "gmf_video_embedding")
    gmf_user, gmf_video = base.with_bags(model, "gmf_", gmf_user, gmf_video)
    dg = gmf_user.shape[1]
    out_kernel = fields["out_mlp"]
    # neumf_concat order is [gmf, mlp]
    fields.update(
        out_gmf=np.ascontiguousarray(out_kernel[:dg]),
        out_mlp=np.ascontiguousarray(out_kernel[dg:]),
    )
    return NeuMFForward(gmf_user=gmf_user, gmf_video=gmf_video, **fields)


ARCHITECTURE = base.Architecture(
    name=NAME,
    summary="GMF + MLP branches with separate embeddings, after He et al. 2017",
    build=build,
    forward=forward,
)
