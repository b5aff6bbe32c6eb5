"""Synthetic capture studio: clothed people, scenes, motions and multi-view renders with ground truth.

    from synth.motion import make_motion, PeopleMotion          # smooth multi-person motions (5 categories)
    from synth.clothing import random_outfit, Outfit, Garment   # what people wear
    from synth.person import build_person, ClothedPerson        # watertight clothed mesh, posed by skinning
    from synth.scene import make_scene, Scene                   # people + props + rig
    from synth.capture_writer import write_capture              # capture folder with gt/ (docs/synth.md)

Modules import lazily; nothing heavy happens on `import synth`.
"""
