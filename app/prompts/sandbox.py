"""A Jinja environment for chat templates read from untrusted model files.

A GGUF file carries its chat template as Jinja source, and rendering it is running code from
the file. `ImmutableSandboxedEnvironment` blocks the code-execution route (private attributes
such as `__class__`/`__globals__`, mutation of lists and dicts; CVE-2024-34359 was a template
rendered outside any sandbox). On top of it this environment:

- fails at the first unsafe attribute access instead of quietly rendering nothing;
- drops the `cycler`, `joiner` and `lipsum` globals chat templates never use;
- bounds the work a template can do: a wall-clock deadline (a line tracer on the template's own
  frames, so even empty nested loops stop), a cap on the output, and size checks on the usual
  amplifiers (`*`, `**`, `%`, `~`, `+`, width and count arguments, `join`, `replace`, format
  widths) before they allocate.

These checks fail fast with a clear reason, but they cannot see work inside one filter or
method call; the hard bound is the child process `template_worker` renders in.

It offers what Hugging Face's renderer offers templates — `raise_exception`, `strftime_now`, a
`tojson` that keeps non-ASCII text, `{% break %}`/`{% continue %}`, and `{% generation %}`
blocks (rendered as their body) — so real templates render here as they do there.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import FrameType
from typing import Any

from jinja2 import Template, nodes, pass_environment
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension, loopcontrols
from jinja2.filters import make_attrgetter
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_CHARS = 8_000_000
"""Largest string (or sequence) a template may build, and the largest prompt it may render."""
MAX_COUNT = 100_000
"""Largest count argument (`batch`, `slice`): the sandbox's own limit on `range()`."""
MAX_INT_BITS = 100_000
TEMPLATE_FILENAME = "<chat template>"


class TemplateRaised(Exception):
    """The template called `raise_exception(message)`: it refuses this conversation."""


class TemplateLimit(Exception):
    """The template went over a time or size limit."""


def check_size(size: int, what: str = "a value") -> None:
    if size > MAX_CHARS:
        raise TemplateLimit(f"{what} would exceed {MAX_CHARS:,} characters")


def _check_count(value: object, what: str) -> None:
    if isinstance(value, int) and abs(value) > MAX_COUNT:
        raise TemplateLimit(f"{what} {value} is larger than {MAX_COUNT:,}")


def _check_result(value: object) -> object:
    if isinstance(value, str | bytes | list | tuple | dict):
        check_size(len(value))
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimit(f"an integer would exceed {MAX_INT_BITS:,} bits")
    return value


_WIDE_FIELD = re.compile(r"\d{6,}")
_PERCENT_STAR = re.compile(r"%[^a-zA-Z%]*\*")
_NESTED_FIELD = re.compile(r"\{[^{}]+\{")


def _check_format(fmt: object) -> None:
    """Reject format strings whose widths could allocate without bound."""
    if isinstance(fmt, str) and (
        _WIDE_FIELD.search(fmt) or _PERCENT_STAR.search(fmt) or _NESTED_FIELD.search(fmt)
    ):
        raise TemplateLimit("format strings with huge or computed widths are not allowed")


def _shallow_size(value: object) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(item) if isinstance(item, str | bytes) else 1 for item in value)
    return 1


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
                check_size(_shallow_size(seq) * max(times, 0), "a repetition")
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimit("an integer product is too large")
    elif operator == "**":
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and right > 0 and max(left.bit_length(), 1) * right > MAX_INT_BITS:
            raise TemplateLimit("a power is too large")
    elif operator == "%" and isinstance(left, str):
        _check_format(left)


