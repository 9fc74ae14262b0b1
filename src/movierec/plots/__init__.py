"""Pictures of what a model learned, for people: PNG bytes or files, drawn with matplotlib.

One module per picture (:mod:`movierec.plots.embedding_map`, drawn by
:mod:`movierec.plots.map_drawing`); what every picture shares is :mod:`movierec.plots.canvas`
(matplotlib without global state) and :mod:`movierec.plots.labels` (readable labels).
matplotlib is an optional dependency (``pip install movierec[plot]``), imported only when a
picture is drawn, so importing these modules costs little and works without it.
"""
