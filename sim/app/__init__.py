"""The teaching page (Solara): ``carbon-budget app``.

``page.py`` only builds the page; ``session.py`` is its one contact with the
model (public attributes only); the model never imports this package.
"""
