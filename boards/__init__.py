"""Board and technology descriptions (YAML) and synthesis drivers."""
