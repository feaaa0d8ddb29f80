"""A user's STaR round on the tiny Llama of tests/bootstrapper/tasks/helpers.py: samples that are a
problem's worked solution with probability one half (else a wrong answer), kept when right, and a
held-out reward that the model's weights decide: exp(-loss / 10) on worked solutions, in (0, 1)."""
from __future__ import annotations

from pathlib import Path

from bootstrapper.tasks.problems import draw_problems

PROBLEMS = draw_problems(0, "base", "train", 200)
HELD_OUT = draw_problems(1, "base", "test", 8)


def sft_config(folder: Path, **options):
    """A quiet SFTConfig for one CPU epoch of batches of 4 with a fixed seed."""
    from trl import SFTConfig

    settings = dict(output_dir=str(folder), per_device_train_batch_size=4, num_train_epochs=1, learning_rate=1e-3,
                    report_to=[], save_strategy="no", logging_strategy="no", disable_tqdm=True, use_cpu=True,
                    max_length=64, seed=0)
    return SFTConfig(**{**settings, **options})


def generate(model, count: int, rng) -> list[dict]:
    """count samples: a problem's worked solution half the time, else a wrong answer."""
    out = []
    for i in rng.integers(len(PROBLEMS), size=count):
        right = bool(rng.random() < 0.5)
        p = PROBLEMS[int(i)]
        out.append({"prompt": p.question, "completion": p.solution if right else "The answer is 0.", "right": right})
    return out


def score(sample: dict) -> bool:
    return sample["right"]


def evaluate_with(tokenizer):
    """The held-out reward of a model: exp(-loss / 10) of the worked solutions of HELD_OUT."""
    import torch

    texts = [f"{p.question} {p.solution}" for p in HELD_OUT]

    def evaluate(model) -> float:
        enc = tokenizer(texts, return_tensors="pt", padding=True)
        with torch.no_grad():
            loss = model(**enc, labels=enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)).loss
        return float(torch.exp(-loss / 10))

    return evaluate
