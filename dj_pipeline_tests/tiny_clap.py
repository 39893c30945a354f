"""A tiny randomly initialised CLAP saved to disk, for tests (no hub access anywhere)."""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def save_tiny_clap(out: Path, enable_fusion: bool = False, seed: int = 0) -> Path:
    """A tiny random CLAP (accepts real 10 s input; spec_size must stay 256) plus its processor."""
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    vocab = {t: i for i, t in enumerate(SPECIALS + list("abcdefghijklmnopqrstuvwxyz0123456789") + ["Ġ"])}
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[])
    config = ClapConfig(
        audio_config=dict(
            depths=[1, 1], num_attention_heads=[2, 2], patch_embeds_hidden_size=16, hidden_size=32, spec_size=256,
            window_size=8, num_mel_bins=64, projection_hidden_size=32, enable_fusion=enable_fusion,
        ),
        text_config=dict(
            vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
            max_position_embeddings=64, projection_hidden_size=32,
        ),
        projection_dim=16,
    )  # fmt: skip
    import torch

    torch.manual_seed(seed)
    ClapModel(config).save_pretrained(out)
    ClapProcessor(feature_extractor=ClapFeatureExtractor(), tokenizer=tokenizer).save_pretrained(out)
    return out
