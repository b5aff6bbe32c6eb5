"""One Taichi rasterizer used by every package: RGB, depth, normals, masks, instance and triangle ids, body global normal maps, for many views at once. Not implemented yet."""
