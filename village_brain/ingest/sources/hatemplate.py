"""Home Assistant `value_template`s, the common forms, read without a template engine.

Discovery configs say where a value sits in a state payload with a Jinja template. Nearly all
of them are one of a few forms: `{{ value }}`, `{{ value_json.x }}`, `{{ value_json['x'] }}`,
`{{ value_json.x.y }}` or `{{ value_json["x"][0] }}`, optionally followed by `| float`,
`| int`, `| round(n)` or `| is_defined`, and a final `* k` or `/ k` with a number k, in
parentheses or not. Those are translated once into a JMESPath expression and a list of steps;
anything else (conditions, comparisons, other filters) raises UnsupportedTemplate with the
template in its message, so the entity can be refused once, when it is announced.

Running a real template engine on configs anyone on the broker can publish is what this
avoids: the subset has no loops, no attribute access beyond the payload, and no surprises.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable

import jmespath
import jmespath.exceptions

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>[.\[\]|(),*/])
    )""",
    re.VERBOSE | re.ASCII,
)
_BRACES = re.compile(r"^\s*\{\{-?(?P<inner>.*?)-?\}\}\s*$", re.DOTALL)
_SHOWN = 80

Step = Callable[[object], object]


class UnsupportedTemplate(ValueError):
    """A template beyond the supported forms; the message names it."""


class TemplateValueError(ValueError):
    """A value the template's filters cannot work on (`| float` of a word)."""


class ValueTemplate:
    """A translated template: where the value is, and what is done to it."""

    def __init__(self, text: str, path: jmespath.parser.ParsedResult | None, steps: list[Step]):
        self.text = text
        self.needs_json = path is not None
        self._path = path
        self._steps = steps

    def render(self, payload_text: str, document: object) -> object:
        """The value for one message; None when the payload has nothing there."""
        value = payload_text if self._path is None else self._path.search(document)
        for step in self._steps:
            if value is None:
                return None
            value = step(value)
        return value


def compile_template(text: str) -> ValueTemplate:
    """The template translated, or UnsupportedTemplate saying why it cannot be."""
    match = _BRACES.match(text)
    if not match or "{{" in match["inner"] or "{%" in text:
        raise _unsupported(text, "it is not a single {{ ... }} expression")
    tokens = _tokens(text, match["inner"])
    parser = _Parser(text, tokens)
    path, steps = parser.expression()
    if parser.position != len(tokens):
        raise _unsupported(text, f"{tokens[parser.position]!r} is not understood there")
    return ValueTemplate(text, path, steps)


