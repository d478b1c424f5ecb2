"""Công dân học tập bot: registration and self-assessment for Hải Phòng's Learning Citizens."""

__all__: list[str] = []
