"""Training: a config dataclass with named recipes, and one readable loop."""
