"""Pure machine-learning core of the video recommender.

Plain functions over numpy arrays plus a frozen configuration dataclass; nothing in
this package imports Django, DRF or Celery.

Modules:

- ``config``   -- :class:`~recommender.ml.config.TrainConfig` (hyper-parameters, JSON round trip)
- ``data``     -- :func:`~recommender.ml.data.pivot` events into a sparse user x video matrix
- ``train``    -- ``build_model`` / ``train_model`` (Keras; imports TensorFlow)
- ``score``    -- vectorised numpy scorer and top-N selection (imports Keras)
- ``artifact`` -- atomic save / verified load of a trained model (imports Keras)
- ``evaluate`` -- RMSE, MAE, hit rate, NDCG, catalog coverage (numpy only)

Importing this package, ``config``, ``data`` or ``evaluate`` does not import TensorFlow,
so the web process can use them without paying for it.
"""
