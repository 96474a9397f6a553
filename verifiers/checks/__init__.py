"""Built-in checks, one module each, listed in :data:`verifiers.registry.BUILTIN`. Heavy
dependencies of the optional tiers (sentence-transformers, HTTP clients) are imported only
when a check is prepared."""
