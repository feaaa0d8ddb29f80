"""A plan as the config keys and command lines of the loops people already run (`plan export`).

One entry per round: the prompts it draws, the samples it generates per prompt, the samples it
keeps, the optimizer steps it trains, and where its prompts start in the dataset (the prompts of
the rounds before it: a system that slices its data by iteration, like OpenRLHF's
`[iter * N, (iter + 1) * N)`, takes the wrong prompts once N grows). Selection maps as:
* fixed ratio k (best-of-k): k samples per prompt and one kept per prompt, so a round of n kept
  draws n prompts (OpenRLHF `--best_of_n k --post_processor rs`, LMFlow top_reward_percentage 1/k);
* proportional: one sample per prompt, the expected count generated (rounded up) as prompts; the
  keep-with-probability-R filter is the user's, as no system has a key for it.
Systems whose batch is fixed per run (verl, NeMo-RL, TRL's GRPO) run each round as one phase: one
step on the round's batch, resumed from the last checkpoint with the step count so far.
UPSTREAM records, per format, the repository, the version whose files the keys were read from, and
the keys used; tests/planner/upstream/ holds those files' excerpts, which the tests check the keys against.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING

from planner.validate import InputError, is_whole, require

if TYPE_CHECKING:  # annotations only: `plan export --help` imports no numpy
    from planner.plan import Plan


@dataclasses.dataclass(frozen=True)
class Upstream:
    """Where a format's keys come from: repository, version (a git tag) and files read there."""

    repo: str
    version: str
    files: tuple[str, ...]
    keys: tuple[str, ...]


UPSTREAM = {
    # The rejection-sampling recipe; removed after v0.9.5 (commit 6a981c8c), the last tag that has it.
    "openrlhf": Upstream("OpenRLHF/OpenRLHF", "v0.9.5",
                         ("examples/scripts/train_rejection_sampling_llama.sh", "openrlhf/cli/batch_inference.py",
                          "openrlhf/cli/train_sft.py"),
                         ("--eval_task", "--dataset", "--best_of_n", "--iter", "--rollout_batch_size",
                          "--post_processor", "--train_batch_size", "--max_epochs")),
    "verl": Upstream("volcengine/verl", "v0.7.0", ("verl/trainer/config/_generated_ppo_trainer.yaml",),
                     ("data.train_files", "data.train_batch_size", "actor_rollout_ref.rollout.n",
                      "actor_rollout_ref.actor.ppo_mini_batch_size", "trainer.total_training_steps",
                      "trainer.resume_mode")),
    "nemo-rl": Upstream("NVIDIA-NeMo/RL", "v0.7.0", ("examples/configs/grpo_math_1B.yaml",),
                        ("grpo.num_prompts_per_step", "grpo.num_generations_per_prompt", "grpo.max_num_steps",
                         "policy.train_global_batch_size")),
    "trl": Upstream("huggingface/trl", "v1.9.0", ("trl/trainer/sft_config.py", "trl/trainer/grpo_config.py"),
                    ("per_device_train_batch_size", "max_steps", "num_train_epochs", "num_generations",
                     "generation_batch_size", "steps_per_generation")),
}
FORMATS = ("yaml", *UPSTREAM)


@dataclasses.dataclass(frozen=True)
class Round:
    """One round of a plan in the terms every system shares (counts in samples or prompts)."""

    round: int
    kept: int
    generated: float  # expected samples generated, as the plan prices them
    prompts: int
    samples_per_prompt: int
    prompt_offset: int  # prompts drawn by the rounds before this one
    steps: int  # optimizer steps of train_batch kept samples (the last one may be short)
    cost: float
    cumulative_cost: float


def rounds(plan: Plan, train_batch: int) -> list[Round]:
    """The plan's rounds as prompts x samples per prompt, with cumulative prompt offsets."""
    require(isinstance(train_batch, int) and is_whole(train_batch, 1), "--train-batch", "a whole number from 1 to 2^53",
            train_batch)  # past 2^53, n / train_batch rounds to 0 steps
    costs = plan.problem.costs
    if costs.selection == "fixed" and costs.ratio != int(costs.ratio):
        raise InputError(f"the plan keeps 1 of every {costs.ratio:g} samples; an export needs a whole ratio "
                         "(samples per prompt)")
    per_prompt = int(costs.ratio) if costs.selection == "fixed" else 1
    out, offset = [], 0
    for row in plan.to_json()["schedule"]:
        prompts = row["n"] if costs.selection == "fixed" else math.ceil(row["generated"] - 1e-9)
        out.append(Round(row["round"], row["n"], row["generated"], prompts, per_prompt, offset,
                         math.ceil(row["n"] / train_batch), row["cost"], row["cumulative_cost"]))
        offset += prompts
    return out


