"""Taichi kernels of the rasterizer: z-buffer, resolve, attribute interpolation, shading.

All kernels take numpy arrays (zero-copy on CPU; on a GPU arch Taichi copies them to and from the device) and
loop over every view at once. Shapes: V views, N vertices, F faces (all meshes of a frame concatenated),
H x W pixels. Call `render.backend.init_taichi()` before the first kernel.

Z-buffer: each covered pixel takes `atomic_min` of a 64-bit key (depth float32 bits << 32 | face index).
Positive float32 values order like their bit patterns, so the minimum key is the nearest face, with ties
broken by the lower face index: the result does not depend on thread order.

Coverage: a pixel (x, y) (centre at integer coordinates) is covered when its centre lies inside the
triangle's projection; centres exactly on an edge go to the triangle for which that edge is a top or left
edge. Edge functions are evaluated with the edge's endpoints in a canonical order, so two triangles that
share an edge get exactly opposite values and no pixel of a closed surface is missed or drawn twice.
"""

# No `from __future__ import annotations` here: Taichi reads the annotations as types.
import taichi as ti

EMPTY_KEY = (1 << 63) - 1  # z-buffer value of a pixel no face covers
_LOW32 = (1 << 32) - 1

f32_1d = ti.types.ndarray(dtype=ti.f32, ndim=1)
f32_2d = ti.types.ndarray(dtype=ti.f32, ndim=2)
f32_3d = ti.types.ndarray(dtype=ti.f32, ndim=3)
f32_4d = ti.types.ndarray(dtype=ti.f32, ndim=4)
i32_1d = ti.types.ndarray(dtype=ti.i32, ndim=1)
i32_2d = ti.types.ndarray(dtype=ti.i32, ndim=2)
i32_3d = ti.types.ndarray(dtype=ti.i32, ndim=3)
i64_3d = ti.types.ndarray(dtype=ti.i64, ndim=3)


@ti.func
def _edge(a: ti.math.vec2, b: ti.math.vec2, p: ti.math.vec2) -> ti.f32:
    """Twice the signed area of (a, b, p); > 0 when p is left of a -> b in a y-down image."""
    return (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)


@ti.func
def _canonical_edge(a: ti.math.vec2, b: ti.math.vec2, p: ti.math.vec2) -> ti.f32:
    """`_edge(a, b, p)` computed with (a, b) in lexicographic order, so that it is exactly -`_edge(b, a, p)`."""
    result = 0.0
    if a.x < b.x or (a.x == b.x and a.y < b.y):
        result = _edge(a, b, p)
    else:
        result = -_edge(b, a, p)
    return result


@ti.func
def _covers(w: ti.f32, a: ti.math.vec2, b: ti.math.vec2) -> bool:
    """Top-left rule for edge a -> b of a triangle with positive area: w > 0, or w == 0 on a top/left edge."""
    dx, dy = b.x - a.x, b.y - a.y
    return w > 0.0 or (w == 0.0 and (dy < 0.0 or (dy == 0.0 and dx > 0.0)))


@ti.func
def _vertex(pixels: f32_3d, v: ti.i32, i: ti.i32) -> ti.math.vec2:
    return ti.math.vec2(pixels[v, i, 0], pixels[v, i, 1])


@ti.kernel
def rasterize(pixels: f32_3d, depths: f32_2d, faces: i32_2d, cull_back: ti.i32, zbuffer: i64_3d):
    """Fill `zbuffer` (V, H, W) (pre-set to EMPTY_KEY) with the nearest face per pixel.

    pixels: (V, N, 2) vertex pixel positions; depths: (V, N) camera z, <= 0 marks a vertex not to draw
    (faces touching it are skipped); faces: (F, 3); cull_back: 1 to skip faces seen from behind.
    """
    num_views, num_faces = depths.shape[0], faces.shape[0]
    height, width = zbuffer.shape[1], zbuffer.shape[2]
    for v, f in ti.ndrange(num_views, num_faces):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        z0, z1, z2 = depths[v, i0], depths[v, i1], depths[v, i2]
        p0, p1, p2 = _vertex(pixels, v, i0), _vertex(pixels, v, i1), _vertex(pixels, v, i2)
        area = _edge(p0, p1, p2)
        # Counter-clockwise faces seen from outside have area < 0 in a y-down image.
        if z0 > 0.0 and z1 > 0.0 and z2 > 0.0 and area != 0.0 and not (cull_back == 1 and area > 0.0):
            if area < 0.0:  # orient positively; (p1, z1) <-> (p2, z2)
                p1, p2 = p2, p1
                z1, z2 = z2, z1
                area = -area
            x_min = ti.max(ti.cast(ti.ceil(ti.min(p0.x, p1.x, p2.x)), ti.i32), 0)
            x_max = ti.min(ti.cast(ti.floor(ti.max(p0.x, p1.x, p2.x)), ti.i32), width - 1)
            y_min = ti.max(ti.cast(ti.ceil(ti.min(p0.y, p1.y, p2.y)), ti.i32), 0)
            y_max = ti.min(ti.cast(ti.floor(ti.max(p0.y, p1.y, p2.y)), ti.i32), height - 1)
            for y in range(y_min, y_max + 1):
                for x in range(x_min, x_max + 1):
                    p = ti.math.vec2(ti.cast(x, ti.f32), ti.cast(y, ti.f32))
                    w0 = _canonical_edge(p1, p2, p)
                    w1 = _canonical_edge(p2, p0, p)
                    w2 = _canonical_edge(p0, p1, p)
                    if _covers(w0, p1, p2) and _covers(w1, p2, p0) and _covers(w2, p0, p1):
                        # perspective-correct depth: 1/z is linear in the image
                        inv_z = (w0 / z0 + w1 / z1 + w2 / z2) / area
                        depth = 1.0 / inv_z
                        key = (ti.cast(ti.bit_cast(depth, ti.i32), ti.i64) << 32) | ti.cast(f, ti.i64)
                        ti.atomic_min(zbuffer[v, y, x], key)


