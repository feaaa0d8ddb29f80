"""LLM task with a tiny random Llama and a tokenizer built here: the protocol, training, resume, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import needs

needs("torch", "transformers", "gguf")

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from bootstrapper.tasks import TaskError, get_task  # noqa: E402
from bootstrapper.tasks.llm import LLMConfig, LLMState, LLMTask  # noqa: E402
from bootstrapper.tasks.problems import TEST_NAMES, answer_complete, cut_after_answer, draw_problems, parse_answer  # noqa: E402
from planner.jsonio import InputError  # noqa: E402
from tests.bootstrapper.tasks.helpers import CHAT_TEMPLATE, build_tiny_model, gold_samples  # noqa: E402

BARE_TEMPLATE = ("{% for message in messages %}{{ message['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")  # no shared start without shots


@pytest.fixture(autouse=True)
def one_thread():
    """A 32-wide model runs fastest on one thread; restore the caller's setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def task(tiny: Path) -> LLMTask:
    return LLMTask(LLMConfig(model_path=str(tiny), max_new_tokens=6, eval_per_level=6, gen_batch=4,
                             micro_batch=4, lr=3e-3, device="cpu"))


def weights(state) -> list[torch.Tensor]:
    return [p.detach().clone() for p in state.model.parameters()]


def test_registry_and_config_round_trip(task: LLMTask) -> None:
    assert get_task("llm") is LLMTask
    again = LLMTask.from_json(task.config.to_json())
    assert again.config == task.config
    assert task.config.to_json()["shots"] == 2 and task.config.to_json()["instruction"] == ""
    with pytest.raises(InputError, match="unknown key"):
        LLMTask.from_json({"nope": 1})
    assert LLMConfig(model_path="some/folder").model_path == str(Path("some/folder").resolve())


@pytest.mark.parametrize("field, value", [
    ("train_levels", ("p9",)), ("eval_levels", ()), ("temperature", 0.0), ("lr", -1.0), ("max_new_tokens", 0),
    ("micro_batch", 1.5), ("shots", 3), ("device", "tpu"), ("gguf_file", "other.gguf"), ("eval_per_level", 500),
    ("test_seed", -1), ("instruction", 3), ("num_threads", 0), ("num_threads", 1.5)])
def test_bad_config_is_a_task_error_naming_the_value(field: str, value) -> None:
    with pytest.raises(TaskError, match=field):
        LLMConfig(**{field: value})


def test_generate_and_reward(task: LLMTask) -> None:
    state = task.init_state(0)
    batch = task.generate(state, 6)
    assert task.size(batch) == 6
    assert set(batch[0]) == {"question", "answer", "gold", "level", "template"}
    assert all(s["level"] == "base" and isinstance(s["answer"], str) for s in batch)
    assert not any(name in s["question"] for name, _ in TEST_NAMES for s in batch)  # training problems only
    reward = task.reward(state, batch)
    assert reward.shape == (6,) and reward.dtype == float and set(reward) <= {0.0, 1.0}
    np.testing.assert_array_equal(task.reward(state, gold_samples(3)), [1.0, 1.0, 1.0])
    assert task.take(batch, np.array([2, 0])) == [batch[2], batch[0]]
    assert task.concat([batch[:2], batch[2:]]) == batch


def test_generate_follows_the_seed(task: LLMTask) -> None:
    first, second, other = (task.generate(task.init_state(seed), 4) for seed in (3, 3, 4))
    assert first == second
    assert [s["question"] for s in first] != [s["question"] for s in other]


