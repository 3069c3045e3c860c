"""Prompt formats: role-tagged messages rendered exactly as each model family expects."""