@ti.kernel
def resolve(
    zbuffer: i64_3d,
    pixels: f32_3d,
    depths: f32_2d,
    faces: i32_2d,
    face_instance: i32_1d,
    instance_first_face: i32_1d,
    depth: f32_3d,
    face_id: i32_3d,
    instance_id: i32_3d,
    triangle_id: i32_3d,
    barycentric: f32_4d,
):
    """Decode the z-buffer into depth (V, H, W) (+inf empty), global face id, instance id and the face index
    within its instance (all -1 empty), and perspective-correct barycentrics (V, H, W, 3) (0 empty)."""
    for v, y, x in ti.ndrange(zbuffer.shape[0], zbuffer.shape[1], zbuffer.shape[2]):
        key = zbuffer[v, y, x]
        if key == ti.i64(EMPTY_KEY):
            depth[v, y, x] = ti.math.inf
            face_id[v, y, x] = -1
            instance_id[v, y, x] = -1
            triangle_id[v, y, x] = -1
            for k in ti.static(range(3)):
                barycentric[v, y, x, k] = 0.0
        else:
            f = ti.cast(key & ti.i64(_LOW32), ti.i32)
            i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
            p0, p1, p2 = _vertex(pixels, v, i0), _vertex(pixels, v, i1), _vertex(pixels, v, i2)
            p = ti.math.vec2(ti.cast(x, ti.f32), ti.cast(y, ti.f32))
            # screen-space barycentrics divided by vertex depth, then normalised: perspective-correct
            b = ti.math.vec3(
                _edge(p1, p2, p) / depths[v, i0], _edge(p2, p0, p) / depths[v, i1], _edge(p0, p1, p) / depths[v, i2]
            )
            b_sum = b.x + b.y + b.z
            b /= b_sum
            depth[v, y, x] = b.x * depths[v, i0] + b.y * depths[v, i1] + b.z * depths[v, i2]
            instance = face_instance[f]
            face_id[v, y, x] = f
            instance_id[v, y, x] = instance
            triangle_id[v, y, x] = f - instance_first_face[instance]
            for k in ti.static(range(3)):
                barycentric[v, y, x, k] = b[k]


@ti.kernel
def interpolate(values: f32_2d, faces: i32_2d, face_id: i32_3d, barycentric: f32_4d, out: f32_4d):
    """out (V, H, W, C) = barycentric interpolation of per-vertex `values` (N, C); 0 where face_id < 0."""
    channels = values.shape[1]
    for v, y, x in ti.ndrange(face_id.shape[0], face_id.shape[1], face_id.shape[2]):
        f = face_id[v, y, x]
        if f < 0:
            for c in range(channels):
                out[v, y, x, c] = 0.0
        else:
            i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
            b0, b1, b2 = barycentric[v, y, x, 0], barycentric[v, y, x, 1], barycentric[v, y, x, 2]
            for c in range(channels):
                out[v, y, x, c] = b0 * values[i0, c] + b1 * values[i1, c] + b2 * values[i2, c]


@ti.kernel
def shade(
    surface: f32_2d,
    faces: i32_2d,
    face_id: i32_3d,
    barycentric: f32_4d,
    rotations: f32_3d,
    light_directions: f32_2d,
    ambient: ti.f32,
    background: f32_1d,
    normal: f32_4d,
    rgb: f32_4d,
):
    """Camera-space unit normals and Lambert + ambient RGB, written (V, H, W, 3) each.

    surface: (N, 6) per-vertex [albedo rgb, world normal]; rotations: (V, 3, 3) world -> camera;
    light_directions: (V, 3) unit direction towards the light, camera frame; background: (3,).
    rgb = albedo * (ambient + (1 - ambient) * max(0, n . l)), n the interpolated normal made unit.
    """
    for v, y, x in ti.ndrange(face_id.shape[0], face_id.shape[1], face_id.shape[2]):
        f = face_id[v, y, x]
        if f < 0:
            for k in ti.static(range(3)):
                normal[v, y, x, k] = 0.0
                rgb[v, y, x, k] = background[k]
        else:
            i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
            b0, b1, b2 = barycentric[v, y, x, 0], barycentric[v, y, x, 1], barycentric[v, y, x, 2]
            value = ti.Vector([0.0] * 6)
            for c in ti.static(range(6)):
                value[c] = b0 * surface[i0, c] + b1 * surface[i1, c] + b2 * surface[i2, c]
            n = ti.math.vec3(0.0, 0.0, 0.0)
            for r in ti.static(range(3)):
                n[r] = rotations[v, r, 0] * value[3] + rotations[v, r, 1] * value[4] + rotations[v, r, 2] * value[5]
            n = n / ti.max(n.norm(), 1e-12)
            light = ti.math.vec3(light_directions[v, 0], light_directions[v, 1], light_directions[v, 2])
            intensity = ambient + (1.0 - ambient) * ti.max(n.dot(light), 0.0)
            for k in ti.static(range(3)):
                normal[v, y, x, k] = n[k]
                rgb[v, y, x, k] = ti.min(value[k] * intensity, 1.0)