def test_loss_is_on_answer_tokens_only(task: LLMTask) -> None:
    state = task.init_state(0)
    samples = gold_samples(2)
    tok, manual = state.tokenizer, []
    for s in samples:
        prompt = task.prompt(tok, s["question"])
        p = tok(prompt, add_special_tokens=False).input_ids
        t = tok(s["answer"] + "<|im_end|>\n", add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = state.model(torch.tensor([p + t])).logits[0]
        summed = torch.nn.functional.cross_entropy(logits[len(p) - 1:-1], torch.tensor(t), reduction="sum")
        manual.append(summed / len(t))
        assert task.loss(state, [s]) == pytest.approx(float(manual[-1]), rel=1e-5)
    assert task.loss(state, samples) == pytest.approx(task.loss(state, samples[::-1]), rel=1e-5)


def test_shared_prefix_loss_has_the_gradient_of_the_full_sequences(task: LLMTask) -> None:
    """The batch's loss runs the prompt prefix once and its logits from the first answer position on:
    loss and gradient must equal those of every full sequence run alone (answer tokens averaged)."""
    state = task.init_state(0)
    samples = gold_samples(3)
    tok, total, tokens = state.tokenizer, 0.0, 0
    for s in samples:
        p = tok(task.prompt(tok, s["question"]), add_special_tokens=False).input_ids
        t = tok(s["answer"] + "<|im_end|>\n", add_special_tokens=False).input_ids
        logits = state.model(torch.tensor([p + t])).logits[0]
        total = total + torch.nn.functional.cross_entropy(logits[len(p) - 1:-1], torch.tensor(t), reduction="sum")
        tokens += len(t)
    (total / tokens).backward()
    expected = [p.grad.clone() for p in state.model.parameters()]
    state.model.zero_grad(set_to_none=True)
    loss, count = task._loss(state, samples)
    loss.backward()
    assert count == tokens and loss.item() == pytest.approx((total / tokens).item(), rel=1e-5)
    for want, p in zip(expected, state.model.parameters()):
        torch.testing.assert_close(p.grad, want, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("grad_accum", [1, 2])
def test_training_lowers_the_loss_on_the_kept_batch(tiny: Path, grad_accum: int) -> None:
    task = LLMTask(LLMConfig(model_path=str(tiny), micro_batch=2, grad_accum=grad_accum, lr=3e-3, device="cpu"))
    state = task.init_state(0)
    kept = gold_samples(8)
    before = task.loss(state, kept)
    for _ in range(3):
        state = task.train(state, kept)
    assert task.loss(state, kept) < 0.9 * before


def test_training_on_nothing_changes_nothing(task: LLMTask) -> None:
    state = task.init_state(0)
    before = weights(state)
    state = task.train(state, [])
    assert all(torch.equal(a, b) for a, b in zip(before, weights(state)))


def test_evaluate_reports_accuracy_and_standard_errors(task: LLMTask) -> None:
    state = task.init_state(0)
    metrics = task.evaluate(state)
    assert set(metrics) == {"reward", "acc_base", "se_base", "acc_p1", "se_p1"}
    assert metrics["reward"] == metrics["acc_base"]
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert task.evaluate(state) == metrics


def plain_answers(task: LLMTask, state: LLMState, questions: list[str]) -> list[str]:
    """What greedy answers must be: one plain generate over the full left-padded prompts (no prefix
    cache, no early stop, every new token up to max_new_tokens), each cut after its answer sentence."""
    tok = state.tokenizer
    enc = tok([task.prompt(tok, q) for q in questions], return_tensors="pt", padding=True, padding_side="left",
              add_special_tokens=False)
    with torch.no_grad():
        out = state.model.generate(**enc, max_new_tokens=task.config.max_new_tokens, do_sample=False,
                                   pad_token_id=tok.pad_token_id)
    return [cut_after_answer(a) for a in tok.batch_decode(out[:, enc.input_ids.shape[1]:], skip_special_tokens=True)]


@pytest.fixture(scope="module")
def trained(tiny: Path) -> LLMState:
    """The tiny model after a few passes over worked solutions: its answers end in "The answer is N"."""
    task = LLMTask(LLMConfig(model_path=str(tiny), micro_batch=8, lr=3e-3, device="cpu"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the one_thread fixture is per test: it does not cover module fixtures
    state, kept = task.init_state(0), gold_samples(64)
    for _ in range(10):
        state = task.train(state, kept)
    torch.set_num_threads(threads)
    return state


@pytest.mark.parametrize("shots, template", [(2, CHAT_TEMPLATE), (0, BARE_TEMPLATE)])
def test_greedy_answers_equal_a_plain_generate_and_stop_at_the_answer(tiny: Path, trained: LLMState, shots: int,
                                                                      template: str) -> None:
    """Prefix cache, length-sorted batches and the stop at a complete answer change no greedy answer
    (BARE_TEMPLATE with no shots leaves no shared prefix); batches end before max_new_tokens."""
    task = LLMTask(LLMConfig(model_path=str(tiny), max_new_tokens=40, gen_batch=8, shots=shots, device="cpu"))
    questions = [p.question for level in ("base", "p1") for p in draw_problems(1234, level, "test", 12)]
    saved, trained.tokenizer.chat_template, trained.prefix = trained.tokenizer.chat_template, template, None
    calls: list[int] = []
    try:
        hook = trained.model.register_forward_hook(lambda *args: calls.append(1))
        answers = task.complete(trained, questions, sample=False)
        hook.remove()
        assert answers == plain_answers(task, trained, questions)
    finally:
        trained.tokenizer.chat_template, trained.prefix = saved, None
    assert sum(answer_complete(a + "\n") for a in answers) >= len(answers) // 4, answers  # cut, not just truncated
    assert len(calls) < 3 * task.config.max_new_tokens  # 3 batches of 8, at most 40 forward passes each


def test_save_load_resumes_exactly(task: LLMTask, tmp_path: Path) -> None:
    state = task.init_state(5)
    state = task.train(state, gold_samples(8))
    task.save(state, tmp_path)
    loaded = task.load(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(weights(state), weights(loaded)))
    assert task.generate(state, 4) == task.generate(loaded, 4)
    kept = gold_samples(6)
    state, loaded = task.train(state, kept), task.train(loaded, kept)
    assert all(torch.equal(a, b) for a, b in zip(weights(state), weights(loaded)))
    assert task.generate(state, 3) == task.generate(loaded, 3)


def test_checkpoint_holds_the_weights_and_the_rng_not_an_optimizer(task: LLMTask, tmp_path: Path) -> None:
    """Each train() pass starts a fresh AdamW, so a checkpoint is the float32 weights, the tokenizer and the RNG."""
    state = task.train(task.init_state(0), gold_samples(4))
    task.save(state, tmp_path)
    weight_bytes = 4 * sum(p.numel() for p in state.model.parameters())
    tokenizer_bytes = sum(f.stat().st_size for f in tmp_path.glob("tokenizer*"))
    saved = sum(f.stat().st_size for f in tmp_path.iterdir())
    assert weight_bytes < saved - tokenizer_bytes < 1.05 * weight_bytes + 10_000


def test_tokenizer_without_chat_template_is_refused(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path, chat_template=None)
    assert AutoTokenizer.from_pretrained(folder).chat_template is None
    with pytest.raises(TaskError, match="no chat template"):
        LLMTask(LLMConfig(model_path=str(folder))).init_state(0)


def test_missing_or_broken_model_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="does not exist"):
        LLMTask(LLMConfig(model_path=str(tmp_path / "nope"))).init_state(0)
    with pytest.raises(TaskError, match="model.gguf is missing"):
        LLMTask(LLMConfig(model_path=str(tmp_path), gguf_file="model.gguf")).init_state(0)
    with pytest.raises(TaskError, match="cannot load"):
        LLMTask(LLMConfig(model_path=str(tmp_path))).init_state(0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(TaskError, match="is not a folder"):
        LLMTask(LLMConfig(model_path=str(tmp_path / "file"))).init_state(0)
    with pytest.raises(TaskError, match="rng.json"):
        LLMTask(LLMConfig(model_path=str(tmp_path))).load(tmp_path)


@pytest.mark.realmodel
def test_shipped_smollm2_answers_with_a_number_and_round_trips(tmp_path: Path) -> None:
    """Two-shot greedy answers of the shipped model to 4 easy problems end in a number and equal a plain
    generate's, and the GGUF-loaded state saves as safetensors and loads back identical (~70 s on a shared CPU)."""
    task = LLMTask(LLMConfig(device="cpu"))
    state = task.init_state(0)
    questions = [p.question for p in draw_problems(0, "base", "test", 4)]
    answers = task.complete(state, questions, sample=False)
    assert all(parse_answer(a) is not None for a in answers), answers
    assert answers == plain_answers(task, state, questions)
    task.save(state, tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = task.load(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(weights(state), weights(loaded)))
    assert task.prompt(loaded.tokenizer, "Q?") == task.prompt(state.tokenizer, "Q?")


def test_num_threads_sets_torch_threads(tiny: Path) -> None:
    """-o num_threads=N applies to the whole process when the model loads (the one_thread fixture restores it)."""
    LLMTask(LLMConfig(model_path=str(tiny), num_threads=2, device="cpu")).init_state(0)
    assert torch.get_num_threads() == 2


def test_the_shipped_gguf_model_without_the_gguf_package_is_one_sentence(tmp_path: Path) -> None:
    """plan tune --task llm on a machine without gguf: the install sentence, no run directory."""
    from tests.conftest import one_sentence, run_cli

    result = run_cli("tune", "--task", "llm", "--budget", "1e3", "--run-dir", str(tmp_path / "run"), missing=("gguf",))
    assert one_sentence(result) and "package gguf" in result.stderr and "spendwise[llm]" in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()
