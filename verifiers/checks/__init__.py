"""Built-in checks. Importing this package registers them; heavy dependencies of the optional
tiers (sentence-transformers, HTTP clients) are imported only when a check is prepared."""

from verifiers.checks import entity, fact, judge, semantic

__all__ = ["entity", "fact", "judge", "semantic"]
