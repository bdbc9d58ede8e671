"""Data: the training cache format, the default corpus, own-photo preparation, Unsplash Lite."""
