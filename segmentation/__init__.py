"""Per-person segmentation: foreground per view split into people with the fitted bodies' z-buffered projections, with occlusion marks. Not implemented yet."""
