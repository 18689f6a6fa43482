"""End-to-end fine-tuning of a V-JEPA encoder plus a classification head (``vjepa finetune``)."""
