"""Decoding as the reference did it, whatever the checkpoint says, and answers held to the grammar."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from backend.models.answer_grammar import AnswerGrammar
from backend.models.prompter import load_prompter
from backend.models.prompts import parse_answer

pytest.importorskip("transformers")
xgrammar = pytest.importorskip("xgrammar")


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (96, 96, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def penalised_checkpoint(tiny_models, tmp_path_factory):
    """The tiny prompter with a generation_config.json like Qwen2.5-VL's: sampling, a penalty, top-k/top-p."""
    folder = tmp_path_factory.mktemp("penalised") / "tiny-think2seg"
    shutil.copytree(tiny_models["prompter"], folder)
    path = folder / "generation_config.json"
    config = json.loads(path.read_text())
    config.update({"do_sample": True, "repetition_penalty": 8.0, "temperature": 0.2, "top_k": 1, "top_p": 0.001})
    path.write_text(json.dumps(config))
    return folder


def _record_logits_processors(model, seen: list):
    """Wrap the model's processor builder so a test sees the config and processors generate() really used."""
    original = model._get_logits_processor

    def recording(*args, **kwargs):
        processors = original(*args, **kwargs)
        config = kwargs.get("generation_config", args[0] if args else None)
        seen.append((config, [type(p).__name__ for p in processors]))
        return processors

    model._get_logits_processor = recording


def test_the_checkpoints_sampling_and_penalty_are_not_applied(penalised_checkpoint):
    prompter = load_prompter(penalised_checkpoint, device="cpu", max_new_tokens=24)
    assert prompter.model.generation_config.repetition_penalty == 8.0  # the checkpoint does ask for it
    seen: list = []
    _record_logits_processors(prompter.model, seen)
    texts = prompter.generate_texts([_image()], "buildings")
    ((config, processors),) = seen
    assert config.repetition_penalty == 1.0
    assert config.do_sample is False
    assert config.temperature == 1.0 and config.top_p == 1.0
    assert config.num_beams == 1 and config.no_repeat_ngram_size == 0
    assert config.max_new_tokens == 24
    assert config.eos_token_id == prompter.model.generation_config.eos_token_id  # special tokens still its own
    assert not [p for p in processors if "Repetition" in p or "Temperature" in p or "TopK" in p or "TopP" in p]

    # The same as plain greedy decoding with no penalty: the argmax at every step.
    plain = load_prompter(penalised_checkpoint, device="cpu", max_new_tokens=24)
    plain.model.generation_config.repetition_penalty = 1.0
    plain.model.generation_config.do_sample = False
    assert plain.generate_texts([_image()], "buildings") == texts


def test_a_penalty_would_have_changed_the_answer(penalised_checkpoint):
    """Guards the test above: on this checkpoint, the merged penalty does change what is written."""
    import torch

    prompter = load_prompter(penalised_checkpoint, device="cpu", max_new_tokens=24)
    inputs = prompter.prepare_inputs([_image()], "buildings")
    with torch.inference_mode():
        merged = prompter.model.generate(**inputs, max_new_tokens=24, do_sample=False)
    new = merged[:, inputs["input_ids"].shape[1] :]
    merged_text = prompter.processor.batch_decode(new, skip_special_tokens=True)[0]
    assert merged_text != prompter.generate_texts([_image()], "buildings")[0]


