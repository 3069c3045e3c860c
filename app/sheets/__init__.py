"""Character sheets: the pydantic model, YAML files on disk, macros."""
