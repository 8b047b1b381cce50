"""Analysis stages: techniques, claims, roles and narratives."""
