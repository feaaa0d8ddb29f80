"""Tiny models for the task tests, the launcher tests and the benchmarks' tests: a 42k-parameter UNet
and the DDPM task on it, a 2-layer Llama with a tokenizer built here, and known-good LLM samples.
torch, diffusers, tokenizers and transformers are imported inside the functions that need them, so
this module imports on a planner-only install; the callers skip (importorskip) where they are missing."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bootstrapper.tasks.problems import LEVELS, SHOTS, draw_problems

if TYPE_CHECKING:
    from diffusers import UNet2DModel

    from bootstrapper.tasks.ddpm import DDPMTask

CHAT_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]


def tiny_unet(sample_size: int = 32) -> UNet2DModel:
    """A 42k-parameter UNet2DModel: small enough for a test to train in seconds."""
    import torch
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    return UNet2DModel(
        sample_size=sample_size, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2, norm_num_groups=8)


def tiny_ddpm_task(model_path: str, **options) -> DDPMTask:
    """The DDPM task on a tiny checkpoint with 16 held-out digits, small batches and one thread (tiny ops)."""
    from bootstrapper.tasks.ddpm import DDPMConfig, DDPMTask

    config = DDPMConfig(model_path=model_path, eval_images=16, gen_batch=8, train_batch=8, num_threads=1, **options)
    return DDPMTask(config)


def build_tiny_model(folder: Path, chat_template: str | None = CHAT_TEMPLATE) -> Path:
    """A word-level tokenizer trained on the problem texts and a 2-layer Llama (hidden 32), saved to folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = [f"{p.question} {p.solution}" for level in LEVELS for split in ("train", "test")
             for p in draw_problems(0, level, split, 200)]
    texts += [f"system user assistant {q} {a}" for q, a in SHOTS]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=SPECIAL))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   bos_token="<|im_start|>", eos_token="<|im_end|>")
    fast.chat_template = chat_template
    fast.save_pretrained(folder)
    ids = [fast.convert_tokens_to_ids(t) for t in ("<pad>", "<|im_start|>", "<|im_end|>")]
    config = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         pad_token_id=ids[0], bos_token_id=ids[1], eos_token_id=ids[2])
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def gold_samples(n: int) -> list[dict]:
    """n training problems answered with their worked solutions (all correct)."""
    return [{"question": p.question, "answer": p.solution, "gold": p.gold, "level": p.level, "template": p.template}
            for p in draw_problems(1, "base", "train", n)]
