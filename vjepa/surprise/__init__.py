"""Surprise: how badly a pretrained model predicts the future of a clip, measured without a probe (Garrido et al.
2025), and violation-of-expectation accuracy on possible / impossible movie quadruplets."""