def _check_str_method(
    method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Pre-check the string methods that can multiply their input's size; returns the args.

    `join`'s iterable is materialised to be measured, so the list is what gets passed on.
    """
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str | bytes):
        return args
    name = getattr(method, "__name__", "")
    if name == "join" and args and not isinstance(args[0], list | tuple):
        args = (list(args[0]), *args[1:])
    params = [*args, *kwargs.values()]
    if name in {"center", "ljust", "rjust", "zfill"} and params:
        check_size(params[0] if isinstance(params[0], int) else 0, f"{name}()")
    elif name == "expandtabs":
        size = params[0] if params and isinstance(params[0], int) else 8
        check_size(len(owner) * max(size, 1), "expandtabs()")
    elif name == "replace" and len(params) >= 2:
        _check_replace(owner, params[0], params[1])
    elif name == "join" and args and isinstance(args[0], list | tuple):
        check_size(_shallow_size(args[0]) + len(owner) * len(args[0]), "join()")
    elif name == "translate" and params and isinstance(params[0], Mapping):
        longest = max((len(v) for v in params[0].values() if isinstance(v, str)), default=1)
        check_size(len(owner) * longest, "translate()")
    return args


def _check_replace(text: object, old: object, new: object) -> None:
    if (
        isinstance(text, str | bytes)
        and isinstance(old, str | bytes)
        and isinstance(new, str | bytes)
    ):
        hits = len(text) + 1 if not old else text.count(old)  # type: ignore[arg-type]
        check_size(len(text) + hits * len(new), "replace()")


class _Watchdog:
    """A line tracer on the template's frames that stops the render at its deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def __call__(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if frame.f_code.co_filename != TEMPLATE_FILENAME:
            return None
        self._check()
        return self._local

    def _local(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any]:
        self._check()
        return self._local

    def _check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(f"rendering took longer than {self.seconds:g} s")


class _GuardedCodeGenerator(CodeGenerator):
    """Routes `~` concatenation through a size check (Jinja offers no hook for it)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.guarded_value(")
        super().visit_Concat(node, frame)
        self.write(")")


class _GenerationBlocks(Extension):
    """`{% generation %}…{% endgeneration %}` (training-time masks in some templates): the body."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> list[nodes.Node]:
        next(parser.stream)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


def _raise_exception(message: object) -> None:
    raise TemplateRaised(str(message))


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _tojson(value: Any, indent: int | str | None = None, **_: Any) -> str:
    if (
        isinstance(indent, int)
        and not 0 <= indent <= 64
        or isinstance(indent, str)
        and len(indent) > 64
    ):
        raise TemplateLimit("tojson indent is too large")
    return json.dumps(value, ensure_ascii=False, indent=indent)


@pass_environment
def _join(
    environment: Any, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    items = list(value)
    if attribute is not None:
        getter = make_attrgetter(environment, attribute)
        items = [getter(item) for item in items]
    check_size(_shallow_size(items) + len(str(d)) * len(items), "join")
    return str(d).join(str(item) for item in items)


def _check_sum(arguments: dict[str, Any]) -> None:
    """`sum` of lists or strings copies quadratically inside one C call: numbers only."""
    items = arguments["iterable"] = list(arguments["iterable"])
    if arguments["attribute"] is None and not all(
        isinstance(x, int | float) for x in [arguments["start"], *items]
    ):
        raise TemplateLimit("sum is limited to numbers")


_FILTER_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "center": lambda a: check_size(a["width"] if isinstance(a["width"], int) else 0, "center"),
    "indent": lambda a: check_size(
        len(str(a["s"]))
        + (str(a["s"]).count("\n") + 1)
        * (a["width"] if isinstance(a["width"], int) else len(str(a["width"]))),
        "indent",
    ),
    "batch": lambda a: _check_count(a["linecount"], "batch size"),
    "slice": lambda a: _check_count(a["slices"], "slice count"),
    "replace": lambda a: _check_replace(a["s"], a["old"], a["new"]),
    "format": lambda a: _check_format(a["value"]),
    "sum": lambda a: _check_sum(a),
}


_PASSED_ARGUMENTS = {"eval_ctx", "environment", "context"}


def _guard_filter(
    original: Callable[..., Any], check: Callable[[dict[str, Any]], None]
) -> Callable[..., Any]:
    """Run `check` on a filter's named arguments before the filter itself."""
    signature = inspect.signature(original)
    # Jinja's async-capable filters receive an eval context their signature does not show.
    injected = hasattr(original, "jinja_pass_arg") and (
        next(iter(signature.parameters)) not in _PASSED_ARGUMENTS
    )

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        head, rest = (args[:1], args[1:]) if injected else ((), args)
        bound = signature.bind(*rest, **kwargs)
        bound.apply_defaults()
        check(bound.arguments)
        return _check_result(original(*head, *bound.args, **bound.kwargs))

    return guarded


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The environment every untrusted chat template is compiled and rendered in."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
            extensions=[loopcontrols, _GenerationBlocks],
        )
        for name in ("cycler", "joiner", "lipsum"):
            self.globals.pop(name, None)
        self.globals["raise_exception"] = _raise_exception
        self.globals["strftime_now"] = _strftime_now
        self.filters["tojson"] = _tojson
        self.filters["join"] = _join
        for name, check in _FILTER_CHECKS.items():
            self.filters[name] = _guard_filter(self.filters[name], check)

    def compile_template(self, source: str) -> Template:
        """Compile once; syntax errors surface here as `jinja2.TemplateSyntaxError`."""
        code = self.compile(source, filename=TEMPLATE_FILENAME)
        return self.template_class.from_code(self, code, self.make_globals(None), None)

    def render(self, template: Template, context: dict[str, Any], *, time_limit: float) -> str:
        """Render within `time_limit` seconds and `MAX_CHARS` characters, or raise."""
        previous = sys.gettrace()
        sys.settrace(_Watchdog(time_limit))
        try:
            pieces: list[str] = []
            total = 0
            for piece in template.generate(context):
                total += len(piece)
                check_size(total, "the rendered prompt")
                pieces.append(piece)
            return "".join(pieces)
        finally:
            sys.settrace(previous)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed"
        )

    def guarded_value(self, value: Any) -> Any:
        return _check_result(value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is not None:
            _check_format(value.__self__)
        return wrapper

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _check_result(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        args = _check_str_method(__obj, args, kwargs)
        return _check_result(super().call(__context, __obj, *args, **kwargs))