def jinja_text(value: object) -> str:
    """A value as a template would print it, for comparing with payload_on and its kind."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return json.dumps(value)


def _tokens(text: str, inner: str) -> list[str]:
    tokens = []
    position = 0
    inner = inner.rstrip()
    while position < len(inner):
        match = _TOKEN.match(inner, position)
        if not match or match.end() == position:
            raise _unsupported(text, f"{inner[position:].strip()[:20]!r} is not understood")
        tokens.append(match.group(match.lastgroup))  # type: ignore[arg-type]
        position = match.end()
    return tokens


class _Parser:
    """expression := term (('*' | '/') number)*
    term := primary ('|' filter)*
    primary := 'value' | 'value_json' accessor* | '(' expression ')'
    """

    def __init__(self, text: str, tokens: list[str]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0
        self.path: jmespath.parser.ParsedResult | None = None
        self.source_seen = False

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise _unsupported(self.text, "it ends too early")
        self.position += 1
        return token

    def _expect(self, wanted: str) -> None:
        token = self._take()
        if token != wanted:
            raise _unsupported(self.text, f"{wanted!r} was expected, not {token!r}")

    def expression(self) -> tuple[jmespath.parser.ParsedResult | None, list[Step]]:
        steps = self._term()
        while self._peek() in ("*", "/"):
            operator = self._take()
            steps.append(_arithmetic(self.text, operator, self._number()))
        return self.path, steps

    def _term(self) -> list[Step]:
        steps = self._primary()
        while self._peek() == "|":
            self._take()
            steps.extend(self._filter())
        return steps

    def _primary(self) -> list[Step]:
        token = self._take()
        if token == "(":
            _, steps = self.expression()
            self._expect(")")
            return steps
        if self.source_seen:
            raise _unsupported(self.text, "it uses more than one value")
        self.source_seen = True
        if token == "value":
            return []
        if token == "value_json":
            self.path = self._accessors()
            return []
        raise _unsupported(self.text, f"{token!r} is neither value nor value_json")

    def _accessors(self) -> jmespath.parser.ParsedResult:
        parts: list[str] = []
        while self._peek() in (".", "["):
            if self._take() == ".":
                name = self._take()
                if not name.isidentifier():
                    raise _unsupported(self.text, f"{name!r} is not a key name")
                parts.append(json.dumps(name))
            else:
                parts.append(self._subscript())
                self._expect("]")
        expression = ""
        for part in parts:
            expression += part if part.startswith("[") or not expression else "." + part
        expression = expression or "@"
        try:
            return jmespath.compile(expression)
        except jmespath.exceptions.JMESPathError as exc:  # a key our quoting does not cover
            raise _unsupported(self.text, str(exc)) from None

    def _subscript(self) -> str:
        token = self._take()
        if token[0] in "'\"":
            try:
                return json.dumps(ast.literal_eval(token))
            except (ValueError, SyntaxError):
                raise _unsupported(self.text, f"{token} is not a plain key") from None
        if token.isdigit():
            return f"[{token}]"
        raise _unsupported(self.text, f"[{token}] is not a key or an index")

    def _filter(self) -> list[Step]:
        name = self._take()
        arguments = self._arguments()
        if name == "is_defined" and not arguments:
            return []
        if name in ("float", "int") and len(arguments) <= 1:
            # A default (`float(0)`) is accepted and deliberately not used: a value that is
            # not a number is refused, never stored as a made-up reading.
            return [_to_float if name == "float" else _to_int]
        if name == "round" and len(arguments) <= 1:
            if arguments and not arguments[0].isdigit():
                raise _unsupported(self.text, "round takes a whole number of digits")
            digits = int(arguments[0]) if arguments else 0
            return [lambda value: round(_to_float(value), digits)]
        raise _unsupported(self.text, f"the filter {name!r} with {len(arguments)} argument(s)")

    def _arguments(self) -> list[str]:
        if self._peek() != "(":
            return []
        self._take()
        arguments: list[str] = []
        while self._peek() != ")":
            token = self._take()
            if not (token[0].isdigit() or token[0] in "'\""):
                raise _unsupported(self.text, f"filter argument {token!r} is not a literal")
            arguments.append(token)
            if self._peek() == ",":
                self._take()
        self._take()
        return arguments

    def _number(self) -> float:
        token = self._take()
        try:
            return float(token)
        except ValueError:
            raise _unsupported(self.text, f"{token!r} is not a number to multiply by") from None


def _arithmetic(text: str, operator: str, number: float) -> Step:
    if operator == "/" and number == 0:
        raise _unsupported(text, "it divides by zero")

    def apply(value: object) -> object:
        if type(value) not in (int, float):
            raise TemplateValueError(f"{_show(value)} is not a number to {_VERBS[operator]}")
        operand = _to_float(value)
        return operand * number if operator == "*" else operand / number

    return apply


_VERBS = {"*": "multiply", "/": "divide"}


def _to_float(value: object) -> float:
    if isinstance(value, bool | int | float | str):
        try:
            return float(value)
        except ValueError:
            pass
        except OverflowError:  # an integer beyond any double: the validator refuses it
            return math.inf if value > 0 else -math.inf  # type: ignore[operator]
    raise TemplateValueError(f"{_show(value)} is not a number")


def _to_int(value: object) -> float:
    if isinstance(value, str):
        try:
            return _to_float(int(value))
        except ValueError:
            pass
    number = _to_float(value)
    try:
        return float(int(number))
    except (OverflowError, ValueError):  # an infinity or NaN has no whole part
        return number


def _show(value: object) -> str:
    return repr(jinja_text(value)[:40])


def _unsupported(text: str, why: str) -> UnsupportedTemplate:
    return UnsupportedTemplate(f"value template {text[:_SHOWN]!r} is not supported: {why}")
