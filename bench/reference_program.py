#!/usr/bin/env python
"""The reference recipe this product grew from, as published, for side-by-side timing only.

Wide CSV -> melt -> /10 -> LabelEncoder -> Keras MLP (64-d embeddings, concat, Dense 64/32 relu,
Dense 1 sigmoid, Adam, MSE) -> fit(batch 64, 100 epochs) -> one predict call per cell -> print x10.
"""

import sys

import numpy as np
import pandas as pd
from keras import Input, Model
from keras.layers import Concatenate, Dense, Embedding, Flatten
from sklearn.preprocessing import LabelEncoder


def main(path: str, epochs: int = 100) -> None:
    wide = pd.read_csv(path)
    long = wide.melt(id_vars=wide.columns[0], var_name="video", value_name="rating").dropna()
    long.columns = ["user", "video", "rating"]
    long["rating"] = long["rating"] / 10
    users, videos = LabelEncoder(), LabelEncoder()
    long["u"] = users.fit_transform(long["user"])
    long["v"] = videos.fit_transform(long["video"])
    n_users, n_videos = len(users.classes_), len(videos.classes_)

    u_in, v_in = Input(shape=(1,)), Input(shape=(1,))
    x = Concatenate()([Embedding(n_users, 64)(u_in), Embedding(n_videos, 64)(v_in)])
    x = Flatten()(x)
    x = Dense(64, activation="relu")(x)
    x = Dense(32, activation="relu")(x)
    out = Dense(1, activation="sigmoid")(x)
    model = Model([u_in, v_in], out)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit([long["u"].values, long["v"].values], long["rating"].values, batch_size=64, epochs=epochs, verbose=0)

    table = np.zeros((n_users, n_videos))
    for u in range(n_users):
        for v in range(n_videos):
            table[u, v] = model.predict([np.array([u]), np.array([v])], verbose=0)[0, 0] * 10
    print(pd.DataFrame(table, index=users.classes_, columns=videos.classes_).round(1))


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:3]))
