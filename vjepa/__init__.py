"""vjepa: V-JEPA (Bardes et al., CVPR 2024) as a library. Importing it has no side effects."""

from vjepa.models.encoder import EncoderConfig, VideoEncoder
from vjepa.models.predictor import Predictor, PredictorConfig
from vjepa.models.probe import AttentiveClassifier, ProbeConfig
from vjepa.models.registry import ARCHS, create_encoder, create_predictor

__version__ = "0.1.0"
__all__ = ["ARCHS", "load", "AttentiveClassifier", "EncoderConfig", "Predictor", "PredictorConfig", "ProbeConfig",
           "VideoEncoder", "create_encoder", "create_predictor", "__version__"]


def __getattr__(name: str):
    """``vjepa.load`` is imported on first use: importing the package stays cheap and free of side effects."""
    if name == "load":
        from vjepa.api import load

        return load
    raise AttributeError(f"module 'vjepa' has no attribute {name!r}")
