"""Built-in checks. Importing this package registers them."""

from verifiers.checks import entity, fact

__all__ = ["entity", "fact"]