def export(plan: Plan, fmt: str, train_batch: int) -> dict:
    """The plan in format fmt: its totals, where the keys come from, and one entry per round."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}")
    costs = plan.problem.costs
    head = {"format": fmt, "budget": plan.problem.budget, "expected_cost": float(plan.outcome.cost),
            "predicted_reward": plan.predicted_reward, "selection": costs.selection, "ratio": costs.ratio,
            "train_batch": train_batch, "costs": costs.to_json()}
    if fmt == "yaml" and costs.selection == "fixed":  # LMFlow RAFT keeps this share of each batch's samples
        head["top_reward_percentage"] = 1 / costs.ratio
    if fmt in UPSTREAM:
        up = UPSTREAM[fmt]
        head["upstream"] = {"repo": up.repo, "version": up.version, "files": list(up.files)}
    entries = []
    for r in rounds(plan, train_batch):
        entry = dataclasses.asdict(r)
        if fmt != "yaml":
            entry.update(RENDER[fmt](r, train_batch))
        entries.append(entry)
    return {**head, "rounds": entries}


def _openrlhf(r: Round, batch: int) -> dict:
    """The three commands of OpenRLHF's rejection-sampling recipe for one round, on a prompt file
    cut to the round's own slice (--iter 0), since --iter slices at iter x rollout_batch_size."""
    part = f"prompts.round{r.round}.jsonl"
    config = {"--eval_task": "generate_vllm", "--dataset": part, "--best_of_n": r.samples_per_prompt, "--iter": 0,
              "--rollout_batch_size": r.prompts, "--post_processor": "rs" if r.samples_per_prompt > 1 else "null",
              "--train_batch_size": batch, "--max_epochs": 1}
    first, last = r.prompt_offset + 1, r.prompt_offset + r.prompts
    commands = [f"sed -n '{first},{last}p' prompts.jsonl > {part}",
                f"python -m openrlhf.cli.batch_inference --eval_task generate_vllm --pretrain $POLICY --dataset {part} "
                f"--best_of_n {r.samples_per_prompt} --iter 0 --rollout_batch_size {r.prompts} "
                "--output_path generate.jsonl",
                "deepspeed --module openrlhf.cli.batch_inference --eval_task rm --pretrain $REWARD_MODEL "
                f"--dataset generate.jsonl --post_processor {config['--post_processor']} --output_path rm.jsonl",
                f"deepspeed --module openrlhf.cli.train_sft --pretrain $POLICY --dataset rm.jsonl "
                f"--train_batch_size {batch} --max_epochs 1 --save_path $POLICY"]
    return {"config": config, "commands": commands}


def _verl(r: Round, batch: int) -> dict:
    """One PPO/GRPO step on the round's prompts, resumed from the last checkpoint (Hydra overrides)."""
    config = {"data.train_files": f"prompts.round{r.round}.parquet", "data.train_batch_size": r.prompts,
              "actor_rollout_ref.rollout.n": r.samples_per_prompt,
              "actor_rollout_ref.actor.ppo_mini_batch_size": _divisor(r.prompts, batch),
              "trainer.total_training_steps": r.round + 1, "trainer.resume_mode": "auto"}
    return {"config": config, "command": "python3 -m verl.trainer.main_ppo " + _overrides(config)}


def _nemo_rl(r: Round, batch: int) -> dict:
    """One GRPO step of the round's prompts, resumed from the checkpoint directory (Hydra overrides)."""
    config = {"grpo.num_prompts_per_step": r.prompts, "grpo.num_generations_per_prompt": r.samples_per_prompt,
              "grpo.max_num_steps": r.round + 1, "policy.train_global_batch_size": batch}
    return {"config": config, "command": "uv run examples/run_grpo_math.py " + _overrides(config)}


def _trl(r: Round, batch: int) -> dict:
    """SFTConfig keys for the round recipe (planner.integrations) and, for best-of-k, GRPOConfig keys of
    the round as a GRPO phase: one generation of prompts x k completions, trained as one step."""
    config = {"sft": {"per_device_train_batch_size": batch, "max_steps": r.steps, "num_train_epochs": 1}}
    if r.samples_per_prompt > 1:  # GRPO needs at least 2 completions per prompt
        size = r.prompts * r.samples_per_prompt
        config["grpo"] = {"num_generations": r.samples_per_prompt, "generation_batch_size": size,
                          "per_device_train_batch_size": size, "steps_per_generation": 1, "max_steps": r.round + 1}
    return {"config": config}


def _divisor(total: int, most: int) -> int:
    """The largest divisor of total not above most (verl's mini-batch must divide its batch)."""
    return max(d for d in range(1, min(total, most) + 1) if total % d == 0)


def _overrides(config: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in config.items())


RENDER = {"openrlhf": _openrlhf, "verl": _verl, "nemo-rl": _nemo_rl, "trl": _trl}


def keys_used(entry: dict) -> set[str]:
    """The upstream keys an exported round uses (for the check against UPSTREAM)."""
    config = entry.get("config", {})
    nested = [v for v in config.values() if isinstance(v, dict)]
    return set().union(*(set(d) for d in nested)) if nested else set(config)


def to_yaml(value, indent: int = 0) -> str:
    """value (dicts, lists, strings, numbers, None) as block YAML; strings are JSON-quoted, which YAML reads."""
    pad = " " * indent
    if isinstance(value, dict):
        return "".join(f"{pad}{_scalar(k)}:" + (f"\n{to_yaml(v, indent + 2)}" if _nested(v) else f" {_scalar(v)}\n")
                       for k, v in value.items())
    if isinstance(value, list):  # a dict item starts on the dash's line: "- key: value"
        return "".join(f"{pad}- " + to_yaml(v, indent + 2)[indent + 2:] if _nested(v) else f"{pad}- {_scalar(v)}\n"
                       for v in value)
    return f"{pad}{_scalar(value)}\n"


def _nested(value) -> bool:
    return isinstance(value, (dict, list)) and len(value) > 0


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, str) and value.replace("_", "").replace(".", "").isalnum() and not value[0].isdigit() \
            and value not in ("null", "true", "false", "yes", "no", "on", "off"):
        return value
    if isinstance(value, float) and "e" in repr(value) and "." not in repr(value):
        return repr(value).replace("e", ".0e")  # PyYAML reads 1e-05 as a string, 1.0e-05 as a number
    return json.dumps(value)
