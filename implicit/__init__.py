"""The DeepMultiCap network: coarse-to-fine pixel-aligned implicit function with multi-view self-attention and body global normal maps, training and octree meshing. Not implemented yet."""
