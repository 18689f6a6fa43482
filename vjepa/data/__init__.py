"""Data: real videos (decoding, official clip sampling, indexes, robust datasets), the embedded synthetic dataset,
and the video transforms (tensor ops only)."""

from vjepa.data.decode import VideoInfo, decode_frames, load_image, probe_video
from vjepa.data.index import IndexEntry, MixedIndex, read_index
from vjepa.data.sampling import clip_indices, eval_segment_indices
from vjepa.data.synthetic import MOTION_HFLIP, MOTIONS, SHAPES, TEXTURES, SyntheticVideos, render_clip
from vjepa.data.transforms import (
                                   IMAGENET_MEAN,
                                   IMAGENET_STD,
                                   EvalVideoTransform,
                                   TrainVideoTransform,
                                   random_resized_crop_params,
)
from vjepa.data.video_dataset import VideoDataset, collate_items

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "MOTIONS", "MOTION_HFLIP", "SHAPES", "TEXTURES", "EvalVideoTransform",
           "IndexEntry", "MixedIndex", "SyntheticVideos", "TrainVideoTransform", "VideoDataset",
           "VideoInfo", "clip_indices", "collate_items", "decode_frames", "eval_segment_indices", "load_image",
           "probe_video", "random_resized_crop_params", "read_index", "render_clip"]