def test_the_grammar_accepts_the_answers_it_should_and_nothing_else(tiny_models):
    prompter = load_prompter(tiny_models["prompter"], device="cpu", constrain=True)
    compiled = prompter.constraint._compiled
    grammar = prompter.constraint.grammar

    def accepts(text: str) -> bool:
        return xgrammar.GrammarMatcher(compiled).accept_string(text)

    good = '[{"bbox_2d": [0, 12, 840, 300], "positive_points": [[5, 6], [839, 7]]}]'
    assert accepts(f"<think>two roofs</think>\n<answer>{good}</answer>")
    assert accepts(f"<think>x</think> \n<answer>```json{good}```</answer>")
    assert accepts("<think>nothing</think><answer>[]</answer>")
    # The training prompt's own example: compact boxes, spaced points, two instances.
    example = (
        '[{"bbox_2d": [310,360,567,586], "positive_points": [[434, 474], [450, 460]]}, '
        '{"bbox_2d": [10,200,100,320], "positive_points": [[50, 250], [90, 300]]}]'
    )
    assert accepts(f"<think> thinking process here </think> \n<answer>```json{example}```</answer>")
    assert accepts('<think>x</think><answer>[{"bbox_2d":[1,2,3,4],"positive_points":[[1,1],[2,2]]}]</answer>')
    # Past the frame: written whole (not cut to 84), then clamped by the parser.
    over = (
        '<think>x</think><answer>[{"bbox_2d": [700, 10, 845, 90], "positive_points": [[843, 50], [800, 50]]}]</answer>'
    )
    assert accepts(over)
    (instance,) = parse_answer(over).instances
    assert instance.box == (700, 10, 840, 90) and instance.points == ((840, 50), (800, 50))
    # Room for many instances and for the reasoning of a long answer.
    assert grammar.max_instances >= 64 and grammar.think_max_chars >= 4000
    many = "[" + ", ".join([good[1:-1]] * grammar.max_instances) + "]"
    assert accepts("<think>" + "a" * grammar.think_max_chars + f"</think><answer>{many}</answer>")
    too_many = "[" + ", ".join([good[1:-1]] * (grammar.max_instances + 1)) + "]"
    for bad in (
        f"<think>x</think><answer>{too_many}</answer>",
        '<think>x</think><answer>[{"bbox_2d": [10000, 0, 1, 1], "positive_points": [[1, 1], [2, 2]]}]</answer>',
        '<think>x</think><answer>[{"bbox_2d": [1, 2, 3], "positive_points": [[1, 1], [2, 2]]}]</answer>',
        '<think>x</think><answer>[{"bbox_2d": [1, 2, 3, 4], "positive_points": [[1, 1]]}]</answer>',
        '<think>x</think><answer>[{"bbox_2d": [-1, 2, 3, 4], "positive_points": [[1, 1], [2, 2]]}]</answer>',
        '<think>x</think><answer>[{"bbox_2d": [01, 2, 3, 4], "positive_points": [[1, 1], [2, 2]]}]</answer>',
        '<think>x</think><answer>[{"bbox_2d": [1,  2, 3, 4], "positive_points": [[1, 1], [2, 2]]}]</answer>',
        "<answer>[]</answer>",
        "<think>" + "a" * (grammar.think_max_chars + 1) + "</think><answer>[]</answer>",
    ):
        assert not accepts(bad), bad[:200]


def test_constrained_answers_from_a_random_model_always_parse(tiny_models):
    """The tiny model writes noise; held to the grammar, every answer of a batch parses and closes in time."""
    grammar = AnswerGrammar(think_max_chars=48, max_instances=2)
    prompter = load_prompter(tiny_models["prompter"], device="cpu", constrain=True, grammar=grammar, batch_size=3)
    free = load_prompter(tiny_models["prompter"], device="cpu", batch_size=3)
    images = [_image(seed) for seed in range(3)]
    texts = prompter.generate_texts(images, ["buildings", "the river", "every tree"])
    for text in texts:
        assert text.startswith("<think>") and text.endswith("</answer>"), text
        assert len(text) <= grammar.max_chars
        assert parse_answer(text).status in ("ok", "no_target"), text
    assert all(parse_answer(t).status == "unparseable" for t in free.generate_texts(images, "buildings"))


def test_forcing_an_answer_replaces_the_grammar(tiny_models):
    from backend.models.forcing import forced_answer_kwargs

    answer = '<think>x</think><answer>[{"bbox_2d": [1, 2, 30, 40], "positive_points": [[5, 6], [7, 8]]}]</answer>'
    prompter = load_prompter(tiny_models["prompter"], device="cpu", constrain=True, max_new_tokens=120)
    prompter.generate_kwargs.update(forced_answer_kwargs(prompter.tokenizer, [answer]))
    assert prompter.generate_texts([_image()], "roofs") == [answer]


def test_the_bound_is_the_longest_sentence():
    grammar = AnswerGrammar(think_max_chars=10, max_instances=2)
    obj = '{"bbox_2d": [9999, 9999, 9999, 9999], "positive_points": [[9999, 9999], [9999, 9999]]}'
    longest = "<think>" + "a" * 10 + "</think>" + "\n\n\n" + "<answer>```json[" + obj + ", " + obj + "]```</answer>"
    assert grammar.max_chars == len(longest)
