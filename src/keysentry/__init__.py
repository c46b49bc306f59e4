"""keysentry: find leaked OpenRouter API keys, check them, and clean up."""

__version__ = "0.1.0"
