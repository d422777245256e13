"""keyword-score: a ferrule condition plugin written in Python.

Config: {"keywords": {"word": weight, ...}, "threshold": number}. The condition matches when the
sum of the weights of the keywords found in the ticket's subject or in the latest message's body
(case-insensitive via str.casefold(), runs of whitespace collapsed) reaches the threshold.

Built into a WebAssembly component by componentize-py against ferrule's `wit/` (world
`condition`); see build.sh.

Every module is imported here, at the top: componentize-py runs this module at build time and
snapshots the interpreter, so these imports cost nothing per call. A module first imported inside
a call would be read from the bundled standard library through wasi:filesystem, which ferrule
denies: the call would fail with `capability_denied`
(`wasi:filesystem/preopens@0.2.9#get-directories`).
"""

import json
import math
import re

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import log, types

NAME = "keyword-score"
VERSION = "0.1.0"
SUMMARY = (
    "The summed weights of the keywords found in the subject or the latest message "
    "reach the threshold."
)

CONFIG_SCHEMA = json.dumps(
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Config",
        "description": '`{"keywords": {"zwrot": 2, "refund": 2, "broken": 1}, "threshold": 3}`',
        "type": "object",
        "properties": {
            "keywords": {
                "description": "Keyword → weight; a keyword counts once when it occurs "
                "(case and runs of whitespace are ignored).",
                "type": "object",
                "propertyNames": {"minLength": 1},
                "additionalProperties": {"type": "number"},
            },
            "threshold": {
                "description": "The condition holds when the summed weights reach this.",
                "type": "number",
                "minimum": 0,
            },
        },
        "required": ["keywords", "threshold"],
        "additionalProperties": False,
    },
    separators=(",", ":"),
)


class ConfigProblem(Exception):
    """A config that does not fit: `path` is the JSON path of the wrong value."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path
        self.message = message

    def to_wit(self) -> types.Error:
        return types.Error_InvalidConfig(types.ConfigError(path=self.path, message=self.message))


def fold(text: str) -> str:
    """Case-folded, with runs of whitespace collapsed to one space (for keywords)."""
    return " ".join(text.split()).casefold()


# Texts longer than this are case-folded in pieces: CPython's casefold() of non-ASCII text takes
# a temporary buffer of 12 bytes per character, which for a long message body does not fit in
# ferrule's 16 MiB. Folding is per character, so folding pieces and joining them is the same.
FOLD_CHUNK = 1 << 15


def casefold(text: str) -> str:
    """str.casefold(), with a bounded temporary buffer."""
    if len(text) <= FOLD_CHUNK or text.isascii():
        return text.casefold()
    return "".join([text[i : i + FOLD_CHUNK].casefold() for i in range(0, len(text), FOLD_CHUNK)])


def matcher(folded_keyword: str):
    """A test of whether a folded keyword occurs in case-folded text. Texts are only case-folded
    (one copy), never split, so a long message body costs one copy of memory and C-speed
    matching. A one-word keyword is a plain substring test; a keyword of several words is a
    regex allowing any run of whitespace between them (compiling a regex costs ~0.3 M fuel in a
    fresh instance, so only those pay for it)."""
    words = folded_keyword.split(" ")
    if len(words) == 1:
        return lambda text: folded_keyword in text
    regex = re.compile(r"\s+".join(re.escape(w) for w in words))
    return lambda text: regex.search(text) is not None


def _reject_constant(name: str):
    raise ConfigProblem("", f"{name} is not valid JSON")


def _is_number(v) -> bool:
    # bool is an int subclass in Python; JSON true/false are not numbers.
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _type_name(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "number"


def parse(config: str):
    """Parse and check a config: ([(folded keyword, weight)], threshold) or ConfigProblem."""
    try:
        value = json.loads(config, parse_constant=_reject_constant)
    except ConfigProblem:
        raise
    except (ValueError, RecursionError) as e:
        raise ConfigProblem("", f"config is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ConfigProblem("", f"expected an object, found {_type_name(value)}")
    for key in value:
        if key not in ("keywords", "threshold"):
            raise ConfigProblem(key, f"unknown field `{key}`, expected `keywords` or `threshold`")
    for key in ("keywords", "threshold"):
        if key not in value:
            raise ConfigProblem(key, f"missing field `{key}`")
    keywords = value["keywords"]
    if not isinstance(keywords, dict):
        raise ConfigProblem("keywords", f"expected an object, found {_type_name(keywords)}")
    weighted = []
    for word, weight in keywords.items():
        path = f"keywords.{word}"
        if not _is_number(weight):
            raise ConfigProblem(path, f"weight must be a number, found {_type_name(weight)}")
        folded = fold(word)
        if not folded:
            raise ConfigProblem(path, "keyword must not be empty")
        weighted.append((folded, weight))
    threshold = value["threshold"]
    if not _is_number(threshold):
        raise ConfigProblem("threshold", f"threshold must be a number, found {_type_name(threshold)}")
    if threshold < 0:
        raise ConfigProblem("threshold", f"threshold must not be negative, found {threshold}")
    return weighted, threshold


def score(weighted, texts) -> float:
    """Sum of the weights of the keywords that occur in any of the case-folded texts."""
    total = 0
    for word, weight in weighted:
        found = matcher(word)
        if any(found(t) for t in texts):
            total += weight
    return total


class ConditionPlugin(exports.ConditionPlugin):
    def describe(self) -> types.Description:
        return types.Description(
            name=NAME,
            version=VERSION,
            kind=types.PluginKind.CONDITION,
            summary=SUMMARY,
            config_schema=CONFIG_SCHEMA,
            capabilities=[],
        )

    # Every unexpected exception is turned into `error.failed`: an exception escaping an export
    # makes the Python runtime print a traceback, which reads source files through
    # wasi:filesystem, which ferrule denies, so the call would end as `capability_denied` and the
    # exception's message would be lost.

    def validate(self, config: str) -> None:
        try:
            parse(config)
        except ConfigProblem as p:
            raise Err(p.to_wit())
        except MemoryError:
            raise  # the host reports `memory_limit`
        except Exception as e:
            raise Err(failed(e))

    def evaluate(self, context: types.Context, configs):
        try:
            texts = [casefold(context.ticket.subject)]
            if context.latest_message is not None:
                texts.append(casefold(context.latest_message.body))
        except MemoryError:
            raise
        except Exception as e:
            return [Err(failed(e)) for _ in configs]
        answers = []
        scores = []
        for config in configs:
            try:
                weighted, threshold = parse(config)
                s = score(weighted, texts)
            except ConfigProblem as p:
                answers.append(Err(p.to_wit()))
                scores.append("invalid")
                continue
            except MemoryError:
                raise
            except Exception as e:
                answers.append(Err(failed(e)))
                scores.append("failed")
                continue
            scores.append(f"{s:g}/{threshold:g}")
            answers.append(Ok(types.Verdict(matches=s >= threshold, changes_at=None)))
        log.log(log.Level.DEBUG, f"{NAME}: scores {', '.join(scores)}")
        return answers


def failed(e: Exception) -> types.Error:
    return types.Error_Failed(f"{type(e).__name__}: {e}")
