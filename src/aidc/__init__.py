"""aidc: plan, simulate and operate the data centers that train and serve large language models."""

__version__ = "0.1.0"
