"""Built-in rule files (data). Shipped in the wheel as keysentry.builtin_rules."""
