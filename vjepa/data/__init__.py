"""Data: the embedded synthetic video dataset and the video transforms (tensor ops only)."""

from vjepa.data.synthetic import MOTION_HFLIP, MOTIONS, SHAPES, TEXTURES, SyntheticVideos, render_clip
from vjepa.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, EvalVideoTransform, TrainVideoTransform,
                                   random_resized_crop_params)

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "MOTIONS", "MOTION_HFLIP", "SHAPES", "TEXTURES", "EvalVideoTransform",
           "SyntheticVideos", "TrainVideoTransform", "random_resized_crop_params", "render_clip"]
