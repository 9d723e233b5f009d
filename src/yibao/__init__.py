"""yibao: social medical insurance personal accounts."""

__version__ = "0.1.0"
