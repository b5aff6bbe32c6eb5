"""Temporal SDF fusion over a 3-frame window: skinning-based warping of neighbouring meshes, averaged signed distance fields, re-meshing. Not implemented yet."""
