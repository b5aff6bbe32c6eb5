"""Synthetic capture studio: clothed people, scenes, motions and multi-view renders with ground truth. Not implemented yet."""
