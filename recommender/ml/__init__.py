"""Pure machine-learning core of the video recommender.

Plain functions over numpy arrays plus a frozen configuration dataclass; nothing in
this package imports Django, DRF or Celery.

Modules:

- ``config``   -- :class:`~recommender.ml.config.TrainConfig` (hyper-parameters, JSON round trip)
- ``data``     -- :func:`~recommender.ml.data.pivot` events into a sparse user x video matrix
- ``architectures`` -- the networks, one module each: Keras builder + numpy forward pass, by name
- ``train``    -- ``build_model`` / ``train_model`` (Keras; imports TensorFlow)
- ``score``    -- vectorised numpy scoring and top-N selection through the architecture's forward pass
- ``artifact`` -- atomic save / verified load of a trained model (imports Keras)
- ``evaluate`` -- RMSE, MAE, hit rate, NDCG, catalog coverage (numpy only)

Importing this package, ``config``, ``data``, ``evaluate`` or ``architectures`` does not import TensorFlow,
so the web process can use them without paying for it.
"""
