"""Convert a GGUF file into the Hugging Face model folder (bf16 safetensors) that vLLM loads."""

from __future__ import annotations

from pathlib import Path


def convert_gguf_to_hf(gguf_file: Path, out_dir: Path) -> None:
    """Dequantize `gguf_file` to bf16 and write config, weights and tokenizer into `out_dir`."""
    # Imported here: torch and transformers take seconds to import, and only a pull needs them.
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.bfloat16
    )
    # The weights are dequantized by now; without this, saving refuses with
    # "model is quantized with gguf and is not serializable".
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
